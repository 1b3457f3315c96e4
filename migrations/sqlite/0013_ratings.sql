-- 好差评 (国办发〔2019〕51号, GB/T 39734-2020; STANDARDS §7): ratings of cases, the option
-- sets they choose from (versions, managed centrally), the cases awaiting their default
-- rating, and the follow-up of every bad rating (回访, 整改, 申诉复核).

CREATE TABLE rating_option_sets (
    version BIGINT PRIMARY KEY,
    options TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE ratings (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    stage TEXT NOT NULL,
    level BIGINT NOT NULL,
    dimensions TEXT NOT NULL,
    options TEXT NOT NULL,
    option_set BIGINT NOT NULL,
    text TEXT,
    -- The rater (a subject key); never shown to staff nor published.
    rater TEXT,
    rater_type TEXT NOT NULL,
    -- The account that gave it (the applicant's own, or an agent's under a mandate).
    rated_by TEXT,
    defaulted SMALLINT NOT NULL,
    -- An appeal upheld (申诉复核): kept, but not counted.
    excluded SMALLINT NOT NULL,
    item_code TEXT NOT NULL,
    item_name TEXT NOT NULL,
    department_id TEXT NOT NULL,
    region_code TEXT NOT NULL,
    clerk TEXT,
    created_on TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE UNIQUE INDEX ratings_case_channel_stage ON ratings (case_id, channel, stage);
CREATE INDEX ratings_department ON ratings (department_id, created_at);
CREATE INDEX ratings_rater ON ratings (rater, created_at);
CREATE INDEX ratings_created ON ratings (created_on, id);

-- The board's figures, kept by the writer as ratings and follow-ups happen (never counted
-- from the ratings): per month, department, item and window clerk ('' for none).
CREATE TABLE rating_stats (
    month TEXT NOT NULL,
    department_id TEXT NOT NULL,
    item_code TEXT NOT NULL,
    clerk TEXT NOT NULL,
    item_name TEXT NOT NULL,
    level1 BIGINT NOT NULL,
    level2 BIGINT NOT NULL,
    level3 BIGINT NOT NULL,
    level4 BIGINT NOT NULL,
    level5 BIGINT NOT NULL,
    defaulted BIGINT NOT NULL,
    bad BIGINT NOT NULL,
    called_back BIGINT NOT NULL,
    closed BIGINT NOT NULL,
    PRIMARY KEY (month, department_id, item_code, clerk)
);

-- A case that ended and awaits its rating at conclusion: some days after it ended (the
-- province's setting) it is rated 基本满意 by default.
CREATE TABLE rating_due (
    case_id TEXT PRIMARY KEY,
    ended_on TEXT NOT NULL
);

CREATE INDEX rating_due_ended ON rating_due (ended_on);

CREATE TABLE rating_tasks (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    department_id TEXT NOT NULL,
    officer TEXT,
    state TEXT NOT NULL,
    task TEXT NOT NULL,
    call_back_due TEXT NOT NULL,
    history TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX rating_tasks_department ON rating_tasks (department_id, state, created_at);
CREATE INDEX rating_tasks_state ON rating_tasks (state, updated_at);

-- 一次一评 at the counter: a rating the window clerk opens for the case just served, valid
-- for a few minutes and once; only the SM3 of its token is kept.
CREATE TABLE rating_pads (
    token_hash TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    clerk TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);
