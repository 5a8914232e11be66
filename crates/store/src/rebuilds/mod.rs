//! SQLite table rebuilds: schema changes that SQLite's `ALTER TABLE` cannot make (dropping a
//! NOT NULL), done as its documentation's "making other kinds of table schema changes" says.
//! They need foreign keys off, or dropping the old table would delete every row that refers to
//! it; that pragma works only outside a transaction, and sqlx runs each migration in one, so
//! they run after the migrations, each once, on a connection of their own.

use sqlx::{Connection, Executor};

use crate::{Engine, Store, StoreError};

/// A rebuild: the test that tells it is still to be done, the columns it copies, and its
/// statements. A migration that changes the table's columns must change its rebuild too: a
/// database that has not made the rebuild yet gets the migration first, and the rebuild then
/// refuses to run (and the server to start) rather than drop a column it does not copy.
struct Rebuild {
    /// The table rebuilt.
    table: &'static str,
    /// A query answering one row when the rebuild is still to be done.
    pending: &'static str,
    /// The table's columns, in order, that the statements copy.
    columns: &'static [&'static str],
    /// The statements, run in one transaction.
    statements: &'static str,
}

/// Every rebuild, in the order they are made.
const REBUILDS: &[Rebuild] = &[Rebuild {
    table: "campaigns",
    pending:
        "SELECT 1 FROM pragma_table_info('campaigns') WHERE name = 'list_id' AND \"notnull\" = 1",
    columns: &[
        "id",
        "account_id",
        "name",
        "message_id",
        "list_id",
        "track_links",
        "status",
        "created_at",
        "updated_at",
        "failures",
        "last_error",
        "paused_reason",
        "segment_id",
        "automation_id",
        "automation_step",
        "links_digest",
        "scheduled_at",
        "started_at",
        "finished_at",
    ],
    statements: include_str!("campaigns.sql"),
}];

impl Store {
    /// Makes the SQLite table rebuilds still to be done; nothing on PostgreSQL, whose
    /// migrations alter the tables in place.
    pub(crate) async fn rebuild_tables(&self) -> Result<(), StoreError> {
        if self.engine != Engine::Sqlite {
            return Ok(());
        }
        for rebuild in REBUILDS {
            let pending: Option<i64> = sqlx::query_scalar(rebuild.pending)
                .fetch_optional(&self.writer)
                .await?;
            if pending.is_none() {
                continue;
            }
            let columns: Vec<String> =
                sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
                    .bind(rebuild.table)
                    .fetch_all(&self.writer)
                    .await?;
            if columns != rebuild.columns {
                return Err(StoreError::Rebuild(format!(
                    "rebuilding {} would copy the columns {:?}, but the table has {columns:?}",
                    rebuild.table, rebuild.columns
                )));
            }
            // Never back to the pool: the connection is closed with foreign keys off.
            let mut connection = self.writer.acquire().await?.detach();
            connection.execute("PRAGMA foreign_keys = OFF").await?;
            let rebuilt = async {
                let mut tx = Connection::begin(&mut connection).await?;
                tx.execute(rebuild.statements).await?;
                tx.commit().await
            }
            .await;
            connection.close().await?;
            rebuilt?;
        }
        Ok(())
    }
}
