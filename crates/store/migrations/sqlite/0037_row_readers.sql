-- Timeline rows are read (noted on the contact's check for the scorer, which also enters the
-- contacts of behavior triggers) only by what could read them: a live scoring rule reads every
-- row; an active automation's behavior trigger reads the rows of its kind (and, for an event,
-- its name), kept in automation_row_triggers with the automation's definition and status (NULL
-- kind or name: any). A row nothing reads, in an account without segments or watching
-- automations, queues no check at all: an event that no trigger names costs nothing more than
-- an event in an account without automations. Existing automations read every row until they
-- are saved again.
CREATE TABLE automation_row_triggers (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    automation_id INTEGER NOT NULL REFERENCES automations (id) ON DELETE CASCADE,
    kind TEXT,
    name TEXT
);
CREATE INDEX automation_row_triggers_by_key ON automation_row_triggers (account_id, kind, name);
CREATE INDEX automation_row_triggers_by_automation ON automation_row_triggers (automation_id);
INSERT INTO automation_row_triggers (account_id, automation_id, kind, name)
    SELECT account_id, id, NULL, NULL FROM automations WHERE active = 1 AND reads_rows = 1;

CREATE VIEW row_readers (account_id, kind, name) AS
    SELECT account_id, NULL, NULL FROM score_rules WHERE deleted_at IS NULL
    UNION ALL SELECT account_id, kind, name FROM automation_row_triggers;

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
    UPDATE segment_checks SET since_at = NEW.occurred_at WHERE contact_id = NEW.contact_id
        AND (since_at IS NULL OR since_at > NEW.occurred_at)
        AND EXISTS (SELECT 1 FROM row_readers r WHERE r.account_id = NEW.account_id
            AND (r.kind IS NULL OR r.kind = NEW.kind) AND (r.name IS NULL OR r.name = NEW.name));
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
    UPDATE segment_checks SET since_at = NEW.occurred_at WHERE contact_id = NEW.contact_id
        AND (since_at IS NULL OR since_at > NEW.occurred_at)
        AND EXISTS (SELECT 1 FROM row_readers r WHERE r.account_id = NEW.account_id
            AND (r.kind IS NULL OR r.kind = NEW.kind) AND (r.name IS NULL OR r.name = NEW.name));
END;
