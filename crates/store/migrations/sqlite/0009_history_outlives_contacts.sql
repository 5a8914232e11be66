-- Campaign statistics are history: deleting a contact removes its personal data and timeline
-- but keeps the sends and the clicks and opens counted for its campaigns. Their contact_id no
-- longer references contacts (it names a contact that may be gone), and a click on a link of a
-- deleted contact is recorded without one (link_clicks.contact_id NULL). SQLite cannot drop a
-- foreign key, so both tables are rebuilt.

CREATE TABLE sends_kept (
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
    UNIQUE (campaign_id, contact_id)
);
INSERT INTO sends_kept (id, account_id, campaign_id, contact_id, status, attempts,
    next_attempt_at, last_error, sent_at, created_at)
SELECT id, account_id, campaign_id, contact_id, status, attempts, next_attempt_at, last_error,
    sent_at, created_at FROM sends;
-- Ids are never reused: the new table's sequence goes on from the old one's.
DELETE FROM sqlite_sequence WHERE name = 'sends_kept';
INSERT INTO sqlite_sequence (name, seq) SELECT 'sends_kept', seq FROM sqlite_sequence WHERE name = 'sends';
DROP TABLE sends;
ALTER TABLE sends_kept RENAME TO sends;
CREATE INDEX sends_due ON sends (status, next_attempt_at);

CREATE TABLE link_clicks_kept (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    contact_id INTEGER,
    machine TEXT,
    clicked_at INTEGER NOT NULL
);
INSERT INTO link_clicks_kept (id, account_id, campaign_id, position, contact_id, machine,
    clicked_at)
SELECT id, account_id, campaign_id, position, contact_id, machine, clicked_at FROM link_clicks;
-- Ids are never reused: the new table's sequence goes on from the old one's.
DELETE FROM sqlite_sequence WHERE name = 'link_clicks_kept';
INSERT INTO sqlite_sequence (name, seq) SELECT 'link_clicks_kept', seq FROM sqlite_sequence WHERE name = 'link_clicks';
DROP TABLE link_clicks;
ALTER TABLE link_clicks_kept RENAME TO link_clicks;
CREATE INDEX link_clicks_by_campaign ON link_clicks (campaign_id, position, contact_id);
CREATE INDEX link_clicks_by_recipient ON link_clicks (campaign_id, contact_id, clicked_at);
