-- 一件事 applications (STANDARDS §5): one bundle case with its own number, and its members:
-- a member without a predecessor becomes a sub-case in its department at once; one that
-- waits for a predecessor's result keeps its part of the application sealed until then.

CREATE TABLE bundle_cases (
    id TEXT PRIMARY KEY,
    bundle_id TEXT NOT NULL,
    bundle_code TEXT NOT NULL,
    bundle_version BIGINT NOT NULL,
    name TEXT NOT NULL,
    lead_department_id TEXT NOT NULL,
    region_code TEXT NOT NULL,
    applicant TEXT NOT NULL,
    applicant_name TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    channel TEXT NOT NULL,
    state TEXT NOT NULL,
    promised_days BIGINT NOT NULL,
    received_on TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX bundle_cases_applicant ON bundle_cases (applicant, created_at);
CREATE INDEX bundle_cases_lead ON bundle_cases (lead_department_id, state, created_at);

CREATE TABLE bundle_case_members (
    bundle_case_id TEXT NOT NULL,
    member_key TEXT NOT NULL,
    item_code TEXT NOT NULL,
    item_name TEXT NOT NULL,
    department_id TEXT NOT NULL,
    state TEXT NOT NULL,
    case_id TEXT,
    after_members TEXT NOT NULL,
    fed TEXT NOT NULL,
    application_enc TEXT,
    PRIMARY KEY (bundle_case_id, member_key)
);

CREATE INDEX bundle_case_members_case ON bundle_case_members (case_id);
