-- Runs: a contact's way through an automation (AC's contactAutomation). A run is a row, never a
-- task or a timer in memory: the worker takes the runs that are due (due_at) under a lease
-- (lease_until, with an epoch that each claim moves on, so that a stale worker's commit is
-- refused), walks each from its step, and commits the walk's effects with the run's new place
-- in one transaction.
--
-- status: 1 in progress, 2 completed (past the last step), 3 ended early (an end step, or
-- removed). step is the step the run is at, or the last one it passed once it left; since_at
-- is when it arrived there (waits count from it, across edits of the definition). cause names
-- what entered it: a contact enters an automation once per cause, and never while already
-- inside it.
--
-- steps_done counts the steps passed, of the steps_total its version has (AC's
-- completedElements and totalElements).
--
-- automation_step_counts: how many runs passed each step (64-bit).
-- automations.completed: how many runs completed (exited counts them with those ended early).
CREATE TABLE automation_runs (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    automation_id BIGINT NOT NULL REFERENCES automations (id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    contact_id BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    cause TEXT NOT NULL,
    status BIGINT NOT NULL,
    step TEXT NOT NULL,
    since_at BIGINT NOT NULL,
    due_at BIGINT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    epoch BIGINT NOT NULL DEFAULT 0,
    steps_done BIGINT NOT NULL DEFAULT 0,
    steps_total BIGINT NOT NULL,
    entered_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    ended_at BIGINT,
    last_error TEXT
);
CREATE UNIQUE INDEX automation_runs_by_cause ON automation_runs (automation_id, contact_id, cause);
CREATE UNIQUE INDEX automation_runs_inside ON automation_runs (automation_id, contact_id)
    WHERE status = 1;
CREATE INDEX automation_runs_due ON automation_runs (due_at) WHERE status = 1;
CREATE INDEX automation_runs_by_account ON automation_runs (account_id, id);
CREATE INDEX automation_runs_by_contact ON automation_runs (contact_id);

CREATE TABLE automation_step_counts (
    automation_id BIGINT NOT NULL REFERENCES automations (id) ON DELETE CASCADE,
    step TEXT NOT NULL,
    passed BIGINT NOT NULL,
    PRIMARY KEY (automation_id, step)
);

ALTER TABLE automations ADD COLUMN completed BIGINT NOT NULL DEFAULT 0;
