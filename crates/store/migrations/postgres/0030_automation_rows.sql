-- Active automations with behavior triggers read the timeline rows added to contacts, as
-- scoring rules over single behaviors do: a row notes its time on the contact's check
-- (since_at) in an account that has either (row_reading_accounts), and the step that scores new
-- rows also enters the contacts whose rows meet a trigger. Such an account queues checks
-- (reacting_accounts) even without a segment.
ALTER TABLE automations ADD COLUMN reads_rows BIGINT NOT NULL DEFAULT 0;
CREATE INDEX automations_reading_rows ON automations (account_id)
    WHERE active = 1 AND reads_rows = 1;

CREATE VIEW row_reading_accounts (account_id) AS
    SELECT account_id FROM score_rules WHERE deleted_at IS NULL
    UNION ALL SELECT account_id FROM automations WHERE active = 1 AND reads_rows = 1;

CREATE OR REPLACE VIEW reacting_accounts (account_id) AS
    SELECT account_id FROM segments
    UNION ALL SELECT account_id FROM row_reading_accounts;

CREATE OR REPLACE FUNCTION events_check_segments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM reacting_accounts WHERE account_id = NEW.account_id) THEN
        INSERT INTO segment_checks (contact_id, account_id, reasons, due_at, since_at)
        VALUES (NEW.contact_id, NEW.account_id,
            COALESCE((SELECT reasons FROM timeline_reasons WHERE kind = NEW.kind), 1023), 0,
            CASE WHEN EXISTS (SELECT 1 FROM row_reading_accounts
                WHERE account_id = NEW.account_id)
            THEN NEW.occurred_at END)
        ON CONFLICT (contact_id) DO UPDATE
        SET reasons = segment_checks.reasons | EXCLUDED.reasons,
            version = segment_checks.version + 1, due_at = 0,
            since_at = LEAST(segment_checks.since_at, EXCLUDED.since_at);
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION events_added_check_segments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at, since_at)
    SELECT a.contact_id, min(a.account_id), bit_or(COALESCE(r.reasons, 1023)), 0,
        min(CASE WHEN EXISTS (SELECT 1 FROM row_reading_accounts s
            WHERE s.account_id = a.account_id)
        THEN a.occurred_at END)
    FROM added a LEFT JOIN timeline_reasons r ON r.kind = a.kind
    WHERE a.contact_id IS NOT NULL AND a.kind <> 'score'
        AND EXISTS (SELECT 1 FROM reacting_accounts s WHERE s.account_id = a.account_id)
    GROUP BY a.contact_id
    ORDER BY a.contact_id
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = segment_checks.reasons | EXCLUDED.reasons,
        version = segment_checks.version + 1, due_at = 0,
        since_at = LEAST(segment_checks.since_at, EXCLUDED.since_at);
    RETURN NULL;
END;
$$;
