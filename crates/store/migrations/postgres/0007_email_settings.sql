-- Email settings per account: whether campaign links are tracked, and the scanner rules that
-- judge clicks and opens (JSON of tracklane_core::scanner::ScannerRules; a missing key takes
-- its default).

CREATE TABLE email_settings (
    account_id BIGINT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    track_links BIGINT NOT NULL DEFAULT 1,
    scanner_rules TEXT NOT NULL DEFAULT '{}',
    updated_at BIGINT NOT NULL
);

-- A recipient's recent clicks on a campaign, for the trap-link and "every link at once" rules.
CREATE INDEX link_clicks_by_recipient ON link_clicks (campaign_id, contact_id, clicked_at);
