-- Active automations with behavior triggers read the timeline rows added to contacts, as
-- scoring rules over single behaviors do: a row notes its time on the contact's check
-- (since_at) in an account that has either (row_reading_accounts), and the step that scores new
-- rows also enters the contacts whose rows meet a trigger. Such an account queues checks
-- (reacting_accounts) even without a segment.
ALTER TABLE automations ADD COLUMN reads_rows INTEGER NOT NULL DEFAULT 0;
CREATE INDEX automations_reading_rows ON automations (account_id)
    WHERE active = 1 AND reads_rows = 1;

CREATE VIEW row_reading_accounts (account_id) AS
    SELECT account_id FROM score_rules WHERE deleted_at IS NULL
    UNION ALL SELECT account_id FROM automations WHERE active = 1 AND reads_rows = 1;

DROP VIEW reacting_accounts;
CREATE VIEW reacting_accounts (account_id) AS
    SELECT account_id FROM segments
    UNION ALL SELECT account_id FROM row_reading_accounts;

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
        AND EXISTS (SELECT 1 FROM row_reading_accounts WHERE account_id = NEW.account_id);
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
        AND EXISTS (SELECT 1 FROM row_reading_accounts WHERE account_id = NEW.account_id);
END;
