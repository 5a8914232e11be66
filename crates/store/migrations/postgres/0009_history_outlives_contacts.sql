-- Campaign statistics are history: deleting a contact removes its personal data and timeline
-- but keeps the sends and the clicks and opens counted for its campaigns. Their contact_id no
-- longer references contacts (it names a contact that may be gone), and a click on a link of a
-- deleted contact is recorded without one (link_clicks.contact_id NULL).

ALTER TABLE sends DROP CONSTRAINT sends_contact_id_fkey;
ALTER TABLE link_clicks DROP CONSTRAINT link_clicks_contact_id_fkey;
ALTER TABLE link_clicks ALTER COLUMN contact_id DROP NOT NULL;
