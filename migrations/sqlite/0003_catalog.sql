-- The service catalogue (SQLite; keep in step with migrations/postgres/0003_catalog.sql):
-- basic directory entries and implementation items (one row each), their versions (every
-- change is a new draft version; published versions carry their dates and the list
-- flags of 清单), and the data-element dictionary forms draw on.

CREATE TABLE catalog_entries (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    code TEXT NOT NULL UNIQUE,
    basic_code TEXT NOT NULL,
    department_id TEXT,
    region_code TEXT NOT NULL,
    level TEXT,
    name TEXT NOT NULL,
    latest_version BIGINT NOT NULL,
    open_version BIGINT,
    open_state TEXT,
    published_version BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX catalog_entries_basic ON catalog_entries (basic_code);
CREATE INDEX catalog_entries_department ON catalog_entries (department_id);
CREATE INDEX catalog_entries_open ON catalog_entries (open_state);

CREATE TABLE catalog_versions (
    entry_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    state TEXT NOT NULL,
    elements TEXT NOT NULL,
    editors TEXT NOT NULL,
    submitted_by TEXT,
    reviewed_by TEXT,
    return_reasons TEXT,
    effective_from BIGINT,
    cancel_on BIGINT,
    until_ms BIGINT,
    published_at BIGINT,
    name TEXT NOT NULL,
    item_type TEXT NOT NULL,
    case_kind TEXT NOT NULL,
    commitment SMALLINT NOT NULL,
    tolerated SMALLINT NOT NULL,
    tongban TEXT NOT NULL,
    full_online SMALLINT NOT NULL,
    special SMALLINT NOT NULL,
    intermediary SMALLINT NOT NULL,
    charged SMALLINT NOT NULL,
    audience TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (entry_id, version)
);
CREATE INDEX catalog_versions_in_force ON catalog_versions (state, effective_from, until_ms);

CREATE TABLE data_elements (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
