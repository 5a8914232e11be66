-- Lets a campaign target a saved segment alone, without a list (list_id NULL): it sends to the
-- segment's members who are subscribed to at least one list, and its unsubscribe link and its
-- bounces apply to every list the contact is subscribed to. PostgreSQL's migration 0019 drops
-- the NOT NULL; SQLite cannot, so the table is rebuilt (see `rebuilds.rs`): a new table, the
-- rows copied, the old table dropped (foreign keys off: its sends and clicks stay), the new one
-- renamed, its indexes made again (the columns added since included). The AUTOINCREMENT sequence is carried over, so that a deleted
-- campaign's id (named in mail already sent) is never given again.

CREATE TABLE campaigns_rebuilt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    message_id INTEGER NOT NULL REFERENCES messages (id),
    list_id INTEGER REFERENCES lists (id),
    track_links INTEGER NOT NULL DEFAULT 1,
    status INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    paused_reason TEXT,
    segment_id INTEGER,
    automation_id INTEGER,
    automation_step TEXT,
    links_digest INTEGER,
    scheduled_at INTEGER,
    started_at INTEGER,
    finished_at INTEGER
);

INSERT INTO campaigns_rebuilt (id, account_id, name, message_id, list_id, track_links, status,
    created_at, updated_at, failures, last_error, paused_reason, segment_id, automation_id,
    automation_step, links_digest, scheduled_at, started_at, finished_at)
SELECT id, account_id, name, message_id, list_id, track_links, status,
    created_at, updated_at, failures, last_error, paused_reason, segment_id, automation_id,
    automation_step, links_digest, scheduled_at, started_at, finished_at
FROM campaigns;

DELETE FROM sqlite_sequence WHERE name = 'campaigns_rebuilt';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'campaigns_rebuilt', seq FROM sqlite_sequence WHERE name = 'campaigns';

DROP TABLE campaigns;
ALTER TABLE campaigns_rebuilt RENAME TO campaigns;
CREATE INDEX campaigns_by_account ON campaigns (account_id, id);
CREATE UNIQUE INDEX campaigns_of_automation_steps
    ON campaigns (automation_id, automation_step, message_id, links_digest)
    WHERE automation_id IS NOT NULL;
CREATE INDEX campaigns_scheduled ON campaigns (scheduled_at) WHERE status = 1;
