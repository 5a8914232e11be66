-- Timeline rows of kind 'score' and 'automation' count in no activity counter (those count page
-- visits, events, opens, clicks and form submissions), yet each made a PL/pgSQL call that did
-- nothing for them. A recompute's last step writes one per score it changes, and a scorer step
-- one per contact whose scores change. The trigger now skips them, as on SQLite (0041).
DROP TRIGGER events_insert_counts_activity ON events;
CREATE TRIGGER events_insert_counts_activity AFTER INSERT ON events
FOR EACH ROW WHEN (NEW.contact_id IS NOT NULL AND NEW.kind NOT IN ('score', 'automation'))
EXECUTE FUNCTION events_count_activity();
