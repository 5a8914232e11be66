-- Campaigns a marketer controls: a start date (AC's sdate, scheduled or actual), a finish date
-- (ldate), the statuses scheduled (1) and stopped (4), and sends dropped by a stop (status 5).
-- The account's unsubscribe footer, for messages without %UNSUBSCRIBELINK%.

ALTER TABLE campaigns ADD COLUMN scheduled_at INTEGER;
ALTER TABLE campaigns ADD COLUMN started_at INTEGER;
ALTER TABLE campaigns ADD COLUMN finished_at INTEGER;

UPDATE campaigns SET started_at =
    (SELECT MIN(s.created_at) FROM sends s WHERE s.campaign_id = campaigns.id)
    WHERE status <> 0;
UPDATE campaigns SET finished_at = updated_at WHERE status = 5;

CREATE INDEX campaigns_scheduled ON campaigns (scheduled_at) WHERE status = 1;

ALTER TABLE email_settings ADD COLUMN unsubscribe_footer TEXT;
