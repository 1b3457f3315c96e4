-- Lists read a page at a time in key order (issue 16): an inbox is ordered by due date,
-- date of receipt and case number, and each of its parts is one index range in that
-- order, however many open cases there are. The department's index replaces the shorter
-- (department_id, state) one it starts with. Open tasks are read by department.
-- Keep in step with migrations/sqlite/0009_paging.sql.

CREATE INDEX cases_department_state_due ON cases (department_id, state, due_on, received_on, id);
DROP INDEX cases_department_state;
CREATE INDEX cases_state_due ON cases (state, due_on, received_on, id);
CREATE INDEX case_tasks_department ON case_tasks (department_id, state);
