//! Every store adapter, for tests that each adapter must pass: a file-backed SQLite store and
//! a PostgreSQL schema of its own (the server of this machine kind, 127.0.0.1:5432). Each can
//! open a second handle on the same data, as a second replica or process would.

use std::path::PathBuf;
use std::sync::Arc;

use mall_services::store::postgres::PostgresStore;
use mall_services::store::sqlite::SqliteStore;
use mall_services::store::Store;

pub const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub enum Adapter {
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres {
        schema: String,
    },
}

/// One store's data, reachable through as many handles as a test opens.
pub struct TestStore {
    pub name: &'static str,
    adapter: Adapter,
}

impl TestStore {
    /// A new handle on this store's data (another replica).
    pub fn open(&self) -> Arc<dyn Store> {
        match &self.adapter {
            Adapter::Sqlite { path, .. } => Arc::new(SqliteStore::open(path).expect("sqlite")),
            Adapter::Postgres { schema } => Arc::new(
                PostgresStore::open(POSTGRES, schema)
                    .expect("PostgreSQL runs on 127.0.0.1:5432 with trust auth"),
            ),
        }
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Adapter::Postgres { schema } = &self.adapter {
            let _ = PostgresStore::drop_schema(POSTGRES, schema);
        }
    }
}

/// The adapters, by name.
pub const ADAPTERS: [&str; 2] = ["sqlite", "postgres"];

/// A fresh store of the adapter `name` (one of [`ADAPTERS`]).
pub fn fresh(name: &'static str) -> TestStore {
    let adapter = if name == "postgres" {
        Adapter::Postgres {
            schema: format!("malltest_{}", uuid::Uuid::new_v4().simple()),
        }
    } else {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("store.db");
        Adapter::Sqlite { _dir: dir, path }
    };
    TestStore { name, adapter }
}

/// A fresh store of each adapter.
pub fn each() -> Vec<TestStore> {
    ADAPTERS.into_iter().map(fresh).collect()
}
