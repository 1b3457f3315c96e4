-- 好差评 by hall and window (国办发〔2019〕51号: results published per hall and per window
-- clerk) and the escalation (督办) of overdue follow-ups.

-- The window a counter rating was given at (its hall kept with it), chosen by the clerk
-- who opens the rating.
ALTER TABLE ratings ADD COLUMN hall_id TEXT;
ALTER TABLE ratings ADD COLUMN window_id TEXT;
ALTER TABLE rating_pads ADD COLUMN hall_id TEXT;
ALTER TABLE rating_pads ADD COLUMN window_id TEXT;

-- The board's counters gain the hall ('' for online ratings) in their key.
CREATE TABLE rating_stats_by_hall (
    month TEXT NOT NULL,
    department_id TEXT NOT NULL,
    item_code TEXT NOT NULL,
    clerk TEXT NOT NULL,
    hall_id TEXT NOT NULL,
    item_name TEXT NOT NULL,
    level1 BIGINT NOT NULL,
    level2 BIGINT NOT NULL,
    level3 BIGINT NOT NULL,
    level4 BIGINT NOT NULL,
    level5 BIGINT NOT NULL,
    defaulted BIGINT NOT NULL,
    bad BIGINT NOT NULL,
    called_back BIGINT NOT NULL,
    closed BIGINT NOT NULL,
    PRIMARY KEY (month, department_id, item_code, clerk, hall_id)
);
INSERT INTO rating_stats_by_hall (month, department_id, item_code, clerk, hall_id, item_name, level1, level2,
    level3, level4, level5, defaulted, bad, called_back, closed)
SELECT month, department_id, item_code, clerk, '', item_name, level1, level2, level3, level4, level5, defaulted,
    bad, called_back, closed FROM rating_stats;
DROP TABLE rating_stats;
ALTER TABLE rating_stats_by_hall RENAME TO rating_stats;

-- A fix's deadline as a column (it is also in the task), and when each kind of overdue was
-- escalated: the scheduler finds what is newly overdue through these indexes, never by
-- reading every task.
ALTER TABLE rating_tasks ADD COLUMN fix_due TEXT;
ALTER TABLE rating_tasks ADD COLUMN call_back_escalated_on TEXT;
ALTER TABLE rating_tasks ADD COLUMN fix_escalated_on TEXT;
CREATE INDEX rating_tasks_call_back_overdue ON rating_tasks (state, call_back_escalated_on, call_back_due);
CREATE INDEX rating_tasks_fix_overdue ON rating_tasks (state, fix_escalated_on, fix_due);
