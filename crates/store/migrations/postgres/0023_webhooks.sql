-- Webhook subscriptions (ActiveCampaign's /webhooks). events and sources hold names from closed
-- sets (tracklane_core::webhook::event), comma-separated. list_id names the one list whose list
-- events the subscription hears of (NULL: every list); it has no foreign key, so that deleting
-- the list leaves a subscription that hears of no list rather than of every list. secret is the
-- Standard Webhooks signing secret, kept as given (deliveries sign with it); the API shows it
-- only when it is made or rotated. disabled_at is set when the receiver answers 410 Gone.

CREATE TABLE webhooks (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    sources TEXT NOT NULL,
    list_id BIGINT,
    secret TEXT NOT NULL,
    disabled_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX webhooks_by_account ON webhooks (account_id, id);
