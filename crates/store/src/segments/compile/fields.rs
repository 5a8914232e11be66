//! Contact field conditions: standard fields' columns, custom fields' values by perstag, and
//! their number and date tests on the typed columns written beside each value.

use tracklane_core::segment::condition::{FieldCondition, FieldTest};

use super::{named, not_yet, push_window, Compiler};
use crate::sql::{Statement, TextTest, Value};
use crate::StoreError;

impl Compiler<'_> {
    /// A standard field's column, or a custom field's value by its perstag (empty when absent;
    /// its number or instant for number and date tests, as written beside it).
    pub(super) fn field(&mut self, field: &FieldCondition) -> Result<(), StoreError> {
        let column = match field.name.as_str() {
            "email" => Some("c.email"),
            "firstName" => Some("c.first_name"),
            "lastName" => Some("c.last_name"),
            "phone" => Some("c.phone"),
            "created" => return self.created(&field.value),
            _ => None,
        };
        let test = match &field.value {
            FieldTest::Equals(wanted) => TextTest::Equals(wanted),
            FieldTest::NotEquals(unwanted) => TextTest::NotEquals(unwanted),
            FieldTest::Contains(part) => TextTest::Contains(part),
            FieldTest::StartsWith(start) => TextTest::StartsWith(start),
            FieldTest::IsEmpty => TextTest::Equals(""),
            FieldTest::IsNotEmpty => TextTest::NotEquals(""),
            typed => {
                return match column {
                    Some(_) => Err(not_yet("number and date tests on standard text fields")),
                    None => {
                        self.typed_field(&field.name, typed);
                        Ok(())
                    }
                };
            }
        };
        match column {
            Some(column) => {
                self.statement.push_column_test(column, test);
            }
            None => {
                let value = self.custom_field("value", &field.name);
                self.statement.push_text_test(
                    |statement| {
                        statement.push("COALESCE(");
                        value(statement);
                        statement.push(", '')");
                    },
                    test,
                );
            }
        }
        Ok(())
    }

    /// A number or date test on a custom field: no value, or one that is not a number (or
    /// not a date), fails it, and so passes its negation (the test is never NULL, and reads
    /// the value once).
    fn typed_field(&mut self, perstag: &str, test: &FieldTest) {
        let column = match test {
            FieldTest::GreaterThan(_) | FieldTest::LessThan(_) => "number",
            _ => "instant",
        };
        let typed = self.custom_field(column, perstag);
        self.statement.push("(CASE WHEN ");
        if let FieldTest::Within(window) = test {
            self.statement.push("1 = 1");
            push_window(self.statement, &typed, Some(*window), self.now);
        } else {
            let (operator, bound) = match test {
                FieldTest::GreaterThan(bound) => (" > ", Value::from(*bound)),
                FieldTest::LessThan(bound) => (" < ", Value::from(*bound)),
                FieldTest::Before(bound) => (" < ", Value::from(bound.0)),
                FieldTest::After(bound) => (" > ", Value::from(bound.0)),
                _ => unreachable!("text tests are not typed"),
            };
            typed(self.statement);
            self.statement.and(operator, bound);
        }
        self.statement.push(" THEN 1 ELSE 0 END = 1)");
    }

    /// Appends a column of the contact's value of the custom field with this perstag (the
    /// oldest field's when two share it; NULL when absent).
    fn custom_field(&self, column: &'static str, perstag: &str) -> impl Fn(&mut Statement) {
        let (account, perstag) = (self.account.0, perstag.to_owned());
        move |statement: &mut Statement| {
            statement
                .and(
                    &format!(
                        "(SELECT fv.{column} FROM field_values fv \
                         JOIN fields f ON f.id = fv.field_id \
                         WHERE fv.contact_id = c.id AND f.account_id = "
                    ),
                    account,
                )
                .and(" AND f.perstag = ", perstag.as_str())
                .push(" ORDER BY f.id LIMIT 1)");
        }
    }

    /// A date test on the contact's creation time (validation allows no other test on it).
    fn created(&mut self, test: &FieldTest) -> Result<(), StoreError> {
        match test {
            FieldTest::Before(bound) => self.statement.and("c.created_at < ", bound.0),
            FieldTest::After(bound) => self.statement.and("c.created_at > ", bound.0),
            FieldTest::Within(window) => {
                self.statement.push("(1 = 1");
                push_window(
                    self.statement,
                    &named("c.created_at"),
                    Some(*window),
                    self.now,
                );
                self.statement.push(")")
            }
            _ => self.statement.push("1 = 0"),
        };
        Ok(())
    }
}
