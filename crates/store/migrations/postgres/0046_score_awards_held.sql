-- The awards a round reads to know which rules held while true a contact holds: those without
-- a causing row (cause 0: awards of rules held while true, of rules that award once, and
-- manual adjustments), by contact (see the SQLite migration 0045).
CREATE INDEX score_awards_held ON score_awards (contact_id, rule_id, revision) WHERE cause = 0;
