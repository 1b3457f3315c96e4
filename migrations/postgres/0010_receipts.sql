-- Applications received per item and day, kept by the writer as each submission commits
-- (one multi-row upsert per batch), so the portal's 热门服务 sums at most 90 days × items
-- rows instead of counting the cases of 90 days (issue 16: hot paths never scan a growing
-- table). Filled here from the cases already stored.
-- Keep in step with migrations/sqlite/0010_receipts.sql.

CREATE TABLE item_receipts (
    day TEXT NOT NULL,
    item_code TEXT NOT NULL,
    item_name TEXT NOT NULL,
    received BIGINT NOT NULL,
    PRIMARY KEY (day, item_code)
);

INSERT INTO item_receipts (day, item_code, item_name, received)
SELECT received_on, item_code, MAX(item_name), COUNT(*) FROM cases
WHERE state <> 'draft' GROUP BY received_on, item_code;
