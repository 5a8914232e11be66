//! A full disk (SQLite's `max_page_count`) fails the writes that hit it, and only them: no later
//! write is acknowledged without being committed, and writing resumes once space returns.

use tracklane_core::contact::ContactInput;
use tracklane_core::ids::AccountId;
use tracklane_core::time::Timestamp;
use tracklane_store::contacts::ContactQuery;
use tracklane_store::{PoolSize, Store};

async fn create(store: &Store, account: AccountId, n: usize) -> Result<(), String> {
    let draft = ContactInput {
        email: Some(format!("person{n}@example.com")),
        first_name: Some("x".repeat(250)),
        ..ContactInput::default()
    }
    .into_draft()
    .unwrap();
    store
        .create_contact(account, draft, Timestamp::now())
        .await
        .map(drop)
        .map_err(|error| error.to_string())
}

async fn stored(store: &Store, account: AccountId) -> usize {
    let page = store
        .contacts(account, &ContactQuery::default(), Default::default())
        .await
        .unwrap();
    usize::try_from(page.total).unwrap()
}

#[tokio::test]
async fn a_full_disk_fails_writes_until_space_returns_and_never_acknowledges_a_lost_one() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let store = Store::connect(&url, PoolSize::default()).await.unwrap();
    store.migrate().await.unwrap();
    let account = store.bootstrap(Timestamp::now()).await.unwrap().unwrap().id;

    store.cap_pages(Some(4)).await.unwrap();
    let mut acknowledged = 0;
    let mut failed = 0;
    for n in 0..5000 {
        match create(&store, account, n).await {
            Ok(()) => acknowledged += 1,
            Err(_) => {
                failed += 1;
                if failed == 3 {
                    break;
                }
            }
        }
    }
    assert!(failed > 0, "the cap was reached");
    assert!(store.writes_failing(), "the failing writes are reported");
    assert_eq!(
        stored(&store, account).await,
        acknowledged,
        "every acknowledged write is there, and nothing else"
    );

    store.cap_pages(None).await.unwrap();
    create(&store, account, 1000)
        .await
        .expect("writing resumes once space returns");
    assert!(!store.writes_failing());
    assert_eq!(stored(&store, account).await, acknowledged + 1);
    store.close().await;

    let reopened = Store::connect(&url, PoolSize::default()).await.unwrap();
    assert_eq!(
        stored(&reopened, account).await,
        acknowledged + 1,
        "what was acknowledged survives a restart"
    );
}

/// A tmpfs of 4 MiB mounted on a fresh folder, unmounted when dropped; `None` when this process
/// may not mount one (not root).
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount() -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
            .arg(dir.path())
            .output()
            .is_ok_and(|output| output.status.success());
        mounted.then_some(Self { dir })
    }

    /// Fills the disk up with a file, which [`Self::free`] deletes.
    fn fill(&self) {
        use std::io::Write;
        let mut filler = std::fs::File::create(self.dir.path().join("filler")).unwrap();
        let chunk = vec![0_u8; 64 * 1024];
        while filler.write_all(&chunk).is_ok() {}
        let _ = filler.write_all(&chunk[..4096]);
        let _ = filler.write_all(&chunk[..512]);
    }

    fn free(&self) {
        std::fs::remove_file(self.dir.path().join("filler")).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("--lazy")
            .arg(self.dir.path())
            .status();
    }
}

/// A real full disk fails the COMMIT itself (the WAL cannot grow), and SQLite then rolls the
/// transaction back on its own. The writer connection must not be reused as if it were still
/// in that transaction: every later write was acknowledged and never committed.
#[tokio::test]
async fn a_commit_that_fails_on_a_full_disk_poisons_no_later_write() {
    let Some(disk) = SmallDisk::mount() else {
        eprintln!("skipped: mounting a tmpfs needs root (the max_page_count test still runs)");
        return;
    };
    let url = format!("sqlite://{}/t.db?mode=rwc", disk.dir.path().display());
    let store = Store::connect(&url, PoolSize::default()).await.unwrap();
    store.migrate().await.unwrap();
    let account = store.bootstrap(Timestamp::now()).await.unwrap().unwrap().id;

    disk.fill();
    let mut acknowledged = 0;
    let mut failed = 0;
    for n in 0..3000 {
        match create(&store, account, n).await {
            Ok(()) => acknowledged += 1,
            Err(_) => failed += 1,
        }
        if failed >= 3 && n > 200 {
            break;
        }
    }
    assert!(failed > 0, "the disk filled up");
    assert_eq!(
        stored(&store, account).await,
        acknowledged,
        "every acknowledged write is committed, and nothing else"
    );

    disk.free();
    create(&store, account, 9999)
        .await
        .expect("writing resumes once space returns");
    assert!(!store.writes_failing());
    store.close().await;
    let reopened = Store::connect(&url, PoolSize::default()).await.unwrap();
    assert_eq!(stored(&reopened, account).await, acknowledged + 1);
    reopened.close().await;
}
