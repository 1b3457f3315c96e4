-- 一人一档 / 一企一档 for everyone registered: a registered person or legal person has a
-- profile row from registration (so a policy's publication evaluates them even before any
-- shared data names them), and a legal person is found by the keyed index of its credit
-- code, as shared data and licences find it. Rows stored before this migration are
-- indexed and profiled when the node starts (`profiled` / `uscc_index` still empty).

ALTER TABLE legal_persons ADD COLUMN uscc_index TEXT;
CREATE INDEX legal_persons_uscc_index ON legal_persons (uscc_index);
ALTER TABLE persons ADD COLUMN profiled SMALLINT;
CREATE INDEX persons_profiled ON persons (profiled);
