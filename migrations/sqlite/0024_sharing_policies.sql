-- 免申即享 (issue 21): the data-sharing catalogue, sharing requests and grants, the
-- subjects whose data the platform holds (一人一档 / 一企一档), policies as versioned rules,
-- what each evaluation found, and disbursements.

CREATE TABLE data_resources (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL,
    owner TEXT NOT NULL,
    audience TEXT NOT NULL,
    fields TEXT NOT NULL,
    sharing TEXT NOT NULL,
    frequency TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    version BIGINT NOT NULL,
    row_count BIGINT NOT NULL,
    loaded_at BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE data_loads (
    id TEXT PRIMARY KEY,
    resource TEXT NOT NULL,
    version BIGINT NOT NULL,
    source TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    loaded_by TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX data_loads_version ON data_loads (resource, version);

CREATE TABLE data_records (
    resource TEXT NOT NULL,
    subject_key TEXT NOT NULL,
    data_enc TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (resource, subject_key)
);
CREATE INDEX data_records_subject ON data_records (subject_key);
CREATE INDEX data_records_version ON data_records (resource, version);

CREATE TABLE profiles (
    subject_key TEXT PRIMARY KEY,
    audience TEXT NOT NULL,
    birth_date TEXT,
    male SMALLINT,
    updated_at BIGINT NOT NULL
);

CREATE TABLE data_requests (
    id TEXT PRIMARY KEY,
    resource TEXT NOT NULL,
    requester TEXT NOT NULL,
    owner TEXT NOT NULL,
    fields TEXT NOT NULL,
    purpose TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    decided_by TEXT,
    decided_at BIGINT
);
CREATE INDEX data_requests_requester ON data_requests (requester, resource);
CREATE INDEX data_requests_owner ON data_requests (owner, status);

CREATE TABLE data_access (
    id TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL,
    resource TEXT NOT NULL,
    subject_key TEXT,
    subjects BIGINT NOT NULL,
    fields TEXT NOT NULL,
    purpose TEXT NOT NULL,
    actor TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX data_access_grant ON data_access (grant_id, at_ms);

CREATE TABLE policies (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    department_id TEXT NOT NULL,
    audience TEXT NOT NULL,
    name TEXT NOT NULL,
    latest_version BIGINT NOT NULL,
    published_version BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE policy_versions (
    policy_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    editors TEXT NOT NULL,
    submitted_by TEXT,
    reviewed_by TEXT,
    return_reasons TEXT,
    dry_run TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (policy_id, version)
);

CREATE TABLE eligibility (
    policy_id TEXT NOT NULL,
    subject_key TEXT NOT NULL,
    version BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    evaluated_at BIGINT NOT NULL,
    notified_at BIGINT,
    PRIMARY KEY (policy_id, subject_key)
);
CREATE INDEX eligibility_subject ON eligibility (subject_key);

CREATE TABLE disbursements (
    id TEXT PRIMARY KEY,
    policy_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    subject_key TEXT NOT NULL,
    person_id TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    account_masked TEXT NOT NULL,
    account_enc TEXT NOT NULL,
    status TEXT NOT NULL,
    consent_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX disbursements_once ON disbursements (policy_id, subject_key);

ALTER TABLE data_use ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
