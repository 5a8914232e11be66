-- What webhooks report, and their deliveries.
--
-- webhook_changes: a change that subscriptions hear of (its type and source, the list it is of,
-- the contact it is about, what else its payload says as JSON), written in the transaction of
-- the change itself when a subscription of the account hears of its type. The webhook worker
-- turns each into one delivery per subscription that hears of it, and deletes it, in one
-- transaction.
--
-- webhook_deliveries: one change for one subscription, its body rendered once (every attempt
-- sends the same bytes under the same webhook-id). status: pending, delivered, failed (for
-- good: another 4xx, a redirect, a receiver that may not be reached, a day of retries), gone
-- (the receiver answered 410 and the subscription was disabled). next_attempt_at is when a
-- pending one is due; a worker that takes it for an attempt moves it to the end of its lease,
-- so that a worker that dies mid-attempt leaves it to another once the lease is over. Deleting
-- a subscription deletes its deliveries.

CREATE TABLE webhook_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    source TEXT NOT NULL,
    list_id INTEGER,
    contact_id INTEGER,
    data TEXT NOT NULL,
    occurred_at INTEGER NOT NULL
);

CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL,
    webhook_id INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    content_type TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    first_attempt_at INTEGER,
    last_attempt_at INTEGER,
    last_status INTEGER,
    last_detail TEXT,
    created_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_due_by_webhook ON webhook_deliveries (webhook_id, next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at)
    WHERE finished_at IS NOT NULL;
