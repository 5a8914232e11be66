-- Site and event tracking: per-account settings, whitelisted domains and event names, visitors,
-- and the one timeline of events. Times are microseconds since the Unix epoch (UTC).

ALTER TABLE installation ADD COLUMN token_key TEXT;

CREATE TABLE tracking_settings (
    account_id INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    site_tracking INTEGER NOT NULL DEFAULT 0,
    event_tracking INTEGER NOT NULL DEFAULT 0,
    honor_do_not_track INTEGER NOT NULL DEFAULT 0,
    create_contacts INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
);

CREATE TABLE site_domains (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    last_visit_at INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE event_names (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE visitors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    visitor_key TEXT NOT NULL,
    contact_id INTEGER REFERENCES contacts (id) ON DELETE SET NULL,
    last_page_at INTEGER,
    first_seen_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    UNIQUE (account_id, visitor_key)
);
CREATE INDEX visitors_by_contact ON visitors (contact_id);
CREATE INDEX visitors_anonymous ON visitors (last_seen_at) WHERE contact_id IS NULL;

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    contact_id INTEGER REFERENCES contacts (id) ON DELETE CASCADE,
    visitor_key TEXT,
    url TEXT,
    domain TEXT,
    path TEXT,
    referrer TEXT,
    referrer_domain TEXT,
    title TEXT,
    device TEXT,
    data TEXT,
    message_id TEXT,
    starts_visit INTEGER NOT NULL DEFAULT 0,
    occurred_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX events_by_contact ON events (account_id, contact_id, occurred_at);
CREATE INDEX events_by_visitor ON events (account_id, visitor_key) WHERE contact_id IS NULL;
CREATE INDEX events_by_time ON events (account_id, occurred_at);
CREATE INDEX events_anonymous ON events (received_at) WHERE contact_id IS NULL;
CREATE UNIQUE INDEX events_by_message_id ON events (account_id, message_id)
    WHERE message_id IS NOT NULL;
