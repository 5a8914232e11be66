-- Email and form activity that segments read: each timeline row names its campaign or form in
-- a column (until now only in its data text), and clicks and opens made by machines (scanners)
-- are marked so that "opened" and "clicked" count people only. Rows recorded before this are
-- read back from their data text. Sends queue their contact for segment checks when sent, and
-- the timeline's triggers now say which kind of activity changed: 16 visits and custom events,
-- 32 email activity, 256 form submissions (core's segment::Reads).

ALTER TABLE events ADD COLUMN campaign_id BIGINT;
ALTER TABLE events ADD COLUMN form_id BIGINT;
ALTER TABLE events ADD COLUMN by_machine BIGINT NOT NULL DEFAULT 0;

UPDATE events SET campaign_id = CAST(substring(data from '^campaign:([0-9]+)') AS BIGINT)
WHERE kind IN ('click', 'open', 'unsubscribe', 'bounce') AND data LIKE 'campaign:%';
UPDATE events SET form_id = CAST(substring(data from '^form:([0-9]+)') AS BIGINT)
WHERE kind = 'form_submit' AND data LIKE 'form:%';
UPDATE events SET by_machine = 1 WHERE kind IN ('click', 'open') AND data LIKE '% machine:%';
UPDATE events SET url = data WHERE kind = 'click' AND url IS NULL AND data NOT LIKE 'campaign:%'
AND data NOT LIKE '% machine:%';

DROP TRIGGER events_insert_checks_segments ON events;
DROP TRIGGER events_update_checks_segments ON events;
CREATE FUNCTION events_check_segments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mark_segment_check(NEW.account_id, NEW.contact_id,
        CASE NEW.kind WHEN 'page_visit' THEN 16 WHEN 'event' THEN 16 WHEN 'form_submit' THEN 256 ELSE 32 END);
    RETURN NULL;
END;
$$;
CREATE TRIGGER events_insert_checks_segments AFTER INSERT ON events
FOR EACH ROW WHEN (NEW.contact_id IS NOT NULL) EXECUTE FUNCTION events_check_segments();
CREATE TRIGGER events_update_checks_segments AFTER UPDATE OF contact_id ON events
FOR EACH ROW WHEN (NEW.contact_id IS NOT NULL) EXECUTE FUNCTION events_check_segments();
CREATE TRIGGER sends_sent_checks_segments AFTER UPDATE OF status ON sends
FOR EACH ROW WHEN (NEW.status = 2) EXECUTE FUNCTION rows_check_segments(32);
