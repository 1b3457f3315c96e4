-- 12345 接诉即办 (国办发〔2020〕53号, GB/T 33358-2016): tickets and the dispatch catalogue.

-- A ticket: its number is its id. The caller's name and phone are sealed (SM4, bound to the
-- ticket) with a keyed index of the phone for the follow page; every step is in `history`
-- and on the ledger (`ticket:{id}`).
CREATE TABLE tickets (
    id TEXT PRIMARY KEY,
    request_id TEXT,
    channel TEXT NOT NULL,
    category TEXT NOT NULL,
    priority TEXT NOT NULL,
    state TEXT NOT NULL,
    region_code TEXT NOT NULL,
    address TEXT,
    content TEXT NOT NULL,
    caller_name TEXT NOT NULL,
    caller_phone TEXT NOT NULL,
    caller_phone_index TEXT NOT NULL,
    confidential SMALLINT NOT NULL,
    redirect TEXT,
    department_id TEXT,
    assisting TEXT NOT NULL,
    due_at BIGINT,
    dispute_until BIGINT,
    unresolved SMALLINT NOT NULL,
    reply TEXT,
    history TEXT NOT NULL,
    received_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A retry with the same request id finds the ticket it made (several NULLs are allowed on
-- both engines).
CREATE UNIQUE INDEX tickets_request ON tickets (request_id);
-- The centre's board (to dispatch, sent back, to call back), oldest first.
CREATE INDEX tickets_state ON tickets (state, created_at);
-- A unit's inbox, earliest deadline first.
CREATE INDEX tickets_unit ON tickets (department_id, state, due_at);

-- The dispatch catalogue (派单目录), as versions.
CREATE TABLE dispatch_catalogs (
    version BIGINT PRIMARY KEY,
    entries TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
