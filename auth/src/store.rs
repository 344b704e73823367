//! The identity store port: accounts, sessions and a few named values (the signing key, the
//! staff bootstrap marker). Blocking calls: the async side ([`crate::identity`]) runs them on
//! blocking threads. Adapters: [`sqlite`] (embedded default) and [`postgres`] (scale-out),
//! both held to [`conformance::check`].

pub mod conformance;
pub mod postgres;
pub mod sqlite;

use std::path::Path;
use std::sync::Arc;

use crate::account::{Account, Address, Email, Name, PasswordHash};
use crate::policy::Role;
use crate::session::{Session, SessionKey};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("an account with this email already exists")]
    Duplicate,
    #[error("the identity store failed: {0}")]
    Backend(String),
    /// A stored row no longer passes the checks values are made with.
    #[error("the identity store holds an unreadable row: {0}")]
    Corrupt(String),
}

pub trait IdentityStore: Send + Sync + 'static {
    /// Adds an account; [`StoreError::Duplicate`] if the email is taken.
    fn insert_account(&self, account: &Account) -> Result<(), StoreError>;
    /// Adds the first staff account, once in the store's life: false (and nothing changed) if
    /// one was ever bootstrapped, even by another replica at the same moment.
    fn insert_first_staff(&self, account: &Account) -> Result<bool, StoreError>;
    fn account(&self, email: &Email) -> Result<Option<Account>, StoreError>;
    /// Every account, by email.
    fn accounts(&self) -> Result<Vec<Account>, StoreError>;
    /// False if there is no such account.
    fn set_password(&self, email: &Email, hash: &PasswordHash) -> Result<bool, StoreError>;
    /// False if there is no such account.
    fn set_roles(&self, email: &Email, roles: &[Role]) -> Result<bool, StoreError>;

    fn insert_session(&self, session: &Session) -> Result<(), StoreError>;
    fn session(&self, key: &SessionKey) -> Result<Option<Session>, StoreError>;
    /// Ends one session; false if it did not exist or had already ended.
    fn revoke_session(&self, key: &SessionKey, now: i64) -> Result<bool, StoreError>;
    /// Ends every live session of an account and names them (to close their sockets).
    fn revoke_sessions_of(&self, email: &Email, now: i64) -> Result<Vec<SessionKey>, StoreError>;
    /// Deletes sessions that expired or were revoked before `before`.
    fn purge_sessions(&self, before: i64) -> Result<u64, StoreError>;

    /// Stores `value` under `name` unless something is there already; returns what is stored.
    /// Replicas starting together agree on one value this way (the signing key).
    fn put_value_once(&self, name: &str, value: &str) -> Result<String, StoreError>;
}

/// Where the identity store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// `identity.db` in this directory.
    Embedded(std::path::PathBuf),
    /// A PostgreSQL URL; the store lives in its own schema.
    Postgres { url: String, schema: String },
}

pub const SQLITE_FILE: &str = "identity.db";
pub const DEFAULT_PG_SCHEMA: &str = "identity";

impl StoreLocation {
    /// `embedded` (or nothing) → the data directory; `postgres://…` → PostgreSQL.
    pub fn from_database_flag(database: Option<&str>, data_dir: &Path) -> StoreLocation {
        match database {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                StoreLocation::Postgres {
                    url: url.to_owned(),
                    schema: DEFAULT_PG_SCHEMA.to_owned(),
                }
            }
            _ => StoreLocation::Embedded(data_dir.to_owned()),
        }
    }

    /// Opens (blocking) the store, creating its tables.
    pub fn open(&self) -> Result<Arc<dyn IdentityStore>, StoreError> {
        match self {
            StoreLocation::Embedded(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Backend(format!("cannot create {}: {e}", dir.display()))
                })?;
                Ok(Arc::new(sqlite::SqliteStore::open(&dir.join(SQLITE_FILE))?))
            }
            StoreLocation::Postgres { url, schema } => {
                Ok(Arc::new(postgres::PostgresStore::open(url, schema)?))
            }
        }
    }
}

/// Roles as stored: `customer,staff`.
fn roles_to_text(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn roles_from_text(text: &str) -> Result<Vec<Role>, StoreError> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|e| StoreError::Corrupt(format!("{e}"))))
        .collect()
}

/// An account row as stored, checked on the way out.
struct AccountRow {
    email: String,
    name: String,
    address: String,
    password_hash: String,
    roles: String,
    created_at: i64,
}

impl AccountRow {
    fn into_account(self) -> Result<Account, StoreError> {
        let bad = |e: crate::account::InvalidField| StoreError::Corrupt(e.to_string());
        Ok(Account {
            email: Email::parse(&self.email).map_err(bad)?,
            name: Name::parse(&self.name).map_err(bad)?,
            address: Address::parse(&self.address).map_err(bad)?,
            password_hash: PasswordHash::from_stored(self.password_hash),
            roles: crate::account::normalize_roles(roles_from_text(&self.roles)?),
            created_at: self.created_at,
        })
    }
}

struct SessionRow {
    key: String,
    email: String,
    created_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
}

impl SessionRow {
    fn into_session(self) -> Result<Session, StoreError> {
        Ok(Session {
            key: SessionKey(self.key),
            email: Email::parse(&self.email).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            created_at: self.created_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
        })
    }
}

/// The name of the marker that says the first staff account was made.
const STAFF_MARKER: &str = "staff_bootstrapped";
