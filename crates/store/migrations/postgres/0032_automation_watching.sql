-- Runs that wait on their contact's changes (at a waitFor or a goal step, or with a goal ahead:
-- watching) are woken by the membership round that checks the contact after a change, with no
-- polling: the runner then asks their conditions again. Accounts with an automation whose
-- definition holds such a step (automations.watches) queue checks (reacting_accounts) even
-- without a segment.
ALTER TABLE automation_runs ADD COLUMN watching BIGINT NOT NULL DEFAULT 0;
CREATE INDEX automation_runs_watching ON automation_runs (contact_id)
    WHERE status = 1 AND watching = 1;
ALTER TABLE automations ADD COLUMN watches BIGINT NOT NULL DEFAULT 0;

CREATE OR REPLACE VIEW reacting_accounts (account_id) AS
    SELECT account_id FROM segments
    UNION ALL SELECT account_id FROM row_reading_accounts
    UNION ALL SELECT account_id FROM automations WHERE watches = 1;
