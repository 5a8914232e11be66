-- What automation reports and timelines read of runs beyond their place.
--
-- automation_marks: a goal a run reached (path NULL) or the path of an A/B split it took (path
-- the index of the path), with the run's entry time (time to goal), written with the move. Runs
-- of a deleted automation go with it; a contact's deletion leaves them (statistics are history).
--
-- A contact's automation history is on its timeline: rows of kind 'automation' (entered,
-- completed, ended, goal reached). Like score changes, they queue no segment checks (they are
-- never adopted, so the update trigger needs no change).
CREATE TABLE automation_marks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    automation_id INTEGER NOT NULL REFERENCES automations (id) ON DELETE CASCADE,
    run_id INTEGER NOT NULL,
    step TEXT NOT NULL,
    path INTEGER,
    entered_at INTEGER NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX automation_marks_by_step ON automation_marks (automation_id, step, path);
CREATE INDEX automation_marks_by_run ON automation_marks (run_id);

DROP TRIGGER events_insert_checks_segments;
CREATE TRIGGER events_insert_checks_segments AFTER INSERT ON events
WHEN NEW.contact_id IS NOT NULL AND NEW.kind NOT IN ('score', 'automation')
    AND EXISTS (SELECT 1 FROM reacting_accounts WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.contact_id, NEW.account_id,
        COALESCE((SELECT reasons FROM timeline_reasons WHERE kind = NEW.kind), 1023), 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1;
    UPDATE segment_checks SET due_at = 0 WHERE contact_id = NEW.contact_id AND due_at <> 0;
    UPDATE segment_checks SET since_at = NEW.occurred_at WHERE contact_id = NEW.contact_id
        AND (since_at IS NULL OR since_at > NEW.occurred_at)
        AND EXISTS (SELECT 1 FROM row_reading_accounts WHERE account_id = NEW.account_id);
END;
