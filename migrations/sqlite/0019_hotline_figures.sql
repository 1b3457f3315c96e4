-- 12345's figures: the calls the call-centre system (CTI) reports, and the counters the
-- writer keeps as calls and tickets are recorded, read per period for the service levels
-- (GB/T 33358-2016), hotspots and the weekly report without reading tickets.

-- A call: when it rang, was answered and ended (each the first report of it), who took it,
-- the recording's reference, the ticket it made; `counted` the counters it fed (bits).
CREATE TABLE hotline_calls (
    call_id TEXT PRIMARY KEY,
    ringing_at BIGINT,
    answered_at BIGINT,
    ended_at BIGINT,
    agent TEXT,
    recording_ref TEXT,
    ticket_id TEXT,
    counted BIGINT NOT NULL
);

-- Counters per day, region, category and measure (received; calls, answered,
-- answered_in_time, abandoned; media, media_in_time, mailbox, mailbox_in_time). Calls have
-- no region or category (empty).
CREATE TABLE hotline_stats (
    day TEXT NOT NULL,
    region_code TEXT NOT NULL,
    category TEXT NOT NULL,
    metric TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (day, region_code, category, metric)
);

-- The matter's words per week (its Monday), for all tickets (scope empty) and per unit they
-- were dispatched to; the empty word counts the tickets.
CREATE TABLE hotline_terms (
    week TEXT NOT NULL,
    scope TEXT NOT NULL,
    term TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (week, scope, term)
);
