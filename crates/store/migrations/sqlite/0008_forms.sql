-- Forms: their fields (one API spelling a line), the list a submission subscribes to, the tags it
-- adds, and where the visitor is thanked. Deleting the list or a tag takes it off the form.

CREATE TABLE forms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    fields TEXT NOT NULL,
    list_id INTEGER REFERENCES lists (id) ON DELETE SET NULL,
    thank_you_url TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX forms_by_account ON forms (account_id, id);

CREATE TABLE form_tags (
    form_id INTEGER NOT NULL REFERENCES forms (id) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    PRIMARY KEY (form_id, tag_id)
);
