-- Every contact has its row in score_holds from its creation (a statement trigger on contacts,
-- in the contact's transaction), so that holding a contact's scores only locks that row.
-- Until now the row was made when missing, by INSERT ... ON CONFLICT DO NOTHING, and such an
-- insert waits for another transaction that inserted the same row and has not committed: a
-- writer that skips the contacts another holds (the scorer, the membership rounds) then waited
-- behind the writer that had just made the row, for as long as it ran (a recompute's last step
-- makes up to a million), and with it every other contact of its step. SQLite has one writer
-- and no holds.
INSERT INTO score_holds (contact_id)
    SELECT id FROM contacts ORDER BY id
    ON CONFLICT (contact_id) DO NOTHING;

CREATE FUNCTION contacts_added_hold_scores() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO score_holds (contact_id) SELECT id FROM added ORDER BY id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER contacts_added_hold_scores AFTER INSERT ON contacts
REFERENCING NEW TABLE AS added
FOR EACH STATEMENT EXECUTE FUNCTION contacts_added_hold_scores();
