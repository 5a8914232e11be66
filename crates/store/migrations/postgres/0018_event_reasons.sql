-- Custom events are a kind of change of their own (512, core's segment::Reads::EVENTS), apart
-- from page visits (16), so that a custom event re-evaluates only the segments that read
-- events, and a page view only those that read page visits. The kind of change each kind of
-- timeline row is, is one table that the timeline's trigger reads; a new contact is every kind
-- (1023). Queued checks for 16 may come from a custom event, so they become 16 | 512.

CREATE TABLE timeline_reasons (
    kind TEXT PRIMARY KEY,
    reasons BIGINT NOT NULL
);
INSERT INTO timeline_reasons (kind, reasons) VALUES
    ('page_visit', 16), ('event', 512), ('form_submit', 256),
    ('open', 32), ('click', 32), ('unsubscribe', 32), ('bounce', 32);

UPDATE segment_checks SET reasons = reasons | 512 WHERE reasons & 16 <> 0;

CREATE OR REPLACE FUNCTION events_check_segments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mark_segment_check(NEW.account_id, NEW.contact_id,
        COALESCE((SELECT reasons FROM timeline_reasons WHERE kind = NEW.kind), 1023));
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION contacts_check_segments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mark_segment_check(NEW.account_id, NEW.id,
        CASE WHEN TG_OP = 'INSERT' THEN 1023 ELSE 1 END);
    RETURN NULL;
END;
$$;

-- A contact's pending wake-up (when a window moves one of its answers) is kept apart from when
-- its check is due, so that a change, which makes the check due at once, does not lose it: the
-- change's check re-evaluates only the segments that read that kind of change, and keeps the
-- earlier of the pending wake-up and theirs. 9223372036854775807: none.
ALTER TABLE segment_checks ADD COLUMN wake_at BIGINT NOT NULL DEFAULT 9223372036854775807;
UPDATE segment_checks SET wake_at = due_at WHERE due_at > 0 AND due_at < 9223372036854775807;
