-- Per-contact activity counters, so that the set evaluator (counts, previews, computing a
-- segment) reads the contacts a condition names instead of every contact's timeline.
--
-- terms: a dictionary of the texts conditions test, each once per account and kind:
--   1 a visited page's URL (with its domain), 2 a referrer's URL (with its domain), 3 a device,
--   4 a custom event's name, 5 a clicked link's URL.
-- A test such as "URL contains /blog" is run once per distinct URL, not once per visit.
--
-- activity: one row per (account, kind, key, contact), clustered in that order: how many
-- timeline rows the contact has of that kind and key, and the times of its 4 most recent
-- (t1 the latest; -9223372036854775808 for an empty slot). Kinds and their keys:
--   1 page visits by page term, 2 page visits by referrer term, 3 page visits by device term,
--   4 every page visit (key 0), 5 site visits (page visits that start a visit; key 0),
--   6 custom events by name term, 7 people's opens by campaign, 8 people's clicks by campaign
--   (key 0 when none), 9 people's clicks by link term, 10 form submissions by form (0: none).
-- "At least n (n <= 4) in the last N days" reads the slots; other windows and counts, and
-- tests of an event's data, read the timeline (see the store's segments::compile).
--
-- Kept by the triggers below on every timeline row given to a contact (recorded with one, or
-- adopted from its anonymous visitor); a contact's rows go with it. Measured at 1,000,000
-- contacts and 20,000,000 timeline rows: 16.4M activity rows, 893 MiB, and 208 MiB for the
-- index by contact (the timeline itself is 2.3 GiB, and 1.1 GiB of indexes).

CREATE TABLE terms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind INTEGER NOT NULL,
    text TEXT NOT NULL,
    domain TEXT,
    UNIQUE (account_id, kind, text)
);

CREATE TABLE activity (
    account_id INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    key INTEGER NOT NULL,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    count INTEGER NOT NULL,
    t1 INTEGER NOT NULL,
    t2 INTEGER NOT NULL,
    t3 INTEGER NOT NULL,
    t4 INTEGER NOT NULL,
    PRIMARY KEY (account_id, kind, key, contact_id)
) WITHOUT ROWID;
CREATE INDEX activity_by_contact ON activity (contact_id);

-- Inserting (account_id, kind, key, contact_id, at) here counts one row.
CREATE VIEW activity_counted AS
SELECT account_id, kind, key, contact_id, t1 AS at FROM activity;
CREATE TRIGGER activity_counted_insert INSTEAD OF INSERT ON activity_counted
BEGIN
    INSERT INTO activity (account_id, kind, key, contact_id, count, t1, t2, t3, t4)
    VALUES (NEW.account_id, NEW.kind, NEW.key, NEW.contact_id, 1, NEW.at,
        -9223372036854775808, -9223372036854775808, -9223372036854775808)
    ON CONFLICT (account_id, kind, key, contact_id) DO UPDATE SET
        count = count + 1,
        t1 = CASE WHEN excluded.t1 >= t1 THEN excluded.t1 ELSE t1 END,
        t2 = CASE WHEN excluded.t1 >= t1 THEN t1 WHEN excluded.t1 >= t2 THEN excluded.t1 ELSE t2 END,
        t3 = CASE WHEN excluded.t1 >= t2 THEN t2 WHEN excluded.t1 >= t3 THEN excluded.t1 ELSE t3 END,
        t4 = CASE WHEN excluded.t1 >= t3 THEN t3 WHEN excluded.t1 >= t4 THEN excluded.t1 ELSE t4 END;
END;

-- Inserting (account_id, kind, text, domain) here adds the term when it is new.
CREATE VIEW terms_seen AS SELECT account_id, kind, text, domain FROM terms;
CREATE TRIGGER terms_seen_insert INSTEAD OF INSERT ON terms_seen
WHEN NOT EXISTS (SELECT 1 FROM terms
    WHERE account_id = NEW.account_id AND kind = NEW.kind AND text = NEW.text)
BEGIN
    INSERT INTO terms (account_id, kind, text, domain)
    VALUES (NEW.account_id, NEW.kind, NEW.text, NEW.domain);
END;

-- Counts one timeline row of NEW (the same body for a new row and an adopted one); a row is
-- counted by inserting its own view row here (the id is not read).
CREATE VIEW events_to_count AS
SELECT id, account_id, kind, contact_id, url, domain, referrer, referrer_domain, device, name,
    starts_visit, campaign_id, form_id, by_machine, occurred_at FROM events;
CREATE TRIGGER events_to_count_insert INSTEAD OF INSERT ON events_to_count
BEGIN
    INSERT INTO terms_seen (account_id, kind, text, domain)
    SELECT NEW.account_id, 1, COALESCE(NEW.url, ''), COALESCE(NEW.domain, '')
    WHERE NEW.kind = 'page_visit'
    UNION ALL SELECT NEW.account_id, 2, NEW.referrer, NEW.referrer_domain
    WHERE NEW.kind = 'page_visit' AND NEW.referrer IS NOT NULL
    UNION ALL SELECT NEW.account_id, 3, NEW.device, NULL
    WHERE NEW.kind = 'page_visit' AND NEW.device IS NOT NULL
    UNION ALL SELECT NEW.account_id, 4, NEW.name, NULL WHERE NEW.kind = 'event'
    UNION ALL SELECT NEW.account_id, 5, NEW.url, NULL
    WHERE NEW.kind = 'click' AND NEW.by_machine = 0 AND NEW.url IS NOT NULL;
    INSERT INTO activity_counted (account_id, kind, key, contact_id, at)
    SELECT NEW.account_id, 1, (SELECT id FROM terms WHERE account_id = NEW.account_id
        AND kind = 1 AND text = COALESCE(NEW.url, '')), NEW.contact_id, NEW.occurred_at
    WHERE NEW.kind = 'page_visit'
    UNION ALL SELECT NEW.account_id, 2, (SELECT id FROM terms WHERE account_id = NEW.account_id
        AND kind = 2 AND text = NEW.referrer), NEW.contact_id, NEW.occurred_at
    WHERE NEW.kind = 'page_visit' AND NEW.referrer IS NOT NULL
    UNION ALL SELECT NEW.account_id, 3, (SELECT id FROM terms WHERE account_id = NEW.account_id
        AND kind = 3 AND text = NEW.device), NEW.contact_id, NEW.occurred_at
    WHERE NEW.kind = 'page_visit' AND NEW.device IS NOT NULL
    UNION ALL SELECT NEW.account_id, 4, 0, NEW.contact_id, NEW.occurred_at
    WHERE NEW.kind = 'page_visit'
    UNION ALL SELECT NEW.account_id, 5, 0, NEW.contact_id, NEW.occurred_at
    WHERE NEW.kind = 'page_visit' AND NEW.starts_visit = 1
    UNION ALL SELECT NEW.account_id, 6, (SELECT id FROM terms WHERE account_id = NEW.account_id
        AND kind = 4 AND text = NEW.name), NEW.contact_id, NEW.occurred_at
    WHERE NEW.kind = 'event'
    UNION ALL SELECT NEW.account_id, 7, COALESCE(NEW.campaign_id, 0), NEW.contact_id,
        NEW.occurred_at
    WHERE NEW.kind = 'open' AND NEW.by_machine = 0
    UNION ALL SELECT NEW.account_id, 8, COALESCE(NEW.campaign_id, 0), NEW.contact_id,
        NEW.occurred_at
    WHERE NEW.kind = 'click' AND NEW.by_machine = 0
    UNION ALL SELECT NEW.account_id, 9, (SELECT id FROM terms WHERE account_id = NEW.account_id
        AND kind = 5 AND text = NEW.url), NEW.contact_id, NEW.occurred_at
    WHERE NEW.kind = 'click' AND NEW.by_machine = 0 AND NEW.url IS NOT NULL
    UNION ALL SELECT NEW.account_id, 10, COALESCE(NEW.form_id, 0), NEW.contact_id,
        NEW.occurred_at
    WHERE NEW.kind = 'form_submit';
END;

CREATE TRIGGER events_insert_counts_activity AFTER INSERT ON events
WHEN NEW.contact_id IS NOT NULL
BEGIN
    INSERT INTO events_to_count SELECT * FROM events_to_count WHERE id = NEW.id;
END;
CREATE TRIGGER events_adopted_counts_activity AFTER UPDATE OF contact_id ON events
WHEN OLD.contact_id IS NULL AND NEW.contact_id IS NOT NULL
BEGIN
    INSERT INTO events_to_count SELECT * FROM events_to_count WHERE id = NEW.id;
END;

-- The timeline recorded so far, in the order the triggers would have counted it.
INSERT INTO events_to_count
SELECT * FROM events_to_count WHERE contact_id IS NOT NULL ORDER BY id;
