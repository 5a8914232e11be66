-- Named keys: several API and event keys per account, each with its own name, last use and
-- revocation. A key that manages keys may create, list and revoke its account's keys through the
-- API; the API keys that exist before this migration are their accounts' owners' keys, so they do.

ALTER TABLE account_keys ADD COLUMN name TEXT NOT NULL DEFAULT 'default';
ALTER TABLE account_keys ADD COLUMN manages_keys INTEGER NOT NULL DEFAULT 0;
ALTER TABLE account_keys ADD COLUMN last_used_at INTEGER;

UPDATE account_keys SET manages_keys = 1 WHERE kind = 'api';

CREATE INDEX account_keys_by_account ON account_keys (account_id, id);
