//! The two engines' migrations build the same schema: the same tables, with the same columns,
//! and the same indexes made by name. The two folders are written by hand, side by side, and
//! differ in their SQL (types, triggers, PL/pgSQL), so this compares what they build rather
//! than their text. What exists on one engine alone is listed here, with why.

use std::collections::BTreeSet;

use sqlx::{AnyConnection, Connection, Row};
use tracklane_e2e::{Engine, TestApp};

/// Tables (with their columns), columns (`table.column`) and indexes (`index name`) that
/// only SQLite has: views that stand for PostgreSQL's functions of the activity counters
/// (`count_activity`, `term_id`, `count_event`), since SQLite has no stored functions: its
/// triggers insert into a view whose `INSTEAD OF` trigger does the work.
const SQLITE_ONLY: &[&str] = &["activity_counted", "events_to_count", "terms_seen"];

/// Tables (with their columns), columns and indexes that only PostgreSQL has: its events
/// trigger notes a new row for the scorer once per statement and contact (SQLite keys
/// `new_rows` by contact), and every writer of a contact's scores locks its row in
/// `score_holds` (SQLite's one writer makes them wait already).
const POSTGRES_ONLY: &[&str] = &["index new_rows_by_contact", "score_holds"];

/// Each table or view and its columns (`table.column`), and each index made by name
/// (`index name`), of the database `url` on `engine`; sqlx's own table aside.
async fn schema(engine: Engine, url: &str) -> BTreeSet<String> {
    let mut db = AnyConnection::connect(url).await.unwrap();
    let (columns, indexes) = match engine {
        Engine::Sqlite => (
            "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite_%'",
            // Indexes of a PRIMARY KEY or UNIQUE constraint have no SQL of their own.
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
        ),
        Engine::Postgres => (
            "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) \
             FROM information_schema.columns WHERE table_schema = 'public'",
            "SELECT CAST(indexname AS TEXT) FROM pg_indexes WHERE schemaname = 'public' \
             AND indexname NOT IN (SELECT conname FROM pg_constraint)",
        ),
    };
    let mut schema = BTreeSet::new();
    for row in sqlx::query(columns).fetch_all(&mut db).await.unwrap() {
        let (table, column): (String, String) = (row.get(0), row.get(1));
        if !table.starts_with("_sqlx") {
            schema.insert(table.clone());
            schema.insert(format!("{table}.{column}"));
        }
    }
    for row in sqlx::query(indexes).fetch_all(&mut db).await.unwrap() {
        schema.insert(format!("index {}", row.get::<String, _>(0)));
    }
    schema
}

#[tokio::test]
async fn both_engines_migrate_to_the_same_tables_columns_and_indexes() {
    let sqlite = TestApp::spawn(Engine::Sqlite).await;
    let postgres = TestApp::spawn(Engine::Postgres).await;
    let on_sqlite = schema(Engine::Sqlite, &sqlite.database_url()).await;
    let on_postgres = schema(Engine::Postgres, &postgres.database_url()).await;
    assert!(
        on_sqlite.contains("score_awards.rule_id") && on_sqlite.contains("index score_awards_held"),
        "the schema is read: {on_sqlite:?}"
    );
    assert_eq!(
        alone(&on_sqlite, &on_postgres),
        SQLITE_ONLY,
        "on SQLite alone"
    );
    assert_eq!(
        alone(&on_postgres, &on_sqlite),
        POSTGRES_ONLY,
        "on PostgreSQL alone"
    );
}

/// What `one` has and `other` lacks, a table's columns left out when the table is.
fn alone<'a>(one: &'a BTreeSet<String>, other: &BTreeSet<String>) -> Vec<&'a str> {
    let missing: BTreeSet<&str> = one
        .iter()
        .filter(|item| !other.contains(*item))
        .map(String::as_str)
        .collect();
    missing
        .iter()
        .copied()
        .filter(|item| {
            item.split_once('.')
                .is_none_or(|(table, _)| !missing.contains(table))
        })
        .collect()
}
