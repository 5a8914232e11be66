-- Automations: workflows contacts enter by a trigger (or through the API) and go through step by
-- step.
--
-- automations: the name, whether triggers enter contacts (active), the current version, and the
-- counts of entries and exits (64-bit; they are kept here so that deleting a contact does not
-- rewrite an automation's history).
--
-- automation_versions: each version's definition (a JSON document of triggers and steps with
-- stable ids). Every edit of the definition adds a version; a contact goes on with the version
-- it entered, so old versions stay while an automation lives.
CREATE TABLE automations (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    active BIGINT NOT NULL,
    version BIGINT NOT NULL,
    entered BIGINT NOT NULL DEFAULT 0,
    exited BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX automations_by_account ON automations (account_id, id);

CREATE TABLE automation_versions (
    automation_id BIGINT NOT NULL REFERENCES automations (id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    definition TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (automation_id, version)
);
