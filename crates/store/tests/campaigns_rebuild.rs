//! SQLite's one-time rebuild of `campaigns` that lets a campaign target a segment alone (a NULL
//! list): rows, ids, the id sequence and the tables that refer to campaigns are kept, and a
//! table with a column the rebuild does not copy is refused, not dropped.

use sqlx::{Connection, SqliteConnection};
mod common;

use common::fresh_store;

/// The `campaigns` table as the migrations leave it before the rebuild (`list_id NOT NULL`, and
/// every column added since, as a database that skipped the rebuild has them), with `extra`
/// columns, holding campaigns 1 and 2 of which 2 was deleted, and a send of campaign 1.
async fn campaigns_before_the_rebuild(raw: &mut SqliteConnection, extra: &str) {
    for sql in [
        "PRAGMA foreign_keys = OFF".to_owned(),
        "DROP TABLE campaigns".to_owned(),
        format!(
            "CREATE TABLE campaigns (id INTEGER PRIMARY KEY AUTOINCREMENT, \
             account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE, \
             name TEXT NOT NULL, message_id INTEGER NOT NULL REFERENCES messages (id), \
             list_id INTEGER NOT NULL REFERENCES lists (id), \
             track_links INTEGER NOT NULL DEFAULT 1, status INTEGER NOT NULL DEFAULT 0, \
             created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, \
             failures INTEGER NOT NULL DEFAULT 0, last_error TEXT, paused_reason TEXT, \
             segment_id INTEGER, automation_id INTEGER, automation_step TEXT, \
             links_digest INTEGER, scheduled_at INTEGER, started_at INTEGER, \
             finished_at INTEGER{extra})"
        ),
        "INSERT INTO accounts (id, name, created_at) VALUES (1, 'a', 0)".to_owned(),
        "INSERT INTO contacts (id, account_id, email, hash, created_at, updated_at) \
         VALUES (1, 1, 'a@example.com', 'h', 0, 0)"
            .to_owned(),
        "INSERT INTO messages (id, account_id, name, subject, from_email, created_at, \
         updated_at) VALUES (1, 1, 'm', 's', 'news@example.com', 0, 0)"
            .to_owned(),
        "INSERT INTO lists (id, account_id, name, stringid, created_at, updated_at) \
         VALUES (1, 1, 'l', 'l', 0, 0)"
            .to_owned(),
        "INSERT INTO campaigns (id, account_id, name, message_id, list_id, created_at, \
         updated_at, paused_reason) VALUES (1, 1, 'one', 1, 1, 0, 0, 'why'), \
         (2, 1, 'two', 1, 1, 0, 0, NULL)"
            .to_owned(),
        "DELETE FROM campaigns WHERE id = 2".to_owned(),
        "INSERT INTO sends (account_id, campaign_id, contact_id, status, next_attempt_at, \
         created_at) VALUES (1, 1, 1, 2, 0, 0)"
            .to_owned(),
        "PRAGMA foreign_keys = ON".to_owned(),
    ] {
        sqlx::query(&sql).execute(&mut *raw).await.unwrap();
    }
}

async fn count(raw: &mut SqliteConnection, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&mut *raw).await.unwrap()
}

#[tokio::test]
async fn the_rebuild_keeps_rows_ids_and_references() {
    let fresh = fresh_store().await;
    let mut raw = SqliteConnection::connect(&fresh.url).await.unwrap();
    campaigns_before_the_rebuild(&mut raw, "").await;

    fresh.store.migrate().await.unwrap();
    let not_null = "SELECT \"notnull\" FROM pragma_table_info('campaigns') WHERE name = 'list_id'";
    assert_eq!(count(&mut raw, not_null).await, 0, "list_id takes NULL");
    let kept = "SELECT COUNT(*) FROM campaigns WHERE id = 1 AND paused_reason = 'why'";
    assert_eq!(count(&mut raw, kept).await, 1);
    sqlx::query(
        "INSERT INTO campaigns (account_id, name, message_id, list_id, created_at, updated_at) \
         VALUES (1, 'three', 1, NULL, 0, 0)",
    )
    .execute(&mut raw)
    .await
    .unwrap();
    let newest = "SELECT MAX(id) FROM campaigns";
    assert_eq!(
        count(&mut raw, newest).await,
        3,
        "the deleted id 2 is not given again"
    );
    // The send still refers to the rebuilt table: deleting its campaign takes it along.
    assert_eq!(count(&mut raw, "SELECT COUNT(*) FROM sends").await, 1);
    sqlx::query("DELETE FROM campaigns WHERE id = 1")
        .execute(&mut raw)
        .await
        .unwrap();
    assert_eq!(count(&mut raw, "SELECT COUNT(*) FROM sends").await, 0);
}

#[tokio::test]
async fn a_column_the_rebuild_does_not_copy_is_refused_not_dropped() {
    let fresh = fresh_store().await;
    let mut raw = SqliteConnection::connect(&fresh.url).await.unwrap();
    campaigns_before_the_rebuild(&mut raw, ", later TEXT").await;

    let refused = fresh.store.migrate().await.unwrap_err().to_string();
    assert!(refused.contains("later"), "{refused}");
    let columns = "SELECT COUNT(*) FROM pragma_table_info('campaigns') WHERE name = 'later'";
    assert_eq!(count(&mut raw, columns).await, 1);
    assert_eq!(count(&mut raw, "SELECT COUNT(*) FROM campaigns").await, 1);
}
