//! The scale-out identity store: PostgreSQL, in its own schema of the shared database, so
//! every BFF replica sees the same accounts, sessions and signing key.

use postgres::NoTls;
use r2d2::{Pool, PooledConnection};
use r2d2_postgres::PostgresConnectionManager;

use super::{roles_to_text, AccountRow, IdentityStore, SessionRow, StoreError, STAFF_MARKER};
use crate::account::{Account, Email, PasswordHash};
use crate::policy::Role;
use crate::session::{Session, SessionKey};

type Manager = PostgresConnectionManager<NoTls>;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS accounts (
    email TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    roles TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    key TEXT PRIMARY KEY,
    email TEXT NOT NULL REFERENCES accounts (email),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX IF NOT EXISTS sessions_by_email ON sessions (email);
CREATE TABLE IF NOT EXISTS named_values (name TEXT PRIMARY KEY, value TEXT NOT NULL);
";

const ACCOUNT_COLUMNS: &str = "email, name, address, password_hash, roles, created_at";
const SESSION_COLUMNS: &str = "key, email, created_at, expires_at, revoked_at";

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        if e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) {
            return StoreError::Duplicate;
        }
        StoreError::Backend(e.to_string())
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> Self {
        StoreError::Backend(format!("no database connection: {e}"))
    }
}

#[derive(Debug)]
struct SearchPath(String);

impl r2d2::CustomizeConnection<postgres::Client, postgres::Error> for SearchPath {
    fn on_acquire(&self, conn: &mut postgres::Client) -> Result<(), postgres::Error> {
        conn.batch_execute(&format!("SET search_path TO \"{}\"", self.0))
    }
}

pub struct PostgresStore {
    /// Always `Some` until dropped.
    pool: Option<Pool<Manager>>,
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // The blocking client must not be closed on an async worker thread (it would start a
        // runtime inside the runtime): hand the pool to a blocking thread.
        if let (Ok(rt), Some(pool)) = (tokio::runtime::Handle::try_current(), self.pool.take()) {
            rt.spawn_blocking(move || drop(pool));
        }
    }
}

fn valid_schema(schema: &str) -> Result<(), StoreError> {
    if schema.is_empty()
        || !schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(StoreError::Backend(format!(
            "`{schema}` is not a valid schema name (letters, digits and `_` only)"
        )));
    }
    Ok(())
}

fn config(url: &str) -> Result<postgres::Config, StoreError> {
    url.parse()
        .map_err(|e| StoreError::Backend(format!("bad database URL: {e}")))
}

impl PostgresStore {
    /// Connects (blocking: call from a blocking thread) and creates the schema and tables.
    pub fn open(url: &str, schema: &str) -> Result<PostgresStore, StoreError> {
        valid_schema(schema)?;
        let config = config(url)?;
        let mut direct = config.connect(NoTls)?;
        // BFF replicas starting together would race on `CREATE … IF NOT EXISTS`: one sets
        // the schema up at a time.
        let mut setup = direct.transaction()?;
        setup.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            &[&format!("mall-identity-schema:{schema}")],
        )?;
        setup.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))?;
        setup.batch_execute(&format!("SET LOCAL search_path TO \"{schema}\""))?;
        setup.batch_execute(SCHEMA)?;
        setup.commit()?;
        let pool = Pool::builder()
            .max_size(8)
            .connection_customizer(Box::new(SearchPath(schema.to_owned())))
            .build(PostgresConnectionManager::new(config, NoTls))?;
        Ok(PostgresStore { pool: Some(pool) })
    }

    /// Drops the schema and everything in it (tests).
    pub fn drop_schema(url: &str, schema: &str) -> Result<(), StoreError> {
        valid_schema(schema)?;
        let mut c = config(url)?.connect(NoTls)?;
        c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))?;
        Ok(())
    }

    fn conn(&self) -> Result<PooledConnection<Manager>, StoreError> {
        Ok(self
            .pool
            .as_ref()
            .ok_or_else(|| StoreError::Backend("the store is closed".into()))?
            .get()?)
    }
}

fn account_row(r: &postgres::Row) -> AccountRow {
    AccountRow {
        email: r.get(0),
        name: r.get(1),
        address: r.get(2),
        password_hash: r.get(3),
        roles: r.get(4),
        created_at: r.get(5),
    }
}

fn session_row(r: &postgres::Row) -> SessionRow {
    SessionRow {
        key: r.get(0),
        email: r.get(1),
        created_at: r.get(2),
        expires_at: r.get(3),
        revoked_at: r.get(4),
    }
}

const INSERT_ACCOUNT: &str =
    "INSERT INTO accounts (email, name, address, password_hash, roles, created_at)
     VALUES ($1, $2, $3, $4, $5, $6)";

fn account_params(a: &Account) -> [Box<dyn postgres::types::ToSql + Sync>; 6] {
    [
        Box::new(a.email.as_str().to_owned()),
        Box::new(a.name.as_str().to_owned()),
        Box::new(a.address.as_str().to_owned()),
        Box::new(a.password_hash.as_str().to_owned()),
        Box::new(roles_to_text(&a.roles)),
        Box::new(a.created_at),
    ]
}

impl IdentityStore for PostgresStore {
    fn insert_account(&self, account: &Account) -> Result<(), StoreError> {
        let params = account_params(account);
        let refs: Vec<_> = params.iter().map(|p| p.as_ref()).collect();
        self.conn()?.execute(INSERT_ACCOUNT, &refs)?;
        Ok(())
    }

    fn insert_first_staff(&self, account: &Account) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        // A second replica's insert waits on this row's lock and then finds the marker.
        let marked = tx.execute(
            "INSERT INTO named_values (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&STAFF_MARKER, &account.email.as_str()],
        )?;
        if marked == 0 {
            return Ok(false);
        }
        let params = account_params(account);
        let refs: Vec<_> = params.iter().map(|p| p.as_ref()).collect();
        tx.execute(INSERT_ACCOUNT, &refs)?;
        tx.commit()?;
        Ok(true)
    }

    fn account(&self, email: &Email) -> Result<Option<Account>, StoreError> {
        self.conn()?
            .query_opt(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email = $1"),
                &[&email.as_str()],
            )?
            .map(|r| account_row(&r).into_account())
            .transpose()
    }

    fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.conn()?
            .query(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY email"),
                &[],
            )?
            .iter()
            .map(|r| account_row(r).into_account())
            .collect()
    }

    fn set_password(&self, email: &Email, hash: &PasswordHash) -> Result<bool, StoreError> {
        let n = self.conn()?.execute(
            "UPDATE accounts SET password_hash = $2 WHERE email = $1",
            &[&email.as_str(), &hash.as_str()],
        )?;
        Ok(n == 1)
    }

    fn set_roles(&self, email: &Email, roles: &[Role]) -> Result<bool, StoreError> {
        let n = self.conn()?.execute(
            "UPDATE accounts SET roles = $2 WHERE email = $1",
            &[&email.as_str(), &roles_to_text(roles)],
        )?;
        Ok(n == 1)
    }

    fn insert_session(&self, s: &Session) -> Result<(), StoreError> {
        self.conn()?.execute(
            &format!("INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"),
            &[
                &s.key.0,
                &s.email.as_str(),
                &s.created_at,
                &s.expires_at,
                &s.revoked_at,
            ],
        )?;
        Ok(())
    }

    fn session(&self, key: &SessionKey) -> Result<Option<Session>, StoreError> {
        self.conn()?
            .query_opt(
                &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE key = $1"),
                &[&key.0],
            )?
            .map(|r| session_row(&r).into_session())
            .transpose()
    }

    fn revoke_session(&self, key: &SessionKey, now: i64) -> Result<bool, StoreError> {
        let n = self.conn()?.execute(
            "UPDATE sessions SET revoked_at = $2 WHERE key = $1 AND revoked_at IS NULL",
            &[&key.0, &now],
        )?;
        Ok(n == 1)
    }

    fn revoke_sessions_of(&self, email: &Email, now: i64) -> Result<Vec<SessionKey>, StoreError> {
        Ok(self
            .conn()?
            .query(
                "UPDATE sessions SET revoked_at = $2
                 WHERE email = $1 AND revoked_at IS NULL AND expires_at > $2
                 RETURNING key",
                &[&email.as_str(), &now],
            )?
            .iter()
            .map(|r| SessionKey(r.get(0)))
            .collect())
    }

    fn purge_sessions(&self, before: i64) -> Result<u64, StoreError> {
        Ok(self.conn()?.execute(
            "DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1",
            &[&before],
        )?)
    }

    fn put_value_once(&self, name: &str, value: &str) -> Result<String, StoreError> {
        let mut conn = self.conn()?;
        conn.execute(
            "INSERT INTO named_values (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&name, &value],
        )?;
        Ok(conn
            .query_one("SELECT value FROM named_values WHERE name = $1", &[&name])?
            .get(0))
    }
}
