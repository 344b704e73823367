//! The identity store contract on both adapters: a SQLite file and the real PostgreSQL.

mod common;

use std::sync::Arc;

use mall_auth::identity::Identity;
use mall_auth::store::postgres::PostgresStore;
use mall_auth::store::sqlite::SqliteStore;
use mall_auth::store::{conformance, IdentityStore, StoreLocation};

const PG: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A schema of its own per test run, dropped at the end.
struct PgSchema(String);

impl PgSchema {
    fn new(test: &str) -> PgSchema {
        PgSchema(format!("identity_{test}_{}", std::process::id()))
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        // On a thread of its own: the blocking client cannot run on an async worker.
        let name = self.0.clone();
        let _ = std::thread::spawn(move || PostgresStore::drop_schema(PG, &name)).join();
    }
}

#[test]
fn sqlite_file_keeps_the_contract() {
    let dir = tempfile::tempdir().expect("dir");
    let store = SqliteStore::open(&dir.path().join("identity.db")).expect("open");
    conformance::check(&store);
}

#[test]
fn postgres_keeps_the_contract() {
    let schema = PgSchema::new("contract");
    let store = PostgresStore::open(PG, &schema.0).expect("PostgreSQL on 127.0.0.1:5432");
    conformance::check(&store);
    drop(store);
}

#[test]
fn the_database_flag_picks_the_adapter() {
    let dir = std::path::Path::new("data");
    assert_eq!(
        StoreLocation::from_database_flag(None, dir),
        StoreLocation::Embedded(dir.into())
    );
    assert_eq!(
        StoreLocation::from_database_flag(Some("embedded"), dir),
        StoreLocation::Embedded(dir.into())
    );
    assert_eq!(
        StoreLocation::from_database_flag(Some(PG), dir),
        StoreLocation::Postgres {
            url: PG.into(),
            schema: "identity".into()
        }
    );
    let bad = PostgresStore::open(PG, "no; drop").err().expect("refused");
    assert!(bad.to_string().contains("schema name"), "{bad}");
}

/// Two replicas starting at once on one database: exactly one staff account is made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_make_one_staff_account() {
    let schema = PgSchema::new("bootstrap");
    let open = || {
        let name = schema.0.clone();
        async move {
            let store: Arc<dyn IdentityStore> = tokio::task::spawn_blocking(move || {
                Arc::new(PostgresStore::open(PG, &name).expect("open")) as Arc<dyn IdentityStore>
            })
            .await
            .expect("join");
            Identity::new(store, &common::settings()).expect("identity")
        }
    };
    let (a, b) = (open().await, open().await);
    let (ra, rb) = tokio::join!(
        a.bootstrap_staff("staff@uengine.org"),
        b.bootstrap_staff("staff@uengine.org")
    );
    let made = [ra.expect("a"), rb.expect("b")]
        .into_iter()
        .flatten()
        .count();
    assert_eq!(made, 1);
    let store = a.store().clone();
    let accounts = tokio::task::spawn_blocking(move || store.accounts())
        .await
        .expect("join")
        .expect("list");
    assert_eq!(accounts.len(), 1);
    drop((a, b));
}
