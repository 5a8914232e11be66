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
-- The triggers that queue contacts for the membership worker now fire in accounts that have a
-- segment or a scoring rule (reacting_accounts), and note since_at: the earliest time of the
-- timeline rows added since the contact was last checked, from which rules over single
-- behaviors look for new rows. A score change is a timeline row of kind 'score'; it queues no
-- check (the store queues the contacts whose scores changed in accounts with a segment that
-- reads scores, 128, in the same transaction).

CREATE TABLE score_models (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX score_models_by_account ON score_models (account_id, id);

CREATE TABLE score_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    model_id INTEGER NOT NULL REFERENCES score_models (id) ON DELETE CASCADE,
    definition TEXT NOT NULL,
    points INTEGER NOT NULL,
    expiry_days INTEGER,
    once INTEGER NOT NULL DEFAULT 0,
    cap_points INTEGER,
    cap_days INTEGER,
    revision INTEGER NOT NULL DEFAULT 1,
    counted_revision INTEGER NOT NULL DEFAULT 0,
    progress_done INTEGER NOT NULL DEFAULT 0,
    progress_total INTEGER NOT NULL DEFAULT 0,
    deleted_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX score_rules_by_model ON score_rules (model_id, id);
CREATE INDEX score_rules_by_account ON score_rules (account_id) WHERE deleted_at IS NULL;
CREATE INDEX score_rules_to_count ON score_rules (id) WHERE counted_revision < revision;

CREATE TABLE score_awards (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL,
    model_id INTEGER NOT NULL,
    rule_id INTEGER,
    revision INTEGER NOT NULL DEFAULT 0,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    cause INTEGER NOT NULL,
    event_id INTEGER,
    points INTEGER NOT NULL,
    reason TEXT,
    awarded_at INTEGER NOT NULL,
    expires_at INTEGER,
    recorded_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX score_awards_once ON score_awards (contact_id, rule_id, revision, cause);
CREATE INDEX score_awards_expiring ON score_awards (contact_id, expires_at)
    WHERE expires_at IS NOT NULL;

CREATE TABLE contact_scores (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    model_id INTEGER NOT NULL REFERENCES score_models (id) ON DELETE CASCADE,
    total INTEGER NOT NULL,
    settled_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX contact_scores_by_contact ON contact_scores (contact_id, model_id);
CREATE INDEX contact_scores_by_model ON contact_scores (model_id, total);

CREATE VIEW reacting_accounts (account_id) AS
    SELECT account_id FROM segments
    UNION ALL SELECT account_id FROM score_rules WHERE deleted_at IS NULL;

ALTER TABLE segment_checks ADD COLUMN since_at INTEGER;

DROP TRIGGER contacts_update_checks_segments;
DROP TRIGGER contact_tags_insert_checks_segments;
DROP TRIGGER contact_tags_delete_checks_segments;
DROP TRIGGER contact_lists_insert_checks_segments;
DROP TRIGGER contact_lists_update_checks_segments;
DROP TRIGGER contact_lists_delete_checks_segments;
DROP TRIGGER field_values_insert_checks_segments;
DROP TRIGGER field_values_update_checks_segments;
DROP TRIGGER field_values_delete_checks_segments;
DROP TRIGGER sends_sent_checks_segments;
DROP TRIGGER events_insert_checks_segments;
DROP TRIGGER events_update_checks_segments;
DROP TRIGGER contacts_insert_checks_segments;

CREATE TRIGGER contacts_update_checks_segments AFTER UPDATE ON contacts
WHEN EXISTS (SELECT 1 FROM reacting_accounts WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.id, NEW.account_id, 1, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

CREATE TRIGGER contact_tags_insert_checks_segments AFTER INSERT ON contact_tags
WHEN EXISTS (SELECT 1 FROM reacting_accounts WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.contact_id, NEW.account_id, 2, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

CREATE TRIGGER contact_tags_delete_checks_segments AFTER DELETE ON contact_tags
WHEN EXISTS (SELECT 1 FROM reacting_accounts WHERE account_id = OLD.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (OLD.contact_id, OLD.account_id, 2, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

CREATE TRIGGER contact_lists_insert_checks_segments AFTER INSERT ON contact_lists
WHEN EXISTS (SELECT 1 FROM reacting_accounts WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.contact_id, NEW.account_id, 4, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

CREATE TRIGGER contact_lists_update_checks_segments AFTER UPDATE ON contact_lists
WHEN EXISTS (SELECT 1 FROM reacting_accounts WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.contact_id, NEW.account_id, 4, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

CREATE TRIGGER contact_lists_delete_checks_segments AFTER DELETE ON contact_lists
WHEN EXISTS (SELECT 1 FROM reacting_accounts WHERE account_id = OLD.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (OLD.contact_id, OLD.account_id, 4, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

CREATE TRIGGER field_values_insert_checks_segments AFTER INSERT ON field_values
WHEN EXISTS (SELECT 1 FROM reacting_accounts WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.contact_id, NEW.account_id, 8, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

CREATE TRIGGER field_values_update_checks_segments AFTER UPDATE ON field_values
WHEN EXISTS (SELECT 1 FROM reacting_accounts WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.contact_id, NEW.account_id, 8, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

CREATE TRIGGER field_values_delete_checks_segments AFTER DELETE ON field_values
WHEN EXISTS (SELECT 1 FROM reacting_accounts WHERE account_id = OLD.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (OLD.contact_id, OLD.account_id, 8, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

CREATE TRIGGER sends_sent_checks_segments AFTER UPDATE OF status ON sends
WHEN NEW.status = 2 AND EXISTS (SELECT 1 FROM reacting_accounts WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.contact_id, NEW.account_id, 32, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

CREATE TRIGGER events_insert_checks_segments AFTER INSERT ON events
WHEN NEW.contact_id IS NOT NULL AND NEW.kind <> 'score'
    AND EXISTS (SELECT 1 FROM reacting_accounts WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at, since_at)
    VALUES (NEW.contact_id, NEW.account_id,
        COALESCE((SELECT reasons FROM timeline_reasons WHERE kind = NEW.kind), 1023), 0,
        NEW.occurred_at)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0,
        since_at = MIN(COALESCE(since_at, excluded.since_at), excluded.since_at);
END;

CREATE TRIGGER events_update_checks_segments AFTER UPDATE OF contact_id ON events
WHEN NEW.contact_id IS NOT NULL AND NEW.kind <> 'score'
    AND EXISTS (SELECT 1 FROM reacting_accounts WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at, since_at)
    VALUES (NEW.contact_id, NEW.account_id,
        COALESCE((SELECT reasons FROM timeline_reasons WHERE kind = NEW.kind), 1023), 0,
        NEW.occurred_at)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0,
        since_at = MIN(COALESCE(since_at, excluded.since_at), excluded.since_at);
END;

CREATE TRIGGER contacts_insert_checks_segments AFTER INSERT ON contacts
WHEN EXISTS (SELECT 1 FROM reacting_accounts WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.id, NEW.account_id, 1023, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;
