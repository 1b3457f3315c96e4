-- Files (blank forms, samples; later applicants' materials), content-addressed by SM3; the
-- bytes live in the object store. Keep in step with migrations/sqlite/0004_files.sql.

CREATE TABLE files (
    sm3 TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    name TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
