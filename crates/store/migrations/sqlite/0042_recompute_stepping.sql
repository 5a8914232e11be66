-- What a rule's recompute in progress steps through, chosen at its first step and kept to its
-- last: 0 ranges of contact ids, 1 ranges of timeline row ids. A recompute already in progress
-- went through contact ids, and goes on doing so.
ALTER TABLE score_rules ADD COLUMN progress_rows INTEGER NOT NULL DEFAULT 0;
