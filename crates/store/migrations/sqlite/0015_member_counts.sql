-- A saved segment's member count is the sum of its deltas in segment_member_counts, appended
-- by triggers and folded into one row by the membership worker (Store::fold_member_counts),
-- so that no member change waits on the segment's row. SQLite has one writer and no row
-- locks, but both engines keep the count the same way (see the PostgreSQL migration, where
-- the row trigger could deadlock).
--
-- A deleted contact's queued check goes with it (its row was left idle for ever).

CREATE TABLE segment_member_counts (
    segment_id INTEGER NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    delta INTEGER NOT NULL
);
CREATE INDEX segment_member_counts_by_segment ON segment_member_counts (segment_id);
INSERT INTO segment_member_counts (segment_id, delta)
SELECT id, member_count FROM segments WHERE member_count <> 0;

DROP TRIGGER segment_members_counted;
DROP TRIGGER segment_members_uncounted;
ALTER TABLE segments DROP COLUMN member_count;

-- The members of a deleted segment are not counted: the segment and its deltas are gone.
CREATE TRIGGER segment_members_entered AFTER INSERT ON segment_members
BEGIN
    INSERT INTO segment_member_counts (segment_id, delta) VALUES (NEW.segment_id, 1);
END;
CREATE TRIGGER segment_members_left AFTER DELETE ON segment_members
WHEN EXISTS (SELECT 1 FROM segments s WHERE s.id = OLD.segment_id)
BEGIN
    INSERT INTO segment_member_counts (segment_id, delta) VALUES (OLD.segment_id, -1);
END;

CREATE TRIGGER contacts_forget_segment_checks AFTER DELETE ON contacts
BEGIN
    DELETE FROM segment_checks WHERE contact_id = OLD.id;
END;
DELETE FROM segment_checks WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = contact_id);
