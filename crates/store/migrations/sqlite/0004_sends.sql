-- Sending campaigns: the links found in a campaign's message, and one row per recipient that
-- is written before the message is handed over, so a restart resumes and nobody gets it twice.
-- Send status: 0 queued, 1 handing over, 2 sent, 3 bounced, 4 uncertain (handed over when the
-- node stopped: not sent again).

CREATE TABLE campaign_links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    url TEXT NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    UNIQUE (campaign_id, position)
);

CREATE TABLE sends (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    status INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    sent_at INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE (campaign_id, contact_id)
);
CREATE INDEX sends_due ON sends (status, next_attempt_at);
