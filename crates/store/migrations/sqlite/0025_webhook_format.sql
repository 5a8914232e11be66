-- How a subscription's delivery bodies are encoded: 'form' (ActiveCampaign's form encoding with
-- bracketed keys) or 'json' (the same keys nested in a JSON object).
ALTER TABLE webhooks ADD COLUMN format TEXT NOT NULL DEFAULT 'form';
