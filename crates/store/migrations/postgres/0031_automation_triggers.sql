-- The triggers of active automations that a change names (a tag put on or taken off, a list
-- subscribed or unsubscribed, a segment entered or left), indexed by kind and target, so that a
-- change costs one indexed lookup whatever the number of automations. kind is the change's
-- webhook event name; target the tag, list or segment. Rows are written with the automation's
-- definition and status, for active automations only.
CREATE TABLE automation_triggers (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    target BIGINT NOT NULL,
    automation_id BIGINT NOT NULL REFERENCES automations (id) ON DELETE CASCADE,
    PRIMARY KEY (account_id, kind, target, automation_id)
);
CREATE INDEX automation_triggers_by_automation ON automation_triggers (automation_id);
