-- The contacts whose timeline rows added since they were last scored wait to be awarded
-- (since_at is noted): the scoring step finds them in turns by contact, apart from the
-- membership rounds.
CREATE INDEX segment_checks_new_rows ON segment_checks (contact_id) WHERE since_at IS NOT NULL;

-- A timeline row queues its contact's check with the indexed columns (due_at, since_at) set
-- only when they change: under a flood of a contact's events, its check is already due with
-- its new rows noted, and the row alone moves on (reasons, version), without rewriting the
-- entries of both indexes for each event.
DROP TRIGGER events_insert_checks_segments;

CREATE TRIGGER events_insert_checks_segments AFTER INSERT ON events
WHEN NEW.contact_id IS NOT NULL AND NEW.kind <> 'score'
    AND EXISTS (SELECT 1 FROM reacting_accounts WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at, since_at)
    VALUES (NEW.contact_id, NEW.account_id,
        COALESCE((SELECT reasons FROM timeline_reasons WHERE kind = NEW.kind), 1023), 0,
        NEW.occurred_at)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1;
    UPDATE segment_checks SET due_at = 0 WHERE contact_id = NEW.contact_id AND due_at <> 0;
    UPDATE segment_checks SET since_at = NEW.occurred_at WHERE contact_id = NEW.contact_id
        AND (since_at IS NULL OR since_at > NEW.occurred_at);
END;
