-- noted counts the times a check noted new rows, for a scorer step to tell whether rows came
-- while it awarded without the check's lock. SQLite's one writer notes none during a step:
-- its triggers leave the column at 0.
ALTER TABLE segment_checks ADD COLUMN noted INTEGER NOT NULL DEFAULT 0;
