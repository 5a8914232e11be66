-- Automation emails. Each sendEmail or notify step sends through a campaign of its own, one per
-- (automation, step, message, digest of the message's tracked links): its links are recorded
-- from the message as it was, so an edit of the message's links makes a new campaign and never
-- breaks the links already sent. Such a campaign stays sending (status 2) and is never completed. Its
-- automation_id keeps no foreign key: the statistics outlive the automation.
--
-- A send of an automation names its run and the claim's epoch (visit: one move per epoch, and
-- a move passes a step once), so a contact gets the same step's email once per visit, however
-- often it goes through; campaign sends keep run_id = visit = 0. A notify send goes to
-- to_address, about its contact.
ALTER TABLE campaigns ADD COLUMN automation_id BIGINT;
ALTER TABLE campaigns ADD COLUMN automation_step TEXT;
ALTER TABLE campaigns ADD COLUMN links_digest BIGINT;
CREATE UNIQUE INDEX campaigns_of_automation_steps
    ON campaigns (automation_id, automation_step, message_id, links_digest)
    WHERE automation_id IS NOT NULL;

ALTER TABLE sends ADD COLUMN run_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sends ADD COLUMN visit BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sends ADD COLUMN to_address TEXT;
ALTER TABLE sends DROP CONSTRAINT sends_campaign_id_contact_id_key;
ALTER TABLE sends ADD CONSTRAINT sends_once_per_visit UNIQUE (campaign_id, contact_id, run_id, visit);
