-- 跨域通办 between nodes (issue 20): partner nodes' documents, agreements (授权信任), the
-- envelopes sent (delivered at least once, retried with back-off) and received (kept by
-- message id: processed once), the refusals, the items each node offers, and the cases
-- that cross nodes as each side sees them.

-- A partner node's signed document (its key verifies its envelopes).
CREATE TABLE fed_nodes (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    region TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    key_id TEXT NOT NULL,
    public_key TEXT NOT NULL,
    doc TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
);

-- One agreement per partner and id; `terms` the JSON of core::federation::Terms (grants with
-- their grantor and grantee, forwarding limit, validity); `proposed_by` a node id.
CREATE TABLE fed_agreements (
    id TEXT PRIMARY KEY,
    partner TEXT NOT NULL,
    state TEXT NOT NULL,
    proposed_by TEXT NOT NULL,
    terms TEXT NOT NULL,
    reason TEXT,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX fed_agreements_partner ON fed_agreements (partner, state);

-- Envelopes to send: signed at each attempt (the time is the attempt's), the same id every
-- time; `state` pending / delivered / refused; due again at `next_ms`.
CREATE TABLE fed_outgoing (
    id TEXT PRIMARY KEY,
    receiver TEXT NOT NULL,
    kind TEXT NOT NULL,
    correlation TEXT NOT NULL,
    body TEXT NOT NULL,
    digest TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_ms BIGINT NOT NULL,
    last_error TEXT,
    receipt TEXT,
    created_ms BIGINT NOT NULL,
    delivered_ms BIGINT
);
CREATE INDEX fed_outgoing_due ON fed_outgoing (state, next_ms);
CREATE INDEX fed_outgoing_time ON fed_outgoing (created_ms);

-- Envelopes received and acted on, by message id (a second delivery finds it here and gets
-- the same receipt); `envelope` the whole signed envelope, verifiable later.
CREATE TABLE fed_incoming (
    id TEXT PRIMARY KEY,
    sender TEXT NOT NULL,
    kind TEXT NOT NULL,
    correlation TEXT NOT NULL,
    digest TEXT NOT NULL,
    envelope TEXT NOT NULL,
    receipt TEXT NOT NULL,
    received_ms BIGINT NOT NULL
);
CREATE INDEX fed_incoming_time ON fed_incoming (received_ms);

-- Envelopes refused, with the reason (their ids never enter fed_incoming).
CREATE TABLE fed_refused (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    envelope TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX fed_refused_time ON fed_refused (at_ms);

-- Items offered for 跨域通办: this node's (`node` its own id) and its partners' as they
-- published them; `modes` a JSON list of online / proxy / joint; `detail` the guide's gist.
CREATE TABLE fed_offers (
    node TEXT NOT NULL,
    item_code TEXT NOT NULL,
    name TEXT NOT NULL,
    department TEXT NOT NULL,
    modes TEXT NOT NULL,
    detail TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (node, item_code)
);

-- A case that crosses nodes. At the receiving node (`role` origin): what the window took
-- and forwarded, and the status the competent node reports. At the competent node (`role`
-- competent): the local case made from the forwarded application. `remote_case` the other
-- side's case number once known.
CREATE TABLE fed_cases (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    partner TEXT NOT NULL,
    item_code TEXT NOT NULL,
    item_name TEXT NOT NULL,
    mode TEXT NOT NULL,
    applicant_name TEXT NOT NULL,
    applicant_key TEXT,
    local_case TEXT,
    remote_case TEXT,
    state TEXT NOT NULL,
    status_seq BIGINT NOT NULL,
    detail TEXT NOT NULL,
    forward_by TEXT,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX fed_cases_local ON fed_cases (local_case);
CREATE INDEX fed_cases_time ON fed_cases (role, created_ms);
CREATE INDEX fed_cases_applicant ON fed_cases (applicant_key, created_ms);
