-- Saved segments and their live members.
--
-- segments: a definition (JSON, the format of core's segment module) and its stored answer.
-- Every edit bumps revision; the membership worker recomputes the members in the background and
-- then sets computed_revision, so the old members stay readable until the new ones are ready.
-- member_count is kept by the triggers on segment_members, so a count is one row read.
--
-- segment_transitions: every entering (entered = 1) and leaving (0) with its time, for the
-- contact's timeline and for what reacts to them (automations).
--
-- segment_checks: the durable queue of contacts whose answers may have changed. The triggers
-- below add a contact in the same transaction as the change (only in accounts that have a
-- segment); reasons says what kind of change, as bits (core's segment::Reads):
--   1 the contact row, 2 tags, 4 lists, 8 custom fields, 16 the timeline (visits, events),
--   64 a time window moved (a wake-up; due_at is then when); a new contact is 511 (every kind).
-- A row is taken by contact, not by a cursor over ids, so a change that commits late is never
-- skipped; version tells the worker whether the row changed while it was evaluating.

CREATE TABLE segments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1,
    computed_revision INTEGER NOT NULL DEFAULT 0,
    member_count INTEGER NOT NULL DEFAULT 0,
    computed_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX segments_by_account ON segments (account_id, id);
CREATE INDEX segments_to_compute ON segments (id) WHERE computed_revision < revision;

CREATE TABLE segment_members (
    segment_id INTEGER NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    entered_at INTEGER NOT NULL,
    PRIMARY KEY (segment_id, contact_id)
);
CREATE INDEX segment_members_by_contact ON segment_members (contact_id);

CREATE TABLE segment_transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    segment_id INTEGER NOT NULL,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    entered INTEGER NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX segment_transitions_by_contact ON segment_transitions (contact_id, at);
CREATE INDEX segment_transitions_by_segment ON segment_transitions (segment_id, at);

CREATE TABLE segment_checks (
    contact_id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    reasons INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    due_at INTEGER NOT NULL
);
CREATE INDEX segment_checks_due ON segment_checks (due_at);

CREATE TRIGGER segment_members_counted AFTER INSERT ON segment_members
BEGIN
    UPDATE segments SET member_count = member_count + 1 WHERE id = NEW.segment_id;
END;
CREATE TRIGGER segment_members_uncounted AFTER DELETE ON segment_members
BEGIN
    UPDATE segments SET member_count = member_count - 1 WHERE id = OLD.segment_id;
END;

CREATE TRIGGER contacts_insert_checks_segments AFTER INSERT ON contacts
WHEN EXISTS (SELECT 1 FROM segments WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.id, NEW.account_id, 511, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

CREATE TRIGGER contacts_update_checks_segments AFTER UPDATE ON contacts
WHEN EXISTS (SELECT 1 FROM segments WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.id, NEW.account_id, 1, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

CREATE TRIGGER contact_tags_insert_checks_segments AFTER INSERT ON contact_tags
WHEN EXISTS (SELECT 1 FROM segments WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.contact_id, NEW.account_id, 2, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

CREATE TRIGGER contact_tags_delete_checks_segments AFTER DELETE ON contact_tags
WHEN EXISTS (SELECT 1 FROM segments WHERE account_id = OLD.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (OLD.contact_id, OLD.account_id, 2, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

CREATE TRIGGER contact_lists_insert_checks_segments AFTER INSERT ON contact_lists
WHEN EXISTS (SELECT 1 FROM segments WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.contact_id, NEW.account_id, 4, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

CREATE TRIGGER contact_lists_update_checks_segments AFTER UPDATE ON contact_lists
WHEN EXISTS (SELECT 1 FROM segments WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.contact_id, NEW.account_id, 4, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

CREATE TRIGGER contact_lists_delete_checks_segments AFTER DELETE ON contact_lists
WHEN EXISTS (SELECT 1 FROM segments WHERE account_id = OLD.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (OLD.contact_id, OLD.account_id, 4, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

CREATE TRIGGER field_values_insert_checks_segments AFTER INSERT ON field_values
WHEN EXISTS (SELECT 1 FROM segments WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.contact_id, NEW.account_id, 8, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

CREATE TRIGGER field_values_update_checks_segments AFTER UPDATE ON field_values
WHEN EXISTS (SELECT 1 FROM segments WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.contact_id, NEW.account_id, 8, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

CREATE TRIGGER field_values_delete_checks_segments AFTER DELETE ON field_values
WHEN EXISTS (SELECT 1 FROM segments WHERE account_id = OLD.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (OLD.contact_id, OLD.account_id, 8, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

CREATE TRIGGER events_insert_checks_segments AFTER INSERT ON events
WHEN NEW.contact_id IS NOT NULL AND EXISTS (SELECT 1 FROM segments WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.contact_id, NEW.account_id, 16, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;

CREATE TRIGGER events_update_checks_segments AFTER UPDATE OF contact_id ON events
WHEN NEW.contact_id IS NOT NULL AND EXISTS (SELECT 1 FROM segments WHERE account_id = NEW.account_id)
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    VALUES (NEW.contact_id, NEW.account_id, 16, 0)
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = reasons | excluded.reasons, version = version + 1, due_at = 0;
END;
