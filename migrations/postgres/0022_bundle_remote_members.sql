-- 多地联办 (issue 20): a member of a bundle case decided at a partner node. `node` the
-- partner's id; `crossing_id` the case as it crosses nodes (fed_cases, role origin), whose
-- status the partner reports; `case_id` stays empty (the partner's case number is on the
-- crossing).
ALTER TABLE bundle_case_members ADD COLUMN node TEXT;
ALTER TABLE bundle_case_members ADD COLUMN crossing_id TEXT;
CREATE INDEX bundle_case_members_crossing ON bundle_case_members (crossing_id);
