-- Segments count a contact's timeline rows of one kind (page views, events, opens) in a
-- window: this index answers "how many page views has each contact" from the index alone, and
-- narrows URL, device and event tests to the rows of the right kind. Measured at 100,000
-- contacts and 2,000,000 rows on SQLite: "page visits >= 20" over every contact went from
-- 2.6 s to 0.11 s, "visited /pricing >= 3 times in 30 days" from 1.15 s to 0.75 s. It replaces
-- the index by (account, contact, time), so that ingest keeps the same number of indexes: a
-- contact's whole timeline, newest first, is now read from it and sorted.

CREATE INDEX events_by_contact_kind ON events (account_id, contact_id, kind, occurred_at);
DROP INDEX events_by_contact;
