-- The contacts whose timeline rows added since they were last scored wait to be awarded
-- (since_at is noted): the scoring step finds them in turns by contact, apart from the
-- membership rounds.
CREATE INDEX segment_checks_new_rows ON segment_checks (contact_id) WHERE since_at IS NOT NULL;
