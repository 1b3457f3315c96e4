-- Security (issue 13): private files sealed at rest, readable by their owner and through
-- the cases that name them; public files are the catalogue's forms and samples, marked so.
-- Keep in step with migrations/postgres/0007_security.sql.

ALTER TABLE files ADD COLUMN public SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE files ADD COLUMN sealed SMALLINT NOT NULL DEFAULT 0;

-- Files stored before: those of the bootstrap administrator, the system and catalogue
-- staff were forms and samples (public); applicants' and window uploads stay private
-- (kept unsealed as they were, still checked against their SM3 address when read).
UPDATE files SET public = 1
WHERE created_by = 'admin'
   OR created_by LIKE 'system%'
   OR created_by IN (SELECT 'account:' || account_id FROM staff WHERE roles LIKE '%catalog%');

CREATE INDEX files_owner ON files (created_by, sm3);

-- SMS one-time codes (registration, login by SMS, password recovery): the number only as
-- its keyed index, the code only as a keyed hash bound to the row.
CREATE TABLE sms_codes (
    id TEXT PRIMARY KEY,
    phone_index TEXT NOT NULL,
    purpose TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    used_at BIGINT
);
CREATE INDEX sms_codes_phone ON sms_codes (phone_index, purpose, sent_at);
