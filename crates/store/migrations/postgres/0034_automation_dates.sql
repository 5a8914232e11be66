-- The date triggers of active automations (dateField): one row per trigger, due at its next
-- firing (its time of day, UTC), written with the automation's definition and status. The
-- runner fires a due row in one transaction: it enters the contacts whose date field holds the
-- day the firing matches (cause "date:{trigger}:{day}", so a retried firing enters nobody
-- twice) and moves the row a day on. Waiting for a date costs one row per trigger, whatever
-- the number of contacts.
CREATE TABLE automation_dates (
    automation_id BIGINT NOT NULL REFERENCES automations (id) ON DELETE CASCADE,
    trigger_index BIGINT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    field_id BIGINT NOT NULL REFERENCES fields (id) ON DELETE CASCADE,
    offset_days BIGINT NOT NULL,
    every_year BIGINT NOT NULL,
    next_at BIGINT NOT NULL,
    PRIMARY KEY (automation_id, trigger_index)
);
CREATE INDEX automation_dates_due ON automation_dates (next_at);
