-- repriced_from: when an edit changes only a rule's points (its condition, expiry and
-- frequency stay, and it has no cap, whose awards depend on the points), the revision whose
-- awards the recompute copies at the new points, instead of reading past behavior again: the
-- rule's counted revision at the edit. NULL for every other recompute, and once the revision
-- counts.
--
-- sweep_from: once a revision counts, the awards of the revisions before it count no more,
-- and are deleted in the background, by ranges of contact ids up to progress_total; the next
-- contact id to sweep, or NULL when there is nothing to sweep. This bounds the ledger, which
-- kept every revision's awards before (and the sum of a contact's score read them all). The
-- rules counted already sweep what they kept so far, over every contact of their account.
ALTER TABLE score_rules ADD COLUMN repriced_from BIGINT;
ALTER TABLE score_rules ADD COLUMN sweep_from BIGINT;
UPDATE score_rules SET sweep_from = 0, progress_total = GREATEST(progress_total,
    (SELECT COALESCE(MAX(c.id), 0) + 1 FROM contacts c WHERE c.account_id = score_rules.account_id))
WHERE counted_revision = revision AND revision > 1;
