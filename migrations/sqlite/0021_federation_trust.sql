-- Mutual recognition (互认, issue 20): a licence another node issued, presented here by its
-- holder, checked against that node's trust list (received in a signed `trust.publish`
-- envelope) and its live status (a signed `licence.status` query). One row per licence and
-- holder; `file_enc` the sealed licence file (personal data at rest); `status` as the
-- issuing node last answered, at `checked_ms`.
CREATE TABLE fed_licences (
    id TEXT NOT NULL,
    holder_index TEXT NOT NULL,
    node TEXT NOT NULL,
    type_code TEXT NOT NULL,
    type_name TEXT NOT NULL,
    number TEXT NOT NULL,
    issuer_uscc TEXT NOT NULL,
    issuer_name TEXT NOT NULL,
    holder_kind TEXT NOT NULL,
    holder_name TEXT NOT NULL,
    holder_masked TEXT NOT NULL,
    seal_id TEXT NOT NULL,
    status TEXT NOT NULL,
    issued_on TEXT NOT NULL,
    valid_until TEXT,
    related_item TEXT,
    file_enc TEXT NOT NULL,
    checked_ms BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (id, holder_index)
);
CREATE INDEX fed_licences_holder ON fed_licences (holder_index);

-- Key rotation announced through the agreement: a partner's `node.rotate` envelope, signed
-- with its old key, carries its new document; the old key still verifies its envelopes
-- until `previous_until_ms` (those signed before the rotation and still on their way).
ALTER TABLE fed_nodes ADD COLUMN previous_key_id TEXT;
ALTER TABLE fed_nodes ADD COLUMN previous_public_key TEXT;
ALTER TABLE fed_nodes ADD COLUMN previous_until_ms BIGINT;
