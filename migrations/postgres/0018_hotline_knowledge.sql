-- 12345, second part: merged duplicates, extensions, 督办, assisting units' inboxes, the
-- knowledge base and its gaps.

-- The matter's words (space-separated, segmented before the writer) for duplicates and
-- hotspots; the ticket merged into (并单); an extension asked for and not yet decided; the
-- 督办 level (0 none, 1 the unit told, 2 escalated to its superior); the article a direct
-- answer cited.
ALTER TABLE tickets ADD COLUMN terms TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN merged_into TEXT;
ALTER TABLE tickets ADD COLUMN extension_days BIGINT;
ALTER TABLE tickets ADD COLUMN extension_reason TEXT;
ALTER TABLE tickets ADD COLUMN supervised_level BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN article_id TEXT;

-- Open tickets of a region, newest first (duplicate candidates).
CREATE INDEX tickets_region_open ON tickets (region_code, state, created_at);
-- The tickets merged into one.
CREATE INDEX tickets_merged ON tickets (merged_into);
-- Late tickets by 督办 level (the scheduler's pass).
CREATE INDEX tickets_late ON tickets (state, supervised_level, due_at);

-- Which units see a ticket: its main unit, assisting units, and the superior a late one was
-- escalated to; `open` while it is being handled, so an inbox reads open rows only.
CREATE TABLE ticket_units (
    ticket_id TEXT NOT NULL,
    department_id TEXT NOT NULL,
    role TEXT NOT NULL,
    open SMALLINT NOT NULL,
    due_at BIGINT,
    PRIMARY KEY (ticket_id, department_id)
);
CREATE INDEX ticket_units_inbox ON ticket_units (department_id, open, due_at);
INSERT INTO ticket_units (ticket_id, department_id, role, open, due_at)
    SELECT id, department_id, 'main',
           CASE WHEN state IN ('dispatched', 'disputed', 'replied') THEN 1 ELSE 0 END, due_at
    FROM tickets WHERE department_id IS NOT NULL;

-- The knowledge base: every save of an article is a version, reviewed before it is
-- published (one published version per article at a time).
CREATE TABLE kb_versions (
    article_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    keywords TEXT NOT NULL,
    department_id TEXT NOT NULL,
    region_code TEXT NOT NULL,
    valid_from TEXT,
    valid_until TEXT,
    answers_tickets TEXT NOT NULL,
    state TEXT NOT NULL,
    author TEXT NOT NULL,
    reviewer TEXT,
    review_note TEXT,
    created_at BIGINT NOT NULL,
    decided_at BIGINT,
    PRIMARY KEY (article_id, version)
);
CREATE INDEX kb_versions_state ON kb_versions (state, created_at);
CREATE INDEX kb_versions_department ON kb_versions (department_id, created_at);

-- Consultations the base could not answer (dispatched to a unit), until an article that
-- answers them is published.
CREATE TABLE kb_gaps (
    ticket_id TEXT PRIMARY KEY,
    department_id TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    opened_at BIGINT NOT NULL,
    closed_at BIGINT,
    article_id TEXT
);
CREATE INDEX kb_gaps_open ON kb_gaps (department_id, closed_at, due_at);
