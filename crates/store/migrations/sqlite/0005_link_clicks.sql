-- Per-link statistics: every click on a campaign's link (and every open of it, position -1),
-- with the scanner's verdict, so that unique counts can leave machines out.

CREATE TABLE link_clicks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    machine TEXT,
    clicked_at INTEGER NOT NULL
);
CREATE INDEX link_clicks_by_campaign ON link_clicks (campaign_id, position, contact_id);
