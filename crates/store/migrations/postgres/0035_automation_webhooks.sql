-- Deliveries of automations' webhook steps name their run, the claim's epoch (visit) and the
-- step, so that a visit of a step delivers once (the row is written in the move's transaction;
-- the key guards it). Deliveries of changes leave them NULL.
ALTER TABLE webhook_deliveries ADD COLUMN run_id BIGINT;
ALTER TABLE webhook_deliveries ADD COLUMN visit BIGINT;
ALTER TABLE webhook_deliveries ADD COLUMN step TEXT;
CREATE UNIQUE INDEX webhook_deliveries_once_per_visit ON webhook_deliveries (run_id, visit, step)
    WHERE run_id IS NOT NULL;
