-- A campaign may target a saved segment alone, without a list (list_id NULL): it sends to the
-- segment's members who are subscribed to at least one list, and its unsubscribe link and its
-- bounces apply to every list the contact is subscribed to.

ALTER TABLE campaigns ALTER COLUMN list_id DROP NOT NULL;
