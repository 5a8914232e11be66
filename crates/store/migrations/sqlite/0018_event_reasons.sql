-- Custom events are a kind of change of their own (512, core's segment::Reads::EVENTS), apart
-- from page visits (16), so that a custom event re-evaluates only the segments that read
-- events, and a page view only those that read page visits. The kind of change each kind of
-- timeline row is, is one table that the timeline's triggers read; a new contact is every kind
-- (1023). Queued checks for 16 may come from a custom event, so they become 16 | 512.

CREATE TABLE timeline_reasons (
    kind TEXT PRIMARY KEY,
    reasons INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO timeline_reasons (kind, reasons) VALUES
    ('page_visit', 16), ('event', 512), ('form_submit', 256),
    ('open', 32), ('click', 32), ('unsubscribe', 32), ('bounce', 32);

UPDATE segment_checks SET reasons = reasons | 512 WHERE reasons & 16 <> 0;

DROP TRIGGER events_insert_checks_segments;
DROP TRIGGER events_update_checks_segments;
DROP TRIGGER contacts_insert_checks_segments;

CREATE TRIGGER events_insert_checks_segments AFTER INSERT ON events
WHEN NEW.contact_id IS NOT NULL AND EXISTS (SELECT 1 FROM segments WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.contact_id, NEW.account_id,
        COALESCE((SELECT reasons FROM timeline_reasons WHERE kind = NEW.kind), 1023), 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

CREATE TRIGGER events_update_checks_segments AFTER UPDATE OF contact_id ON events
WHEN NEW.contact_id IS NOT NULL AND EXISTS (SELECT 1 FROM segments WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.contact_id, NEW.account_id,
        COALESCE((SELECT reasons FROM timeline_reasons WHERE kind = NEW.kind), 1023), 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

CREATE TRIGGER contacts_insert_checks_segments AFTER INSERT ON contacts
WHEN EXISTS (SELECT 1 FROM segments WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.id, NEW.account_id, 1023, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

-- A contact's pending wake-up (when a window moves one of its answers) is kept apart from when
-- its check is due, so that a change, which makes the check due at once, does not lose it: the
-- change's check re-evaluates only the segments that read that kind of change, and keeps the
-- earlier of the pending wake-up and theirs. 9223372036854775807: none.
ALTER TABLE segment_checks ADD COLUMN wake_at INTEGER NOT NULL DEFAULT 9223372036854775807;
UPDATE segment_checks SET wake_at = due_at WHERE due_at > 0 AND due_at < 9223372036854775807;
