-- An inbox of a region's windows walks its state's cases in due order and keeps those of
-- the region: with the region code in the index that filter reads no case row, and no
-- inbox sorts the open cases of a whole region per page (SQLite chose the region index and
-- sorted every case of the region in that state).

DROP INDEX cases_state_due;
CREATE INDEX cases_state_due ON cases (state, due_on, received_on, id, region_code);
