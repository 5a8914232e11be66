-- Lead scoring: models (AC's "scores"), their rules, the ledger of awards, and each contact's
-- score per model.
--
-- score_rules: a condition in the segment definition format and its points. Every edit (and a
-- deletion, which keeps the row for the ledger's sake) moves revision on; the membership worker
-- then scores past behavior again in the background (progress_done of progress_total) and sets
-- counted_revision, so the previous revision's awards count until the new ones are ready.
--
-- score_awards: the ledger. An award of a rule counts when its revision is the rule's
-- counted_revision and it has not expired; a manual adjustment (rule_id NULL) counts until it
-- expires. cause is the timeline row that caused it for rules that award every time, and 0 for
-- rules that award once or while their condition holds: (rule, revision, contact, cause) is
-- unique, so a replayed event never scores twice. An award held while a condition holds is
-- deleted when it stops holding (the score change is on the contact's timeline).
--
-- score_awards names its account, model and rule without foreign keys (each write would look
-- them up): deleting a model deletes its awards (Store::delete_score_model), a rule is never
-- deleted but with its model, and its contact's deletion cascades. Its one index by contact
-- is also its unique key.
--
-- contact_scores: the sum of each contact's live awards per model, written in the transaction
-- that changes them; settled_at is the instant it sums them at (the awards that expire after
-- it are in the total, and are taken off when they expire, through the membership worker's
-- wake-ups).
--
-- The functions that queue contacts for the membership worker now fire in accounts that have a
-- segment or a scoring rule (reacting_accounts), and note since_at: the earliest time of the
-- timeline rows added since the contact was last checked, from which rules over single
-- behaviors look for new rows. A score change is a timeline row of kind 'score'; it queues no
-- check (the store queues the contacts whose scores changed in accounts with a segment that
-- reads scores, 128, in the same transaction).

CREATE TABLE score_models (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX score_models_by_account ON score_models (account_id, id);

CREATE TABLE score_rules (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    model_id BIGINT NOT NULL REFERENCES score_models (id) ON DELETE CASCADE,
    definition TEXT NOT NULL,
    points BIGINT NOT NULL,
    expiry_days BIGINT,
    once BIGINT NOT NULL DEFAULT 0,
    cap_points BIGINT,
    cap_days BIGINT,
    revision BIGINT NOT NULL DEFAULT 1,
    counted_revision BIGINT NOT NULL DEFAULT 0,
    progress_done BIGINT NOT NULL DEFAULT 0,
    progress_total BIGINT NOT NULL DEFAULT 0,
    deleted_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX score_rules_by_model ON score_rules (model_id, id);
CREATE INDEX score_rules_by_account ON score_rules (account_id) WHERE deleted_at IS NULL;
CREATE INDEX score_rules_to_count ON score_rules (id) WHERE counted_revision < revision;

CREATE TABLE score_awards (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL,
    model_id BIGINT NOT NULL,
    rule_id BIGINT,
    revision BIGINT NOT NULL DEFAULT 0,
    contact_id BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    cause BIGINT NOT NULL,
    event_id BIGINT,
    points BIGINT NOT NULL,
    reason TEXT,
    awarded_at BIGINT NOT NULL,
    expires_at BIGINT,
    recorded_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX score_awards_once ON score_awards (contact_id, rule_id, revision, cause);
CREATE INDEX score_awards_expiring ON score_awards (contact_id, expires_at)
    WHERE expires_at IS NOT NULL;

CREATE TABLE contact_scores (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL,
    contact_id BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    model_id BIGINT NOT NULL REFERENCES score_models (id) ON DELETE CASCADE,
    total BIGINT NOT NULL,
    settled_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX contact_scores_by_contact ON contact_scores (contact_id, model_id);
CREATE INDEX contact_scores_by_model ON contact_scores (model_id, total);

CREATE VIEW reacting_accounts (account_id) AS
    SELECT account_id FROM segments
    UNION ALL SELECT account_id FROM score_rules WHERE deleted_at IS NULL;

ALTER TABLE segment_checks ADD COLUMN since_at BIGINT;

CREATE OR REPLACE FUNCTION mark_segment_check(account BIGINT, contact BIGINT, why BIGINT)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF contact IS NOT NULL
        AND EXISTS (SELECT 1 FROM reacting_accounts WHERE account_id = account) THEN
        INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
        VALUES (contact, account, why, 0)
        ON CONFLICT (contact_id) DO UPDATE
        SET reasons = segment_checks.reasons | EXCLUDED.reasons,
            version = segment_checks.version + 1, due_at = 0;
    END IF;
END;
$$;

-- A timeline row given to a contact later (a visitor identified).
CREATE OR REPLACE FUNCTION events_check_segments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM reacting_accounts WHERE account_id = NEW.account_id) THEN
        INSERT INTO segment_checks (contact_id, account_id, reasons, due_at, since_at)
        VALUES (NEW.contact_id, NEW.account_id,
            COALESCE((SELECT reasons FROM timeline_reasons WHERE kind = NEW.kind), 1023), 0,
            NEW.occurred_at)
        ON CONFLICT (contact_id) DO UPDATE
        SET reasons = segment_checks.reasons | EXCLUDED.reasons,
            version = segment_checks.version + 1, due_at = 0,
            since_at = LEAST(segment_checks.since_at, EXCLUDED.since_at);
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION events_added_check_segments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at, since_at)
    SELECT a.contact_id, min(a.account_id), bit_or(COALESCE(r.reasons, 1023)), 0,
        min(a.occurred_at)
    FROM added a LEFT JOIN timeline_reasons r ON r.kind = a.kind
    WHERE a.contact_id IS NOT NULL AND a.kind <> 'score'
        AND EXISTS (SELECT 1 FROM reacting_accounts s WHERE s.account_id = a.account_id)
    GROUP BY a.contact_id
    ORDER BY a.contact_id
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = segment_checks.reasons | EXCLUDED.reasons,
        version = segment_checks.version + 1, due_at = 0,
        since_at = LEAST(segment_checks.since_at, EXCLUDED.since_at);
    RETURN NULL;
END;
$$;
