-- Email and form activity that segments read: each timeline row names its campaign or form in
-- a column (until now only in its data text), and clicks and opens made by machines (scanners)
-- are marked so that "opened" and "clicked" count people only. Rows recorded before this are
-- read back from their data text. Sends queue their contact for segment checks when sent, and
-- the timeline's triggers now say which kind of activity changed: 16 visits and custom events,
-- 32 email activity, 256 form submissions (core's segment::Reads).

ALTER TABLE events ADD COLUMN campaign_id INTEGER;
ALTER TABLE events ADD COLUMN form_id INTEGER;
ALTER TABLE events ADD COLUMN by_machine INTEGER NOT NULL DEFAULT 0;

UPDATE events SET campaign_id = CAST(substr(data, 10) AS INTEGER)
WHERE kind IN ('click', 'open', 'unsubscribe', 'bounce') AND data LIKE 'campaign:%';
UPDATE events SET form_id = CAST(substr(data, 6) AS INTEGER)
WHERE kind = 'form_submit' AND data LIKE 'form:%';
UPDATE events SET by_machine = 1 WHERE kind IN ('click', 'open') AND data LIKE '% machine:%';
UPDATE events SET url = data WHERE kind = 'click' AND url IS NULL AND data NOT LIKE 'campaign:%'
AND data NOT LIKE '% machine:%';

DROP TRIGGER events_insert_checks_segments;
DROP TRIGGER events_update_checks_segments;

CREATE TRIGGER events_insert_checks_segments AFTER INSERT ON events
WHEN NEW.contact_id IS NOT NULL AND EXISTS (SELECT 1 FROM segments WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.contact_id, NEW.account_id, CASE NEW.kind WHEN 'page_visit' THEN 16 WHEN 'event' THEN 16 WHEN 'form_submit' THEN 256 ELSE 32 END, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

CREATE TRIGGER events_update_checks_segments AFTER UPDATE OF contact_id ON events
WHEN NEW.contact_id IS NOT NULL AND EXISTS (SELECT 1 FROM segments WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.contact_id, NEW.account_id, CASE NEW.kind WHEN 'page_visit' THEN 16 WHEN 'event' THEN 16 WHEN 'form_submit' THEN 256 ELSE 32 END, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

CREATE TRIGGER sends_sent_checks_segments AFTER UPDATE OF status ON sends
WHEN NEW.status = 2 AND EXISTS (SELECT 1 FROM segments WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.contact_id, NEW.account_id, 32, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;
