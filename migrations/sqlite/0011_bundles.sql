-- 一件事一次办 (STANDARDS §5): bundle definitions with versions (the catalogue's four-eyes
-- workflow), and which items each bundle's versions name (a change to an item is flagged on
-- the bundles that use it).

CREATE TABLE bundles (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    region_code TEXT NOT NULL,
    lead_department_id TEXT NOT NULL,
    name TEXT NOT NULL,
    latest_version BIGINT NOT NULL,
    open_version BIGINT,
    open_state TEXT,
    published_version BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE bundle_versions (
    bundle_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    state TEXT NOT NULL,
    doc TEXT NOT NULL,
    editors TEXT NOT NULL,
    submitted_by TEXT,
    reviewed_by TEXT,
    return_reasons TEXT,
    published_at BIGINT,
    until_ms BIGINT,
    pinned TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (bundle_id, version)
);

CREATE TABLE bundle_members (
    item_code TEXT NOT NULL,
    bundle_id TEXT NOT NULL,
    PRIMARY KEY (item_code, bundle_id)
);
