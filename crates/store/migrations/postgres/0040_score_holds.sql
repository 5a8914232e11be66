-- The scorer apart from the ingest. Before, a timeline row noted its time on its contact's
-- check (since_at), and every writer of a contact's scores locked that check row first; a
-- scorer step held its contacts' check rows while it awarded them, and the ingest, which
-- upserts the check row of every event's contact, waited for the step (p99 375 ms with ten
-- scoring models).
--
-- Now a row that something reads adds a note (contact, account, time) to new_rows, a note per
-- statement and contact that only the scorer deletes: a step deletes the notes it scores, and a
-- row added meanwhile keeps its own. Every writer of a contact's scores first locks the
-- contact's row in score_holds (made when missing), in contact order and before any check row;
-- nothing in the ingest takes it.
CREATE TABLE new_rows (
    contact_id BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL,
    since_at BIGINT NOT NULL
);
CREATE INDEX new_rows_by_contact ON new_rows (contact_id);
INSERT INTO new_rows (contact_id, account_id, since_at)
    SELECT contact_id, account_id, since_at FROM segment_checks WHERE since_at IS NOT NULL;

CREATE TABLE score_holds (
    contact_id BIGINT PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE
);

CREATE OR REPLACE FUNCTION events_check_segments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF row_reacts(NEW.account_id, NEW.kind, NEW.name) THEN
        INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
        VALUES (NEW.contact_id, NEW.account_id,
            COALESCE((SELECT reasons FROM timeline_reasons WHERE kind = NEW.kind), 1023), 0)
        ON CONFLICT (contact_id) DO UPDATE
        SET reasons = segment_checks.reasons | EXCLUDED.reasons,
            version = segment_checks.version + 1, due_at = 0;
        IF row_is_read(NEW.account_id, NEW.kind, NEW.name) THEN
            INSERT INTO new_rows (contact_id, account_id, since_at)
            VALUES (NEW.contact_id, NEW.account_id, NEW.occurred_at);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION events_added_check_segments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    SELECT a.contact_id, min(a.account_id), bit_or(COALESCE(r.reasons, 1023)), 0
    FROM added a LEFT JOIN timeline_reasons r ON r.kind = a.kind
    WHERE a.contact_id IS NOT NULL AND a.kind NOT IN ('score', 'automation')
        AND row_reacts(a.account_id, a.kind, a.name)
    GROUP BY a.contact_id
    ORDER BY a.contact_id
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = segment_checks.reasons | EXCLUDED.reasons,
        version = segment_checks.version + 1, due_at = 0;
    INSERT INTO new_rows (contact_id, account_id, since_at)
    SELECT a.contact_id, min(a.account_id), min(a.occurred_at)
    FROM added a
    WHERE a.contact_id IS NOT NULL AND a.kind NOT IN ('score', 'automation')
        AND row_is_read(a.account_id, a.kind, a.name)
    GROUP BY a.contact_id;
    RETURN NULL;
END;
$$;

DROP INDEX segment_checks_new_rows;
ALTER TABLE segment_checks DROP COLUMN since_at;
