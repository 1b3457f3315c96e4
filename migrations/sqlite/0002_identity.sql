-- Identity and access: persons, legal persons, accounts, staff and roles, mandates,
-- sessions, API tokens, the personal data-use log. Personal identifiers are stored only
-- SM4-GCM encrypted (hex), with a keyed SM3 blind index for exact lookup and a masked
-- form for display.

CREATE TABLE persons (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    id_number_enc TEXT NOT NULL,
    id_number_index TEXT NOT NULL UNIQUE,
    id_number_masked TEXT NOT NULL,
    phone_enc TEXT NOT NULL,
    phone_index TEXT NOT NULL UNIQUE,
    phone_masked TEXT NOT NULL,
    address_enc TEXT,
    registered_by TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    login TEXT UNIQUE,
    person_id TEXT UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    totp_enc TEXT,
    totp_pending_enc TEXT,
    totp_last_step BIGINT,
    recovery_codes TEXT NOT NULL,
    failed_count BIGINT NOT NULL,
    locked_until BIGINT,
    disabled SMALLINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE staff (
    account_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    department_id TEXT NOT NULL,
    region_code TEXT NOT NULL,
    roles TEXT NOT NULL
);
CREATE INDEX staff_region ON staff (region_code);

CREATE TABLE roles (
    code TEXT PRIMARY KEY,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    permissions TEXT NOT NULL,
    builtin SMALLINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE legal_persons (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    uscc TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    legal_representative TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE mandates (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    principal TEXT NOT NULL,
    principal_name TEXT NOT NULL,
    grantee_person_id TEXT NOT NULL,
    grantee_name TEXT NOT NULL,
    scope TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    revoked_at BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX mandates_principal ON mandates (principal);
CREATE INDEX mandates_grantee ON mandates (grantee_person_id);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    account_id TEXT,
    data TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    permissions TEXT NOT NULL,
    department_id TEXT,
    region_code TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT,
    last_used_at BIGINT
);

CREATE TABLE data_use (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    department TEXT,
    fields TEXT NOT NULL,
    unmasked SMALLINT NOT NULL,
    purpose TEXT NOT NULL,
    case_id TEXT,
    at_ms BIGINT NOT NULL
);
CREATE INDEX data_use_person ON data_use (person_id, at_ms);

CREATE INDEX events_kind ON events (kind, seq);
