-- Automation emails. Each sendEmail or notify step sends through a campaign of its own, one per
-- (automation, step, message, digest of the message's tracked links): its links are recorded
-- from the message as it was, so an edit of the message's links makes a new campaign and never
-- breaks the links already sent. Such a campaign stays sending (status 2) and is never completed. Its
-- automation_id keeps no foreign key: the statistics outlive the automation.
--
-- A send of an automation names its run and the claim's epoch (visit: one move per epoch, and
-- a move passes a step once), so a contact gets the same step's email once per visit, however
-- often it goes through; campaign sends keep run_id = visit = 0. A notify send goes to
-- to_address, about its contact. SQLite cannot change a unique constraint, so sends is rebuilt
-- (no table refers to it), with its trigger.
ALTER TABLE campaigns ADD COLUMN automation_id INTEGER;
ALTER TABLE campaigns ADD COLUMN automation_step TEXT;
ALTER TABLE campaigns ADD COLUMN links_digest INTEGER;
CREATE UNIQUE INDEX campaigns_of_automation_steps
    ON campaigns (automation_id, automation_step, message_id, links_digest)
    WHERE automation_id IS NOT NULL;

CREATE TABLE sends_per_visit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL,
    status INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    sent_at INTEGER,
    created_at INTEGER NOT NULL,
    run_id INTEGER NOT NULL DEFAULT 0,
    visit INTEGER NOT NULL DEFAULT 0,
    to_address TEXT,
    UNIQUE (campaign_id, contact_id, run_id, visit)
);
INSERT INTO sends_per_visit (id, account_id, campaign_id, contact_id, status, attempts,
    next_attempt_at, last_error, sent_at, created_at)
SELECT id, account_id, campaign_id, contact_id, status, attempts, next_attempt_at, last_error,
    sent_at, created_at FROM sends;
-- Ids are never reused: the new table's sequence goes on from the old one's.
DELETE FROM sqlite_sequence WHERE name = 'sends_per_visit';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'sends_per_visit', seq FROM sqlite_sequence WHERE name = 'sends';
DROP TABLE sends;
ALTER TABLE sends_per_visit RENAME TO sends;
CREATE INDEX sends_due ON sends (status, next_attempt_at);

CREATE TRIGGER sends_sent_checks_segments AFTER UPDATE OF status ON sends
WHEN NEW.status = 2 AND EXISTS (SELECT 1 FROM reacting_accounts WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.contact_id, NEW.account_id, 32, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;
