-- The scorer's notes apart from the segment checks. A timeline row that something reads notes
-- its contact's earliest new row in new_rows (before, since_at on the contact's check), which
-- only the scorer deletes, when it scores them. PostgreSQL needs this to keep the ingest from
-- waiting on a scorer step; SQLite, with its one writer, keeps the same tables and statements.
CREATE TABLE new_rows (
    contact_id INTEGER PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL,
    since_at INTEGER NOT NULL
);
INSERT INTO new_rows (contact_id, account_id, since_at)
    SELECT contact_id, account_id, since_at FROM segment_checks WHERE since_at IS NOT NULL;

DROP TRIGGER events_insert_checks_segments;
DROP TRIGGER events_update_checks_segments;

CREATE TRIGGER events_insert_checks_segments AFTER INSERT ON events
WHEN NEW.contact_id IS NOT NULL AND NEW.kind NOT IN ('score', 'automation')
    AND (EXISTS (SELECT 1 FROM segments WHERE account_id = NEW.account_id)
        OR EXISTS (SELECT 1 FROM automations WHERE account_id = NEW.account_id AND watches = 1)
        OR EXISTS (SELECT 1 FROM row_readers r WHERE r.account_id = NEW.account_id
            AND (r.kind IS NULL OR r.kind = NEW.kind) AND (r.name IS NULL OR r.name = NEW.name)))
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.contact_id, NEW.account_id,
        COALESCE((SELECT reasons FROM timeline_reasons WHERE kind = NEW.kind), 1023), 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1;
    UPDATE segment_checks SET due_at = 0 WHERE contact_id = NEW.contact_id AND due_at <> 0;
    INSERT INTO new_rows (contact_id, account_id, since_at)
    SELECT NEW.contact_id, NEW.account_id, NEW.occurred_at
    WHERE EXISTS (SELECT 1 FROM row_readers r WHERE r.account_id = NEW.account_id
        AND (r.kind IS NULL OR r.kind = NEW.kind) AND (r.name IS NULL OR r.name = NEW.name))
    ON CONFLICT (contact_id) DO UPDATE SET since_at = excluded.since_at
    WHERE excluded.since_at < new_rows.since_at;
END;

CREATE TRIGGER events_update_checks_segments AFTER UPDATE OF contact_id ON events
WHEN NEW.contact_id IS NOT NULL AND NEW.kind <> 'score'
    AND (EXISTS (SELECT 1 FROM segments WHERE account_id = NEW.account_id)
        OR EXISTS (SELECT 1 FROM automations WHERE account_id = NEW.account_id AND watches = 1)
        OR EXISTS (SELECT 1 FROM row_readers r WHERE r.account_id = NEW.account_id
            AND (r.kind IS NULL OR r.kind = NEW.kind) AND (r.name IS NULL OR r.name = NEW.name)))
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.contact_id, NEW.account_id,
        COALESCE((SELECT reasons FROM timeline_reasons WHERE kind = NEW.kind), 1023), 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
    INSERT INTO new_rows (contact_id, account_id, since_at)
    SELECT NEW.contact_id, NEW.account_id, NEW.occurred_at
    WHERE EXISTS (SELECT 1 FROM row_readers r WHERE r.account_id = NEW.account_id
        AND (r.kind IS NULL OR r.kind = NEW.kind) AND (r.name IS NULL OR r.name = NEW.name))
    ON CONFLICT (contact_id) DO UPDATE SET since_at = excluded.since_at
    WHERE excluded.since_at < new_rows.since_at;
END;

DROP INDEX segment_checks_new_rows;
ALTER TABLE segment_checks DROP COLUMN since_at;
