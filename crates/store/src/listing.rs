//! One page of a filtered collection, with the number of matching rows in all pages, and the
//! one row of an account that an API call names (read or deleted).

use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use tracklane_core::ids::AccountId;
use tracklane_core::page::Page;

use crate::sql::Statement;
use crate::writes::Written;
use crate::{Model, Store, StoreError};

/// One page of a collection and the number of rows in all pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed<T> {
    /// The rows of the page.
    pub items: Vec<T>,
    /// How many rows match in all.
    pub total: i64,
}

/// Reads one page: `filter` is ` FROM ... WHERE ...`, `order` the `ORDER BY` keys.
pub(crate) async fn page_of<T>(
    pool: &AnyPool,
    columns: &str,
    filter: &Statement,
    order: &str,
    page: Page,
    read: fn(&AnyRow) -> Result<T, sqlx::Error>,
) -> Result<Listed<T>, StoreError> {
    let count = Statement::with_head("SELECT COUNT(*) AS total", filter);
    let total: i64 = count.query().fetch_one(pool).await?.try_get("total")?;
    let mut select = Statement::with_head(&format!("SELECT {columns}"), filter);
    select
        .push(" ORDER BY ")
        .push(order)
        .and(" LIMIT ", page.limit)
        .and(" OFFSET ", page.offset);
    let rows = select.query().fetch_all(pool).await?;
    let items = rows.iter().map(read).collect::<Result<_, _>>()?;
    Ok(Listed { items, total })
}

/// Reads the row `id` of `table` when it belongs to `account`, or [`StoreError::NotFound`];
/// through the readers' pool, or in a write transaction.
pub(crate) async fn owned_row<'e, T>(
    pool: impl sqlx::Executor<'e, Database = sqlx::Any>,
    table: &str,
    columns: &str,
    (model, account, id): (Model, AccountId, i64),
    read: fn(&AnyRow) -> Result<T, sqlx::Error>,
) -> Result<T, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {columns} FROM {table} WHERE account_id = $1 AND id = $2"
    ))
    .bind(account.0)
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.as_ref()
        .map(read)
        .transpose()?
        .ok_or(StoreError::NotFound { model, id })
}

impl Store {
    /// Deletes the row `id` of `table` when it belongs to `account`.
    pub(crate) async fn delete_owned(
        &self,
        table: &str,
        model: Model,
        account: AccountId,
        id: i64,
    ) -> Result<(), StoreError> {
        let deleted = sqlx::query(&format!(
            "DELETE FROM {table} WHERE account_id = $1 AND id = $2"
        ))
        .bind(account.0)
        .bind(id)
        .execute(&self.writer)
        .written(self)
        .await?
        .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound { model, id });
        }
        Ok(())
    }
}

/// Reads every row a statement returns.
pub(crate) async fn all_of<T>(
    pool: &AnyPool,
    statement: &Statement,
    read: fn(&AnyRow) -> Result<T, sqlx::Error>,
) -> Result<Vec<T>, StoreError> {
    let rows = statement.query().fetch_all(pool).await?;
    Ok(rows.iter().map(read).collect::<Result<_, _>>()?)
}
