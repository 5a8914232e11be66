-- A timeline row notes its time on the contact's check (since_at, for the scorer) only in an
-- account with a live scoring rule: in an account with segments alone nothing awards the rows,
-- and noting them made the scorer clear them in a transaction of its own. A rule added later
-- scores past rows through its recompute.
DROP TRIGGER events_insert_checks_segments;
DROP TRIGGER events_update_checks_segments;

CREATE TRIGGER events_insert_checks_segments AFTER INSERT ON events
WHEN NEW.contact_id IS NOT NULL AND NEW.kind <> 'score'
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
        AND EXISTS (SELECT 1 FROM score_rules
            WHERE account_id = NEW.account_id AND deleted_at IS NULL);
END;

CREATE TRIGGER events_update_checks_segments AFTER UPDATE OF contact_id ON events
WHEN NEW.contact_id IS NOT NULL AND NEW.kind <> 'score'
    AND EXISTS (SELECT 1 FROM reacting_accounts WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.contact_id, NEW.account_id,
        COALESCE((SELECT reasons FROM timeline_reasons WHERE kind = NEW.kind), 1023), 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
    UPDATE segment_checks SET since_at = NEW.occurred_at WHERE contact_id = NEW.contact_id
        AND (since_at IS NULL OR since_at > NEW.occurred_at)
        AND EXISTS (SELECT 1 FROM score_rules
            WHERE account_id = NEW.account_id AND deleted_at IS NULL);
END;
