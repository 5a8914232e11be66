-- A saved segment's member count, without a lock on the segment's row.
--
-- The count was a column of segments kept by a row trigger on segment_members, so every
-- member change waited on the segment's row: a contact deleted while a computation held the
-- segment (or a round of checks that had changed the same contact's memberships in another
-- order) could deadlock with it. The count is now the sum of its deltas in
-- segment_member_counts, appended (never updated) by a statement trigger per statement and
-- segment, and folded into one row by the membership worker (Store::fold_member_counts).
-- A computation claims its segment with FOR NO KEY UPDATE, which the deltas' foreign key
-- check (FOR KEY SHARE) never waits on.
--
-- A deleted contact's queued check goes with it (its row was left idle for ever).

CREATE TABLE segment_member_counts (
    segment_id BIGINT NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    delta BIGINT NOT NULL
);
CREATE INDEX segment_member_counts_by_segment ON segment_member_counts (segment_id);
INSERT INTO segment_member_counts (segment_id, delta)
SELECT id, member_count FROM segments WHERE member_count <> 0;

DROP TRIGGER segment_members_counted ON segment_members;
DROP FUNCTION segment_members_count();
ALTER TABLE segments DROP COLUMN member_count;

-- The members of a deleted segment are not counted: the segment and its deltas are gone.
CREATE FUNCTION segment_members_entered() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO segment_member_counts (segment_id, delta)
    SELECT segment_id, COUNT(*) FROM entered
    WHERE EXISTS (SELECT 1 FROM segments s WHERE s.id = entered.segment_id)
    GROUP BY segment_id ORDER BY segment_id;
    RETURN NULL;
END;
$$;
CREATE FUNCTION segment_members_left() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO segment_member_counts (segment_id, delta)
    SELECT segment_id, -COUNT(*) FROM left_rows
    WHERE EXISTS (SELECT 1 FROM segments s WHERE s.id = left_rows.segment_id)
    GROUP BY segment_id ORDER BY segment_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER segment_members_entered AFTER INSERT ON segment_members
REFERENCING NEW TABLE AS entered
FOR EACH STATEMENT EXECUTE FUNCTION segment_members_entered();
CREATE TRIGGER segment_members_left AFTER DELETE ON segment_members
REFERENCING OLD TABLE AS left_rows
FOR EACH STATEMENT EXECUTE FUNCTION segment_members_left();

CREATE FUNCTION contacts_forget_segment_checks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM segment_checks WHERE contact_id = OLD.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER contacts_forget_segment_checks AFTER DELETE ON contacts
FOR EACH ROW EXECUTE FUNCTION contacts_forget_segment_checks();
DELETE FROM segment_checks WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = contact_id);
