-- A custom field's value read as a number and as an instant, as segments' number and date
-- tests read it (core's segment::evaluate::{field_number, field_instant}): written by the
-- store with the value, so that the set evaluator compares typed columns. Values written
-- before this are typed at start (Store::type_field_values) while typed = 0.

ALTER TABLE field_values ADD COLUMN number REAL;
ALTER TABLE field_values ADD COLUMN instant INTEGER;
ALTER TABLE field_values ADD COLUMN typed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX field_values_untyped ON field_values (id) WHERE typed = 0;
