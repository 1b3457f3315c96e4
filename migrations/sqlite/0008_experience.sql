-- The experience of citizens and staff (issue 15): the portal's popular services count
-- the applications received recently, item by item.
-- Keep in step with migrations/postgres/0008_experience.sql.

CREATE INDEX cases_received_item ON cases (received_on, item_code);

-- The last 发文顺序号 of each department, year and kind of notice (GB/T 9704-2012 7.2.4:
-- a document number is the issuer's code, the year and a running number).
CREATE TABLE doc_numbers (
    department_id TEXT NOT NULL,
    year INTEGER NOT NULL,
    kind TEXT NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (department_id, year, kind)
);
