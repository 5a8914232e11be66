-- noted counts the times a check noted new rows: a scorer step awards a contact's rows
-- without the check's lock, then takes the lock and awards again the contacts whose count
-- moved meanwhile (the ingest, which queues each row on its contact's check, then waits for
-- the settling alone).
ALTER TABLE segment_checks ADD COLUMN noted BIGINT NOT NULL DEFAULT 0;

CREATE OR REPLACE FUNCTION events_check_segments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM reacting_accounts WHERE account_id = NEW.account_id) THEN
        INSERT INTO segment_checks (contact_id, account_id, reasons, due_at, since_at)
        VALUES (NEW.contact_id, NEW.account_id,
            COALESCE((SELECT reasons FROM timeline_reasons WHERE kind = NEW.kind), 1023), 0,
            CASE WHEN EXISTS (SELECT 1 FROM score_rules
                WHERE account_id = NEW.account_id AND deleted_at IS NULL)
            THEN NEW.occurred_at END)
        ON CONFLICT (contact_id) DO UPDATE
        SET reasons = segment_checks.reasons | EXCLUDED.reasons,
            version = segment_checks.version + 1, due_at = 0,
            since_at = LEAST(segment_checks.since_at, EXCLUDED.since_at),
            noted = segment_checks.noted + 1;
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION events_added_check_segments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at, since_at)
    SELECT a.contact_id, min(a.account_id), bit_or(COALESCE(r.reasons, 1023)), 0,
        min(CASE WHEN EXISTS (SELECT 1 FROM score_rules s
            WHERE s.account_id = a.account_id AND s.deleted_at IS NULL)
        THEN a.occurred_at END)
    FROM added a LEFT JOIN timeline_reasons r ON r.kind = a.kind
    WHERE a.contact_id IS NOT NULL AND a.kind <> 'score'
        AND EXISTS (SELECT 1 FROM reacting_accounts s WHERE s.account_id = a.account_id)
    GROUP BY a.contact_id
    ORDER BY a.contact_id
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = segment_checks.reasons | EXCLUDED.reasons,
        version = segment_checks.version + 1, due_at = 0,
        since_at = LEAST(segment_checks.since_at, EXCLUDED.since_at),
        noted = segment_checks.noted + 1;
    RETURN NULL;
END;
$$;
