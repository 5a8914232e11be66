-- A campaign whose deliveries keep failing for reasons that are not the recipients' (the
-- connection, the sender's settings, the message, the mail server) is paused (status 3) rather
-- than bouncing its list: failures counts those failures in a row, last_error keeps the server's
-- last such answer and paused_reason says why the campaign was paused.

ALTER TABLE campaigns ADD COLUMN failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN last_error TEXT;
ALTER TABLE campaigns ADD COLUMN paused_reason TEXT;
