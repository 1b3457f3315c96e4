-- Cases (办件) (keep in step with migrations/sqlite/0006_cases.sql).
-- A case's id is its case number. The application (form, materials, the holder's
-- identifier) is stored only sealed (application_enc); dates are YYYY-MM-DD text in the
-- case region's calendar; limits are TimeLimit JSON.

CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    entry_id TEXT NOT NULL,
    item_code TEXT NOT NULL,
    item_version BIGINT NOT NULL,
    item_name TEXT NOT NULL,
    department_id TEXT NOT NULL,
    region_code TEXT NOT NULL,
    applicant TEXT NOT NULL,
    applicant_name TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    channel TEXT NOT NULL,
    assisted SMALLINT NOT NULL,
    route TEXT NOT NULL,
    state TEXT NOT NULL,
    steps TEXT NOT NULL,
    step BIGINT NOT NULL,
    handler TEXT,
    instant SMALLINT NOT NULL,
    outstanding TEXT NOT NULL,
    application_enc TEXT NOT NULL,
    application_sm3 TEXT NOT NULL,
    form_fields BIGINT NOT NULL,
    prefilled_fields BIGINT NOT NULL,
    statutory_limit TEXT,
    promised_limit TEXT,
    received_on TEXT NOT NULL,
    accepted_on TEXT,
    due_on TEXT,
    statutory_due_on TEXT,
    decision TEXT,
    decided_at BIGINT,
    licence_id TEXT,
    delivery TEXT,
    concluded_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX cases_applicant ON cases (applicant, updated_at);
CREATE INDEX cases_department_state ON cases (department_id, state);
CREATE INDEX cases_region_state ON cases (region_code, state);
CREATE INDEX cases_state_received ON cases (state, received_on);

CREATE TABLE case_serials (
    prefix TEXT PRIMARY KEY,
    next_serial BIGINT NOT NULL
);

CREATE TABLE case_timeline (
    case_id TEXT NOT NULL,
    n BIGINT NOT NULL,
    event TEXT NOT NULL,
    body TEXT NOT NULL,
    party TEXT NOT NULL,
    actor TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (case_id, n)
);

CREATE TABLE case_suspensions (
    case_id TEXT NOT NULL,
    n BIGINT NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    from_on TEXT NOT NULL,
    to_on TEXT,
    result TEXT,
    PRIMARY KEY (case_id, n)
);

CREATE TABLE case_notices (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    seal_id TEXT,
    key_id TEXT,
    signature TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX case_notices_case ON case_notices (case_id, created_at);

CREATE TABLE case_drafts (
    id TEXT PRIMARY KEY,
    applicant TEXT NOT NULL,
    item_code TEXT NOT NULL,
    item_name TEXT NOT NULL,
    application_enc TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX case_drafts_applicant ON case_drafts (applicant, updated_at);

CREATE TABLE case_tasks (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    department_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    due_on TEXT NOT NULL,
    state TEXT NOT NULL,
    outcome TEXT,
    created_at BIGINT NOT NULL,
    done_at BIGINT
);
CREATE INDEX case_tasks_open ON case_tasks (state, due_on);
CREATE INDEX case_tasks_case ON case_tasks (case_id);

CREATE TABLE credit_records (
    id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    serious SMALLINT NOT NULL,
    reason TEXT NOT NULL,
    case_id TEXT,
    created_at BIGINT NOT NULL,
    repaired_at BIGINT
);
CREATE INDEX credit_records_subject ON credit_records (subject);

CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    recipient TEXT NOT NULL,
    case_id TEXT,
    text_zh TEXT NOT NULL,
    text_en TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at BIGINT
);
CREATE INDEX notifications_recipient ON notifications (recipient, created_at);
