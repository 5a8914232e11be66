-- Timeline rows are read (noted on the contact's check for the scorer, which also enters the
-- contacts of behavior triggers) only by what could read them: a live scoring rule reads every
-- row; an active automation's behavior trigger reads the rows of its kind (and, for an event,
-- its name), kept in automation_row_triggers with the automation's definition and status (NULL
-- kind or name: any). A row nothing reads, in an account without segments or watching
-- automations, queues no check at all: an event that no trigger names costs nothing more than
-- an event in an account without automations. Existing automations read every row until they
-- are saved again.
CREATE TABLE automation_row_triggers (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    automation_id BIGINT NOT NULL REFERENCES automations (id) ON DELETE CASCADE,
    kind TEXT,
    name TEXT
);
CREATE INDEX automation_row_triggers_by_key ON automation_row_triggers (account_id, kind, name);
CREATE INDEX automation_row_triggers_by_automation ON automation_row_triggers (automation_id);
INSERT INTO automation_row_triggers (account_id, automation_id, kind, name)
    SELECT account_id, id, NULL, NULL FROM automations WHERE active = 1 AND reads_rows = 1;

CREATE VIEW row_readers (account_id, kind, name) AS
    SELECT account_id, NULL::TEXT, NULL::TEXT FROM score_rules WHERE deleted_at IS NULL
    UNION ALL SELECT account_id, kind, name FROM automation_row_triggers;

CREATE FUNCTION row_is_read(account BIGINT, row_kind TEXT, row_name TEXT) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM row_readers r WHERE r.account_id = account
        AND (r.kind IS NULL OR r.kind = row_kind) AND (r.name IS NULL OR r.name = row_name))
$$;

CREATE FUNCTION row_reacts(account BIGINT, row_kind TEXT, row_name TEXT) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM segments WHERE account_id = account)
        OR EXISTS (SELECT 1 FROM automations WHERE account_id = account AND watches = 1)
        OR row_is_read(account, row_kind, row_name)
$$;

CREATE OR REPLACE FUNCTION events_check_segments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF row_reacts(NEW.account_id, NEW.kind, NEW.name) THEN
        INSERT INTO segment_checks (contact_id, account_id, reasons, due_at, since_at)
        VALUES (NEW.contact_id, NEW.account_id,
            COALESCE((SELECT reasons FROM timeline_reasons WHERE kind = NEW.kind), 1023), 0,
            CASE WHEN row_is_read(NEW.account_id, NEW.kind, NEW.name)
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
        min(CASE WHEN row_is_read(a.account_id, a.kind, a.name) THEN a.occurred_at END)
    FROM added a LEFT JOIN timeline_reasons r ON r.kind = a.kind
    WHERE a.contact_id IS NOT NULL AND a.kind NOT IN ('score', 'automation')
        AND row_reacts(a.account_id, a.kind, a.name)
    GROUP BY a.contact_id
    ORDER BY a.contact_id
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = segment_checks.reasons | EXCLUDED.reasons,
        version = segment_checks.version + 1, due_at = 0,
        since_at = LEAST(segment_checks.since_at, EXCLUDED.since_at);
    RETURN NULL;
END;
$$;
