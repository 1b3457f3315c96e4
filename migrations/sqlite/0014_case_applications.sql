-- A case's sealed application (SM4, ~2 KB) in its own table: lists, the inbox and a
-- case's page read the case row without it, and SQLite no longer walks an overflow page
-- for every case row it reads (issue 16, reads).

CREATE TABLE case_applications (
    case_id TEXT PRIMARY KEY,
    application_enc TEXT NOT NULL,
    application_sm3 TEXT NOT NULL
);

INSERT INTO case_applications (case_id, application_enc, application_sm3)
    SELECT id, application_enc, application_sm3 FROM cases;

ALTER TABLE cases DROP COLUMN application_enc;
ALTER TABLE cases DROP COLUMN application_sm3;
