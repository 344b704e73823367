//! The embedded identity store: one SQLite file (`identity.db`) in the data directory.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension};

use super::{roles_to_text, AccountRow, IdentityStore, SessionRow, StoreError, STAFF_MARKER};
use crate::account::{Account, Email, PasswordHash};
use crate::policy::Role;
use crate::session::{Session, SessionKey};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS accounts (
    email TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    roles TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    key TEXT PRIMARY KEY,
    email TEXT NOT NULL REFERENCES accounts (email),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX IF NOT EXISTS sessions_by_email ON sessions (email);
CREATE TABLE IF NOT EXISTS named_values (name TEXT PRIMARY KEY, value TEXT NOT NULL);
";

const ACCOUNT_COLUMNS: &str = "email, name, address, password_hash, roles, created_at";
const SESSION_COLUMNS: &str = "key, email, created_at, expires_at, revoked_at";

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY {
                return StoreError::Duplicate;
            }
        }
        StoreError::Backend(e.to_string())
    }
}

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        Self::init(Connection::open(path)?)
    }

    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<SqliteStore, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // Every write is one statement or one transaction that rolls back on drop, so a
        // poisoned lock guards nothing half-done.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn account_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AccountRow> {
    Ok(AccountRow {
        email: r.get(0)?,
        name: r.get(1)?,
        address: r.get(2)?,
        password_hash: r.get(3)?,
        roles: r.get(4)?,
        created_at: r.get(5)?,
    })
}

fn session_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        key: r.get(0)?,
        email: r.get(1)?,
        created_at: r.get(2)?,
        expires_at: r.get(3)?,
        revoked_at: r.get(4)?,
    })
}

fn insert_account(conn: &Connection, a: &Account) -> Result<(), StoreError> {
    conn.execute(
        &format!("INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
        params![
            a.email.as_str(),
            a.name.as_str(),
            a.address.as_str(),
            a.password_hash.as_str(),
            roles_to_text(&a.roles),
            a.created_at
        ],
    )?;
    Ok(())
}

impl IdentityStore for SqliteStore {
    fn insert_account(&self, account: &Account) -> Result<(), StoreError> {
        insert_account(&self.lock(), account)
    }

    fn insert_first_staff(&self, account: &Account) -> Result<bool, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let marked = tx.execute(
            "INSERT INTO named_values (name, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![STAFF_MARKER, account.email.as_str()],
        )?;
        if marked == 0 {
            return Ok(false);
        }
        insert_account(&tx, account)?;
        tx.commit()?;
        Ok(true)
    }

    fn account(&self, email: &Email) -> Result<Option<Account>, StoreError> {
        let row = self
            .lock()
            .query_row(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email = ?1"),
                [email.as_str()],
                account_row,
            )
            .optional()?;
        row.map(AccountRow::into_account).transpose()
    }

    fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY email"
        ))?;
        let rows = stmt
            .query_map([], account_row)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(AccountRow::into_account).collect()
    }

    fn set_password(&self, email: &Email, hash: &PasswordHash) -> Result<bool, StoreError> {
        let n = self.lock().execute(
            "UPDATE accounts SET password_hash = ?2 WHERE email = ?1",
            params![email.as_str(), hash.as_str()],
        )?;
        Ok(n == 1)
    }

    fn set_roles(&self, email: &Email, roles: &[Role]) -> Result<bool, StoreError> {
        let n = self.lock().execute(
            "UPDATE accounts SET roles = ?2 WHERE email = ?1",
            params![email.as_str(), roles_to_text(roles)],
        )?;
        Ok(n == 1)
    }

    fn insert_session(&self, s: &Session) -> Result<(), StoreError> {
        self.lock().execute(
            &format!("INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"),
            params![
                s.key.0,
                s.email.as_str(),
                s.created_at,
                s.expires_at,
                s.revoked_at
            ],
        )?;
        Ok(())
    }

    fn session(&self, key: &SessionKey) -> Result<Option<Session>, StoreError> {
        let row = self
            .lock()
            .query_row(
                &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE key = ?1"),
                [&key.0],
                session_row,
            )
            .optional()?;
        row.map(SessionRow::into_session).transpose()
    }

    fn revoke_session(&self, key: &SessionKey, now: i64) -> Result<bool, StoreError> {
        let n = self.lock().execute(
            "UPDATE sessions SET revoked_at = ?2 WHERE key = ?1 AND revoked_at IS NULL",
            params![key.0, now],
        )?;
        Ok(n == 1)
    }

    fn revoke_sessions_of(&self, email: &Email, now: i64) -> Result<Vec<SessionKey>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "UPDATE sessions SET revoked_at = ?2
             WHERE email = ?1 AND revoked_at IS NULL AND expires_at > ?2
             RETURNING key",
        )?;
        let keys = stmt
            .query_map(params![email.as_str(), now], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(keys.into_iter().map(SessionKey).collect())
    }

    fn purge_sessions(&self, before: i64) -> Result<u64, StoreError> {
        let n = self.lock().execute(
            "DELETE FROM sessions WHERE expires_at < ?1 OR revoked_at < ?1",
            [before],
        )?;
        Ok(n as u64)
    }

    fn put_value_once(&self, name: &str, value: &str) -> Result<String, StoreError> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO named_values (name, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![name, value],
        )?;
        Ok(conn.query_row(
            "SELECT value FROM named_values WHERE name = ?1",
            [name],
            |r| r.get(0),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_store_contract() {
        super::super::conformance::check(&SqliteStore::in_memory().expect("store"));
    }

    #[test]
    fn survives_a_reopen() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("identity.db");
        let first = SqliteStore::open(&path).expect("open");
        assert_eq!(first.put_value_once("k", "v1").expect("put"), "v1");
        drop(first);
        let again = SqliteStore::open(&path).expect("reopen");
        assert_eq!(again.put_value_once("k", "v2").expect("put"), "v1");
    }
}
