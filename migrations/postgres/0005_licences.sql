-- E-seals and e-licences (keep in step with migrations/sqlite/0005_licences.sql).
-- Seal private keys live sealed in node_keys (purpose 'seal'); dates are YYYY-MM-DD text;
-- a licence's full data (with the holder's identifier) is stored only sealed (data_enc),
-- found by a keyed index of the holder's code.

CREATE TABLE seals (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    department_id TEXT NOT NULL,
    owner_uscc TEXT NOT NULL,
    owner_name TEXT NOT NULL,
    purpose TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    key_id TEXT NOT NULL UNIQUE,
    public_key TEXT NOT NULL,
    image_svg TEXT NOT NULL,
    image_sm3 TEXT NOT NULL,
    maker_key_id TEXT NOT NULL,
    maker_signature TEXT NOT NULL,
    status TEXT NOT NULL,
    ended_at BIGINT,
    end_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX seals_department ON seals (department_id);

CREATE TABLE licence_types (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    department_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE licences (
    id TEXT PRIMARY KEY,
    type_code TEXT NOT NULL,
    type_name TEXT NOT NULL,
    number TEXT NOT NULL,
    issuer_department_id TEXT NOT NULL,
    issuer_uscc TEXT NOT NULL,
    holder_kind TEXT NOT NULL,
    holder_index TEXT NOT NULL,
    holder_name TEXT NOT NULL,
    holder_masked TEXT NOT NULL,
    data_enc TEXT NOT NULL,
    signature TEXT NOT NULL,
    qr_payload TEXT NOT NULL,
    seal_id TEXT NOT NULL,
    status TEXT NOT NULL,
    issued_on TEXT NOT NULL,
    valid_until TEXT,
    related_item TEXT,
    case_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX licences_holder ON licences (holder_index);
CREATE INDEX licences_issuer ON licences (issuer_department_id);

CREATE TABLE licence_serials (
    type_code TEXT NOT NULL,
    issuer_uscc TEXT NOT NULL,
    next_serial BIGINT NOT NULL,
    PRIMARY KEY (type_code, issuer_uscc)
);

CREATE TABLE licence_history (
    id TEXT PRIMARY KEY,
    licence_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT,
    text TEXT NOT NULL,
    actor TEXT NOT NULL,
    signature TEXT,
    at BIGINT NOT NULL
);
CREATE INDEX licence_history_licence ON licence_history (licence_id, at);

CREATE TABLE licence_grants (
    id TEXT PRIMARY KEY,
    licence_id TEXT NOT NULL,
    department_id TEXT NOT NULL,
    item_code TEXT,
    purpose TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    valid_until BIGINT NOT NULL,
    revoked_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX licence_grants_licence ON licence_grants (licence_id);

CREATE TABLE trusted_keys (
    key_id TEXT PRIMARY KEY,
    seal_id TEXT,
    owner_uscc TEXT NOT NULL,
    owner_name TEXT NOT NULL,
    purpose TEXT NOT NULL,
    public_key TEXT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_until BIGINT,
    revoked_at BIGINT,
    source TEXT NOT NULL,
    imported_at BIGINT NOT NULL
);

-- Permissions this node has seen: a permission added in a later version is given to the
-- built-in roles whose defaults carry it, once (roles edited since keep their edits).
CREATE TABLE permissions_seen (
    permission TEXT PRIMARY KEY
);
