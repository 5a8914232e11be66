//! Custom field values written before they were typed (migration 0017) are typed at start, as
//! core's segment evaluator reads them: a number, an instant, or neither.

use sqlx::Connection;
mod common;

use common::fresh_store;

#[tokio::test]
async fn values_written_before_typing_are_typed_at_start() {
    let fresh = fresh_store().await;
    let (store, url) = (&fresh.store, &fresh.url);
    let mut raw = sqlx::SqliteConnection::connect(url).await.unwrap();
    for sql in [
        "INSERT INTO accounts (id, name, created_at) VALUES (1, 'a', 0)",
        "INSERT INTO contacts (id, account_id, email, hash, created_at, updated_at) \
         VALUES (1, 1, 'a@example.com', 'h', 0, 0)",
        "INSERT INTO fields (id, account_id, title, field_type, perstag, created_at, updated_at) \
         VALUES (1, 1, 'A', 'text', 'A', 0, 0), (2, 1, 'B', 'text', 'B', 0, 0), \
         (3, 1, 'C', 'text', 'C', 0, 0)",
        "INSERT INTO field_values (account_id, contact_id, field_id, value, created_at, \
         updated_at) VALUES (1, 1, 1, ' 12.5 ', 0, 0), (1, 1, 2, '2024-05-01', 0, 0), \
         (1, 1, 3, 'twelve', 0, 0)",
    ] {
        sqlx::query(sql).execute(&mut raw).await.unwrap();
    }

    assert_eq!(store.type_field_values().await.unwrap(), 3);
    let typed: Vec<(i64, Option<f64>, Option<i64>, i64)> = sqlx::query_as(
        "SELECT field_id, number, instant, typed FROM field_values ORDER BY field_id",
    )
    .fetch_all(&mut raw)
    .await
    .unwrap();
    assert_eq!(
        typed,
        vec![
            (1, Some(12.5), None, 1),
            (2, None, Some(1_714_521_600_000_000), 1),
            (3, None, None, 1),
        ]
    );
    assert_eq!(store.type_field_values().await.unwrap(), 0, "typed once");
}
