-- The awards a round reads to know which rules held while true its contacts hold: those without
-- a causing row (cause 0: awards of rules held while true, of rules that award once, and
-- manual adjustments), by contact. The round asked the unique index, whose entries for a
-- contact hold every award of the contact (ten per event in the bench's ten models): with 100
-- contacts, 4.7 ms of statement time a round at 3,000 events/s, 3.2 ms through this index. The
-- round names the index: without statistics, SQLite prefers the unique one.
CREATE INDEX score_awards_held ON score_awards (contact_id, rule_id, revision) WHERE cause = 0;
