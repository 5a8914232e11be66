//! Statements whose text is built at run time (filters, orders), with each engine's own
//! placeholders (`?` on SQLite, `$1`, `$2`, ... on PostgreSQL), and the few places where the two
//! dialects differ.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;

use crate::Engine;

/// A value bound to a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// Text.
    Text(String),
    /// An integer or NULL.
    MaybeInt(Option<i64>),
    /// Text or NULL.
    MaybeText(Option<String>),
}

impl From<Option<i64>> for Value {
    fn from(value: Option<i64>) -> Self {
        Self::MaybeInt(value)
    }
}

impl From<Option<String>> for Value {
    fn from(value: Option<String>) -> Self {
        Self::MaybeText(value)
    }
}

impl From<f64> for Value {
    fn from(value: f64) -> Self {
        Self::Real(value)
    }
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Self::Int(value)
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Self::Text(value)
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Self::Text(value.to_owned())
    }
}

/// SQL text with its bound values, built piece by piece. Placeholders are written in the
/// engine's preferred form: `$1, $2, ...` for PostgreSQL, and plain positional `?` for SQLite,
/// where numbered parameters are looked up by name and make a statement with thousands of binds
/// (a multi-row insert) quadratic to bind.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    engine: Engine,
    sql: String,
    values: Vec<Value>,
}

impl Statement {
    /// Starts a statement for `engine` with `sql`.
    pub fn new(engine: Engine, sql: &str) -> Self {
        Self {
            engine,
            sql: sql.to_owned(),
            values: Vec::new(),
        }
    }

    /// Appends SQL text.
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn push_bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.values.push(value.into());
        match self.engine {
            Engine::Sqlite => self.sql.push('?'),
            Engine::Postgres => {
                self.sql.push('$');
                self.sql.push_str(&self.values.len().to_string());
            }
        }
        self
    }

    /// Appends `sql`, then a placeholder bound to `value`: `and("AND id > ", 5)`.
    pub fn and(&mut self, sql: &str, value: impl Into<Value>) -> &mut Self {
        self.push(sql).push_bind(value)
    }

    /// Appends `sql` and a placeholder for each present value: `, name = $3`. Absent values
    /// append nothing.
    pub fn push_present<V: Into<Value>>(
        &mut self,
        pieces: impl IntoIterator<Item = (&'static str, Option<V>)>,
    ) -> &mut Self {
        for (sql, value) in pieces {
            if let Some(value) = value {
                self.and(sql, value);
            }
        }
        self
    }

    /// Appends `(v1, v2, ...)`: one row of a multi-row `VALUES`.
    pub fn push_row(&mut self, values: impl IntoIterator<Item = Value>) -> &mut Self {
        self.push("(");
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push_bind(value);
        }
        self.push(")")
    }

    /// Appends `(...), (...), ...`: the rows of a multi-row `VALUES`, each as
    /// [`Self::push_row`] writes it.
    pub fn push_rows<R: IntoIterator<Item = Value>>(
        &mut self,
        rows: impl IntoIterator<Item = R>,
    ) -> &mut Self {
        for (i, row) in rows.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push_row(row);
        }
        self
    }

    /// A statement that is `head` followed by `body` (with `body`'s binds).
    pub fn with_head(head: &str, body: &Statement) -> Self {
        Self {
            engine: body.engine,
            sql: format!("{head}{}", body.sql),
            values: body.values.clone(),
        }
    }

    /// The engine it is written for.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The SQL text so far.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The query, ready to run.
    pub fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        self.values
            .iter()
            .fold(sqlx::query(&self.sql), |query, value| match value {
                Value::Int(int) => query.bind(*int),
                Value::Real(real) => query.bind(*real),
                Value::Text(text) => query.bind(text.as_str()),
                Value::MaybeInt(int) => query.bind(*int),
                Value::MaybeText(text) => query.bind(text.as_deref()),
            })
    }
}

impl Engine {
    /// The scalar function of the smaller of two values (`MIN` in SQLite, `LEAST` in
    /// PostgreSQL).
    pub(crate) fn least(self) -> &'static str {
        match self {
            Engine::Sqlite => "MIN",
            Engine::Postgres => "LEAST",
        }
    }

    /// ` INDEXED BY score_awards_held` on SQLite, which would otherwise ask the awards' unique
    /// index (every award of a contact) for a round's held awards (migration 0045); PostgreSQL
    /// chooses the index by its statistics.
    pub(crate) fn held_awards_index(self) -> &'static str {
        match self {
            Engine::Sqlite => " INDEXED BY score_awards_held",
            Engine::Postgres => "",
        }
    }

    /// Locks the rows a `SELECT` takes for an update of their non-key columns, skipping rows
    /// another transaction holds (PostgreSQL): other `SKIP LOCKED` readers skip these rows in
    /// turn, plain writers wait for them, and a foreign key's check of a row that refers to
    /// them does not. SQLite has one writer.
    pub(crate) fn skip_locked(self) -> &'static str {
        match self {
            Engine::Sqlite => "",
            Engine::Postgres => " FOR NO KEY UPDATE SKIP LOCKED",
        }
    }

    /// The `MM-DD` (UTC) of an instant column in microseconds.
    pub(crate) fn month_day(self, column: &str) -> String {
        match self {
            Engine::Sqlite => format!("strftime('%m-%d', {column} / 1000000, 'unixepoch')"),
            Engine::Postgres => {
                format!("to_char(to_timestamp({column} / 1000000.0) AT TIME ZONE 'UTC', 'MM-DD')")
            }
        }
    }

    /// [`Engine::skip_locked`] for the rows of one table of a join (`alias`) only.
    pub(crate) fn skip_locked_of(self, alias: &str) -> String {
        match self {
            Engine::Sqlite => String::new(),
            Engine::Postgres => format!(" FOR NO KEY UPDATE OF {alias} SKIP LOCKED"),
        }
    }

    /// Locks the rows a `SELECT` takes for their deletion, waiting for other transactions
    /// that hold them (PostgreSQL; SQLite has one writer).
    pub(crate) fn lock_for_update(self) -> &'static str {
        match self {
            Engine::Sqlite => "",
            Engine::Postgres => " FOR UPDATE",
        }
    }

    /// Locks the rows a `SELECT` takes for an update of their non-key columns, waiting for
    /// other transactions that hold them (PostgreSQL; SQLite has one writer).
    pub(crate) fn lock_for_change(self) -> &'static str {
        match self {
            Engine::Sqlite => "",
            Engine::Postgres => " FOR NO KEY UPDATE",
        }
    }

    /// Locks the rows a `SELECT` takes against updates and deletes until the transaction ends
    /// (PostgreSQL; SQLite has one writer).
    pub(crate) fn share_lock(self) -> &'static str {
        match self {
            Engine::Sqlite => "",
            Engine::Postgres => " FOR SHARE",
        }
    }

    /// Locks the rows a `SELECT` takes against deletes and against the transactions that take
    /// them with [`Engine::lock_for_update`], until the transaction ends (PostgreSQL; SQLite
    /// has one writer). Unlike [`Engine::share_lock`], it lets other transactions holding it
    /// update the rows' non-key columns (counters) without waiting on each other in a cycle.
    pub(crate) fn key_share_lock(self) -> &'static str {
        match self {
            Engine::Sqlite => "",
            Engine::Postgres => " FOR KEY SHARE",
        }
    }

    /// The case-insensitive `LIKE` operator (SQLite's `LIKE` already ignores ASCII case).
    pub fn ilike(self) -> &'static str {
        match self {
            Engine::Sqlite => " LIKE ",
            Engine::Postgres => " ILIKE ",
        }
    }
}

/// A literal, case-sensitive test on text, as segments compare: `%`, `_` and `\` are text, and
/// upper and lower case differ on both engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextTest<'a> {
    /// The whole text is this.
    Equals(&'a str),
    /// The text is anything but this.
    NotEquals(&'a str),
    /// The text holds this.
    Contains(&'a str),
    /// The text begins with this.
    StartsWith(&'a str),
}

impl Statement {
    /// Appends a literal, case-sensitive test of a column (see [`Self::push_text_test`]).
    pub fn push_column_test(&mut self, column: &str, test: TextTest<'_>) -> &mut Self {
        self.push_text_test(
            |statement| {
                statement.push(column);
            },
            test,
        )
    }

    /// Appends a literal, case-sensitive test of the text that `text` appends. SQLite's `LIKE`
    /// ignores ASCII case, so SQLite tests with `instr` and `substr`; PostgreSQL's `LIKE` is
    /// case-sensitive and takes an escaped pattern.
    pub fn push_text_test(
        &mut self,
        text: impl FnOnce(&mut Statement),
        test: TextTest<'_>,
    ) -> &mut Self {
        match (test, self.engine) {
            (TextTest::Equals(wanted), _) => {
                text(self);
                self.and(" = ", wanted)
            }
            (TextTest::NotEquals(unwanted), _) => {
                text(self);
                self.and(" <> ", unwanted)
            }
            (TextTest::Contains(part), Engine::Sqlite) => {
                self.push("instr(");
                text(self);
                self.and(", ", part).push(") > 0")
            }
            (TextTest::StartsWith(start), Engine::Sqlite) => {
                let length = i64::try_from(start.chars().count()).unwrap_or(i64::MAX);
                self.push("substr(");
                text(self);
                self.and(", 1, ", length).and(") = ", start)
            }
            (TextTest::Contains(part), Engine::Postgres) => {
                text(self);
                self.and(" LIKE ", contains_pattern(part))
                    .push(" ESCAPE '\\'")
            }
            (TextTest::StartsWith(start), Engine::Postgres) => {
                text(self);
                self.and(" LIKE ", prefix_pattern(start))
                    .push(" ESCAPE '\\'")
            }
        }
    }
}

/// A `LIKE` pattern matching any text that contains `needle`, with `%`, `_` and `\` escaped;
/// use it with `ESCAPE '\'`.
pub fn contains_pattern(needle: &str) -> String {
    format!("%{}%", escape_like(needle))
}

/// A `LIKE` pattern matching any text that starts with `prefix`; use it with `ESCAPE '\'`.
pub fn prefix_pattern(prefix: &str) -> String {
    format!("{}%", escape_like(prefix))
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// A sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

impl Direction {
    /// Parses AC's `ASC` / `DESC` (any case).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "ASC" => Some(Self::Asc),
            "DESC" => Some(Self::Desc),
            _ => None,
        }
    }

    /// The SQL keyword.
    pub fn sql(self) -> &'static str {
        match self {
            Self::Asc => " ASC",
            Self::Desc => " DESC",
        }
    }
}

/// A comparison of a text column with a value, as AC's `filters[name][op]=value` asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextFilter {
    /// The comparison.
    pub op: TextOp,
    /// The value compared with.
    pub value: String,
}

/// The comparisons of AC's filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextOp {
    /// Equal.
    Eq,
    /// Not equal.
    Neq,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// Contains (case-insensitive).
    Contains,
    /// Starts with (case-insensitive).
    StartsWith,
}

impl TextOp {
    /// Parses AC's operator names.
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "eq" => Self::Eq,
            "neq" => Self::Neq,
            "lt" => Self::Lt,
            "lte" => Self::Lte,
            "gt" => Self::Gt,
            "gte" => Self::Gte,
            "contains" => Self::Contains,
            "starts_with" => Self::StartsWith,
            _ => return None,
        })
    }
}

impl Statement {
    /// Appends ` AND <column> <op> <value>` for `filter`.
    pub fn and_text(&mut self, engine: Engine, column: &str, filter: &TextFilter) -> &mut Self {
        self.push(" AND ").push(column);
        let (sql, value) = match filter.op {
            TextOp::Eq => (" = ", filter.value.clone()),
            TextOp::Neq => (" <> ", filter.value.clone()),
            TextOp::Lt => (" < ", filter.value.clone()),
            TextOp::Lte => (" <= ", filter.value.clone()),
            TextOp::Gt => (" > ", filter.value.clone()),
            TextOp::Gte => (" >= ", filter.value.clone()),
            TextOp::Contains => (engine.ilike(), contains_pattern(&filter.value)),
            TextOp::StartsWith => (engine.ilike(), prefix_pattern(&filter.value)),
        };
        self.and(sql, value);
        if matches!(filter.op, TextOp::Contains | TextOp::StartsWith) {
            self.push(" ESCAPE '\\'");
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_binds_in_order() {
        let sql = "SELECT * FROM contacts WHERE account_id = ";
        let mut postgres = Statement::new(Engine::Postgres, sql);
        postgres.push_bind(1).and(" AND email = ", "a@b.co");
        assert_eq!(
            postgres.sql(),
            "SELECT * FROM contacts WHERE account_id = $1 AND email = $2"
        );
        let mut sqlite = Statement::new(Engine::Sqlite, sql);
        sqlite.push_bind(1).and(" AND email = ", "a@b.co");
        assert_eq!(
            sqlite.sql(),
            "SELECT * FROM contacts WHERE account_id = ? AND email = ?"
        );
    }

    #[test]
    fn escapes_like_patterns() {
        assert_eq!(contains_pattern("50%_a\\"), "%50\\%\\_a\\\\%");
        assert_eq!(prefix_pattern("+1"), "+1%");
    }
}
