-- Link actions: what a person's click on a campaign's link does to the contact, keyed by the
-- link's destination so that they can be set before the campaign is sent.

CREATE TABLE link_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    action TEXT NOT NULL,
    target_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX link_actions_by_link ON link_actions (campaign_id, url);
