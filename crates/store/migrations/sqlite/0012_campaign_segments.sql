-- A campaign may target a saved segment within its list: only the list's subscribers who are
-- the segment's members when it starts are sent to. No foreign key: a sent campaign keeps the
-- id it targeted (the store refuses to delete a segment that an unfinished campaign targets).

ALTER TABLE campaigns ADD COLUMN segment_id INTEGER;
