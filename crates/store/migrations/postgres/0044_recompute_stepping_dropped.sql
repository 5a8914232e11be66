-- The recompute's stepping through ranges of timeline row ids (the column of the migration
-- before) was measured slower at 1M contacts / 20M rows than ranges of contacts, and taken
-- out: each step wrote awards all over the ledger's index, so its commit wrote most of that
-- index again (the edit of a rule over 612,253 contacts went from 74 s to 95-112 s).
-- Recomputes step through contact ids only, as before.
ALTER TABLE score_rules DROP COLUMN progress_rows;
