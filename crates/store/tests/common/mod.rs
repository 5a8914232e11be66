//! A migrated store on a fresh SQLite file, for the store's own tests.

use tempfile::TempDir;
use tracklane_store::{PoolSize, Store};

/// The store, its database URL (for a second, raw connection) and its folder, deleted on drop.
pub struct Fresh {
    pub store: Store,
    // Each test file is its own crate, and not every one opens a raw connection.
    #[allow(dead_code)]
    pub url: String,
    _dir: TempDir,
}

/// A store on a new SQLite file, migrated.
pub async fn fresh_store() -> Fresh {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let store = Store::connect(&url, PoolSize::default()).await.unwrap();
    store.migrate().await.unwrap();
    Fresh {
        store,
        url,
        _dir: dir,
    }
}
