-- yiwang foundation schema (PostgreSQL). Portable types: TEXT ids, BIGINT epoch-ms UTC times,
-- SMALLINT booleans, TEXT JSON. Keep in step with migrations/sqlite/0001_foundation.sql.

CREATE TABLE ledger_head (
    id SMALLINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    checkpoint_to BIGINT NOT NULL,
    checkpoint_hash TEXT NOT NULL,
    touched_at BIGINT NOT NULL
);
INSERT INTO ledger_head (id, seq, checkpoint_to, checkpoint_hash, touched_at)
VALUES (1, 0, 0, '0000000000000000000000000000000000000000000000000000000000000000', 0);

CREATE TABLE events (
    seq BIGINT PRIMARY KEY,
    stream_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    actor TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    UNIQUE (stream_id, version)
);

CREATE TABLE streams (
    stream_id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    hash TEXT NOT NULL
);

CREATE TABLE checkpoints (
    to_seq BIGINT PRIMARY KEY,
    from_seq BIGINT NOT NULL,
    root TEXT NOT NULL,
    prev TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL
);

CREATE TABLE node_keys (
    id TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    public_key TEXT NOT NULL,
    sealed_secret TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    active SMALLINT NOT NULL
);

CREATE TABLE idempotency (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE subscriptions (
    name TEXT PRIMARY KEY,
    cursor BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE regions (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_en TEXT,
    level SMALLINT NOT NULL,
    parent_code TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX regions_parent ON regions (parent_code);

CREATE TABLE departments (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    uscc TEXT NOT NULL UNIQUE,
    region_code TEXT NOT NULL,
    nature TEXT NOT NULL,
    parent_id TEXT,
    phone TEXT,
    address TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX departments_region ON departments (region_code);

CREATE TABLE halls (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    region_code TEXT NOT NULL,
    address TEXT NOT NULL,
    hours TEXT NOT NULL,
    phone TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE windows (
    id TEXT PRIMARY KEY,
    hall_id TEXT NOT NULL,
    number TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    department_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (hall_id, number)
);

-- National schedule under region_code '000000'; local additions under their region.
CREATE TABLE calendar_days (
    region_code TEXT NOT NULL,
    day TEXT NOT NULL,
    off_day SMALLINT NOT NULL,
    name TEXT NOT NULL,
    -- The published year whose notice declared the day (0 for local days).
    source_year BIGINT NOT NULL,
    PRIMARY KEY (region_code, day)
);

CREATE TABLE calendar_years (
    year BIGINT PRIMARY KEY,
    papers TEXT NOT NULL,
    published_at BIGINT NOT NULL
);

CREATE TABLE calendar_meta (
    id SMALLINT PRIMARY KEY,
    rev BIGINT NOT NULL
);
INSERT INTO calendar_meta (id, rev) VALUES (1, 0);

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    category TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    actor TEXT NOT NULL,
    detail TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX audit_log_category ON audit_log (category, at_ms);
