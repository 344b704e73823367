//! The PostgreSQL store of the scale-out mode: one schema per service in a shared database,
//! documents as `jsonb`, a small connection pool. Write transactions lock the rows they read
//! (`FOR UPDATE`), so two replicas of a service cannot both cancel the same order.

use postgres::types::ToSql;
use postgres::NoTls;
use r2d2::{Pool, PooledConnection};
use r2d2_postgres::PostgresConnectionManager;
use serde_json::Value;

use super::{
    dead_letter_of, total_from_page, DeadLetter, Page, Pending, Query, Store, StoreError, Stored,
    Tx,
};
use crate::event::Event;

type Manager = PostgresConnectionManager<NoTls>;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS documents (
    collection TEXT NOT NULL,
    id BIGINT NOT NULL,
    body JSONB NOT NULL,
    PRIMARY KEY (collection, id)
);
CREATE TABLE IF NOT EXISTS sequences (collection TEXT PRIMARY KEY, last BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    position BIGSERIAL PRIMARY KEY,
    event TEXT NOT NULL,
    published BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (position) WHERE NOT published;
CREATE TABLE IF NOT EXISTS processed (
    consumer TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
ALTER TABLE processed ADD COLUMN IF NOT EXISTS processed_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS processed_age ON processed (processed_at);
CREATE TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS idempotency_age ON idempotency (created_at);
CREATE TABLE IF NOT EXISTS dead_letters (
    consumer TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event TEXT NOT NULL,
    error TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    failed_at BIGINT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
";

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        // `postgres::Error`'s own text is only "db error" for what the server said: say it.
        match e.as_db_error() {
            Some(db) => StoreError::Backend(format!("{} ({})", db.message(), db.code().code())),
            None => StoreError::Backend(e.to_string()),
        }
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
        // Closing the blocking clients must not happen on an async worker thread (the
        // `postgres` crate would start a runtime inside the runtime): hand the pool to a
        // blocking thread to close.
        if let (Ok(rt), Some(pool)) = (tokio::runtime::Handle::try_current(), self.pool.take()) {
            rt.spawn_blocking(move || drop(pool));
        }
    }
}

impl PostgresStore {
    /// Connects (blocking: call from a blocking thread) and creates the service's schema.
    /// `schema` must be a plain identifier (letters, digits, `_`).
    pub fn open(url: &str, schema: &str) -> Result<PostgresStore, StoreError> {
        if schema.is_empty()
            || !schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(StoreError::Backend(format!(
                "`{schema}` is not a valid schema name"
            )));
        }
        let config: postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Backend(format!("bad database URL: {e}")))?;
        let mut direct = config.connect(NoTls)?;
        // Replicas starting together would race on `CREATE … IF NOT EXISTS` (which is not
        // safe against a concurrent creation): one of them sets the schema up at a time.
        let mut setup = direct.transaction()?;
        setup.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            &[&format!("mall-store-schema:{schema}")],
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

    /// Drops a schema and everything in it (tests).
    pub fn drop_schema(url: &str, schema: &str) -> Result<(), StoreError> {
        let config: postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Backend(format!("bad database URL: {e}")))?;
        let mut c = config.connect(NoTls)?;
        c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))?;
        Ok(())
    }
}

struct PgTx {
    conn: PooledConnection<Manager>,
    open: bool,
    lock_rows: bool,
}

impl Drop for PgTx {
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.batch_execute("ROLLBACK");
        }
    }
}

impl Tx for PgTx {
    fn next_id(&mut self, collection: &str) -> Result<i64, StoreError> {
        let row = self.conn.query_one(
            "INSERT INTO sequences (collection, last) VALUES ($1, 1)
             ON CONFLICT (collection) DO UPDATE SET last = sequences.last + 1
             RETURNING last",
            &[&collection],
        )?;
        Ok(row.get(0))
    }

    fn get_raw(&mut self, collection: &str, id: i64) -> Result<Option<Value>, StoreError> {
        let sql = if self.lock_rows {
            "SELECT body FROM documents WHERE collection = $1 AND id = $2 FOR UPDATE"
        } else {
            "SELECT body FROM documents WHERE collection = $1 AND id = $2"
        };
        Ok(self
            .conn
            .query_opt(sql, &[&collection, &id])?
            .map(|r| r.get(0)))
    }

    fn put_raw(&mut self, collection: &str, id: i64, doc: &Value) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO documents (collection, id, body) VALUES ($1, $2, $3)
             ON CONFLICT (collection, id) DO UPDATE SET body = excluded.body",
            &[&collection, &id, doc],
        )?;
        Ok(())
    }

    fn list_text(&mut self, collection: &str, query: &Query) -> Result<Page<Stored>, StoreError> {
        let mut args: Vec<Box<dyn ToSql + Sync>> = vec![Box::new(collection.to_owned())];
        let mut filter = String::from("collection = $1");
        for (field, value) in &query.equals {
            args.push(Box::new(field.clone()));
            args.push(Box::new(value.clone()));
            filter.push_str(&format!(
                " AND body -> ${} = ${}",
                args.len() - 1,
                args.len()
            ));
        }
        if let Some((field, values)) = &query.within {
            if values.is_empty() {
                return Ok(Page {
                    items: vec![],
                    total: 0,
                });
            }
            if field == "id" {
                let ids: Vec<i64> = values.iter().filter_map(Value::as_i64).collect();
                args.push(Box::new(ids));
                filter.push_str(&format!(" AND id = ANY(${})", args.len()));
            } else {
                args.push(Box::new(field.clone()));
                args.push(Box::new(values.clone()));
                filter.push_str(&format!(
                    " AND body -> ${} = ANY(${})",
                    args.len() - 1,
                    args.len()
                ));
            }
        }
        let filtered = args.len();
        let order = match &query.sort {
            Some(s) if s.field != "id" => {
                args.push(Box::new(s.field.clone()));
                format!(
                    "body -> ${} {}, id",
                    args.len(),
                    if s.descending { "DESC" } else { "ASC" }
                )
            }
            Some(s) if s.descending => "id DESC".to_owned(),
            _ => "id ASC".to_owned(),
        };
        args.push(Box::new(query.size.min(i64::MAX as u64) as i64));
        args.push(Box::new(
            query.page.saturating_mul(query.size).min(i64::MAX as u64) as i64,
        ));
        let sql = format!(
            "SELECT id, body::text FROM documents WHERE {filter} ORDER BY {order} LIMIT ${} OFFSET ${}",
            args.len() - 1,
            args.len()
        );
        let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
        let items: Vec<Stored> = self
            .conn
            .query(&sql, &refs)?
            .into_iter()
            .map(|r| Stored {
                id: r.get(0),
                body: r.get(1),
            })
            .collect();
        let total = match total_from_page(query, items.len()) {
            Some(total) => total,
            None => {
                let total: i64 = self
                    .conn
                    .query_one(
                        &format!("SELECT COUNT(*) FROM documents WHERE {filter}"),
                        &refs[..filtered],
                    )?
                    .get(0);
                total.max(0) as u64
            }
        };
        Ok(Page { items, total })
    }

    fn push_event(&mut self, event: &Event) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO outbox (event) VALUES ($1)",
            &[&event.to_json()],
        )?;
        Ok(())
    }

    fn mark_processed(&mut self, consumer: &str, event_id: &str) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "INSERT INTO processed (consumer, event_id, processed_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&consumer, &event_id, &crate::event::now_millis()],
        )?;
        Ok(n == 1)
    }

    fn get_key(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_opt("SELECT value FROM keys WHERE key = $1", &[&key])?
            .map(|r| r.get(0)))
    }

    fn put_key(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO keys (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )?;
        Ok(())
    }

    fn claim_key(
        &mut self,
        key: &str,
        now: i64,
        expired_before: i64,
    ) -> Result<Option<String>, StoreError> {
        // Insert first: a concurrent claim of the same key waits on the unique index until
        // the first transaction ends, then finds its row (or, had it rolled back, inserts).
        // The row may be pruned between a conflict and the read: then claim again.
        for _ in 0..3 {
            let inserted = self.conn.execute(
                "INSERT INTO idempotency (key, value, created_at) VALUES ($1, '', $2)
                 ON CONFLICT (key) DO NOTHING",
                &[&key, &now],
            )?;
            if inserted == 1 {
                return Ok(None);
            }
            let Some(row) = self.conn.query_opt(
                "SELECT value, created_at FROM idempotency WHERE key = $1 FOR UPDATE",
                &[&key],
            )?
            else {
                continue;
            };
            let (value, created_at): (String, i64) = (row.get(0), row.get(1));
            if created_at < expired_before {
                self.conn.execute(
                    "UPDATE idempotency SET value = '', created_at = $2 WHERE key = $1",
                    &[&key, &now],
                )?;
                return Ok(None);
            }
            return Ok(Some(value));
        }
        Err(StoreError::Backend(format!(
            "idempotency key `{key}` kept vanishing while being claimed; try again"
        )))
    }

    fn settle_key(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE idempotency SET value = $2 WHERE key = $1",
            &[&key, &value],
        )?;
        Ok(())
    }

    fn lock(&mut self, name: &str) -> Result<(), StoreError> {
        // Advisory locks are per database: the schema keeps services sharing one apart. A
        // hash collision only makes two unrelated changes wait for each other.
        self.conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ':' || $1, 0))",
            &[&name],
        )?;
        Ok(())
    }

    fn dead_letter(&mut self, letter: &DeadLetter) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO dead_letters (consumer, event_id, event, error, attempts, failed_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (consumer, event_id) DO UPDATE SET error = excluded.error,
                 attempts = excluded.attempts, failed_at = excluded.failed_at",
            &[
                &letter.consumer,
                &letter.event.id,
                &letter.event.to_json(),
                &letter.error,
                &i64::from(letter.attempts),
                &letter.failed_at,
            ],
        )?;
        Ok(())
    }

    fn take_dead_letter(
        &mut self,
        consumer: &str,
        event_id: &str,
    ) -> Result<Option<DeadLetter>, StoreError> {
        let row = self.conn.query_opt(
            "DELETE FROM dead_letters WHERE consumer = $1 AND event_id = $2
             RETURNING consumer, event, error, attempts, failed_at",
            &[&consumer, &event_id],
        )?;
        row.map(|r| {
            let event: String = r.get(1);
            dead_letter_of(r.get(0), &event, r.get(2), r.get(3), r.get(4))
        })
        .transpose()
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        self.conn.batch_execute("COMMIT")?;
        self.open = false;
        Ok(())
    }
}

impl PostgresStore {
    fn pool(&self) -> Result<PooledConnection<Manager>, StoreError> {
        self.pool
            .as_ref()
            .ok_or_else(|| StoreError::Backend("the store is closed".into()))?
            .get()
            .map_err(StoreError::from)
    }

    fn start(&self, lock_rows: bool) -> Result<Box<dyn Tx + '_>, StoreError> {
        let mut conn = self.pool()?;
        conn.batch_execute(if lock_rows {
            "BEGIN"
        } else {
            "BEGIN READ ONLY"
        })?;
        Ok(Box::new(PgTx {
            conn,
            open: true,
            lock_rows,
        }))
    }
}

impl Store for PostgresStore {
    fn begin(&self) -> Result<Box<dyn Tx + '_>, StoreError> {
        self.start(true)
    }

    fn begin_read(&self) -> Result<Box<dyn Tx + '_>, StoreError> {
        self.start(false)
    }

    fn pending_events(&self, limit: usize) -> Result<Vec<Pending>, StoreError> {
        let mut conn = self.pool()?;
        let rows = conn.query(
            "SELECT position, event FROM outbox WHERE NOT published ORDER BY position LIMIT $1",
            &[&(limit as i64)],
        )?;
        rows.into_iter()
            .map(|r| {
                let position: i64 = r.get(0);
                let json: String = r.get(1);
                let event = serde_json::from_str(&json).map_err(|e| StoreError::Corrupt {
                    collection: "outbox".into(),
                    id: position,
                    reason: e.to_string(),
                })?;
                Ok(Pending { position, event })
            })
            .collect()
    }

    fn mark_published(&self, positions: &[i64]) -> Result<(), StoreError> {
        let mut conn = self.pool()?;
        conn.execute(
            "UPDATE outbox SET published = TRUE WHERE position = ANY($1)",
            &[&positions],
        )?;
        Ok(())
    }

    fn prune_keys(&self, expired_before: i64) -> Result<u64, StoreError> {
        let n = self.pool()?.execute(
            "DELETE FROM idempotency WHERE created_at < $1",
            &[&expired_before],
        )?;
        Ok(n)
    }

    fn prune_published(&self) -> Result<u64, StoreError> {
        Ok(self
            .pool()?
            .execute("DELETE FROM outbox WHERE published", &[])?)
    }

    fn prune_processed(&self, before: i64) -> Result<u64, StoreError> {
        Ok(self
            .pool()?
            .execute("DELETE FROM processed WHERE processed_at < $1", &[&before])?)
    }

    fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        let rows = self.pool()?.query(
            "SELECT consumer, event, error, attempts, failed_at FROM dead_letters
             ORDER BY failed_at, consumer, event_id",
            &[],
        )?;
        rows.into_iter()
            .map(|r| {
                let event: String = r.get(1);
                dead_letter_of(r.get(0), &event, r.get(2), r.get(3), r.get(4))
            })
            .collect()
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.pool()?.batch_execute("SELECT 1")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

    /// Needs the PostgreSQL server of this machine kind (127.0.0.1:5432, trust auth).
    #[test]
    fn postgres_store_keeps_the_store_contract() {
        let schema = format!("malltest_{}", uuid::Uuid::new_v4().simple());
        let store = PostgresStore::open(URL, &schema).expect("PostgreSQL runs on 127.0.0.1:5432");
        crate::store::conformance::check(&store);
        drop(store);
        PostgresStore::drop_schema(URL, &schema).expect("cleanup");
    }
}
