//! SQLite table rebuilds: schema changes that SQLite's `ALTER TABLE` cannot make (dropping a
//! NOT NULL), done as its documentation's "making other kinds of table schema changes" says.
//! They need foreign keys off, or dropping the old table would delete every row that refers to
//! it; that pragma works only outside a transaction, and sqlx runs each migration in one, so
//! they run after the migrations, each once, on a connection of their own.

use sqlx::{Connection, Executor};

use crate::{Engine, Store, StoreError};

/// A rebuild: the test that tells it is still to be done, and its statements.
struct Rebuild {
    /// A query answering one row when the rebuild is still to be done.
    pending: &'static str,
    /// The statements, run in one transaction.
    statements: &'static str,
}

/// Every rebuild, in the order they are made.
const REBUILDS: &[Rebuild] = &[Rebuild {
    pending:
        "SELECT 1 FROM pragma_table_info('campaigns') WHERE name = 'list_id' AND \"notnull\" = 1",
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
