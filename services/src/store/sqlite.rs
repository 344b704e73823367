//! The embedded store: one SQLite file per service, documents as JSON.
//!
//! A std `Mutex<Connection>` is enough: every transaction is short and runs on a blocking
//! thread, and SQLite serialises writers anyway.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use serde_json::Value;

use super::{
    dead_letter_of, parse, total_from_page, DeadLetter, Page, Pending, Query, Store, StoreError,
    Stored, Tx,
};
use crate::event::Event;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS documents (
    collection TEXT NOT NULL,
    id INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (collection, id)
);
CREATE TABLE IF NOT EXISTS sequences (collection TEXT PRIMARY KEY, last INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    event TEXT NOT NULL,
    published INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (published, position);
CREATE TABLE IF NOT EXISTS processed (
    consumer TEXT NOT NULL,
    event_id TEXT NOT NULL,
    processed_at INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (consumer, event_id)
);
CREATE TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idempotency_age ON idempotency (created_at);
CREATE TABLE IF NOT EXISTS dead_letters (
    consumer TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event TEXT NOT NULL,
    error TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    failed_at INTEGER NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
";

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating if needed) the store file.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path)?;
        Self::init(conn)
    }

    /// A store that lives in memory only (projection rebuilds, tests).
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<SqliteStore, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        // Stores made before the ledger kept its time: add the column (0: prunable).
        let has_time: bool = conn.query_row(
            "SELECT COUNT(*) > 0 FROM pragma_table_info('processed') WHERE name = 'processed_at'",
            [],
            |r| r.get(0),
        )?;
        if !has_time {
            conn.execute_batch(
                "ALTER TABLE processed ADD COLUMN processed_at INTEGER NOT NULL DEFAULT 0",
            )?;
        }
        conn.execute_batch("CREATE INDEX IF NOT EXISTS processed_age ON processed (processed_at)")?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-done transaction behind
        // (SqliteTx rolls back on drop), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct SqliteTx<'a> {
    conn: MutexGuard<'a, Connection>,
    open: bool,
}

impl Drop for SqliteTx<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

fn path_of(field: &str) -> String {
    format!("$.{field}")
}

impl Tx for SqliteTx<'_> {
    fn next_id(&mut self, collection: &str) -> Result<i64, StoreError> {
        let last: Option<i64> = self
            .conn
            .query_row(
                "SELECT last FROM sequences WHERE collection = ?1",
                [collection],
                |r| r.get(0),
            )
            .optional()?;
        let next = last.unwrap_or(0) + 1;
        self.conn.execute(
            "INSERT INTO sequences (collection, last) VALUES (?1, ?2)
             ON CONFLICT (collection) DO UPDATE SET last = excluded.last",
            params![collection, next],
        )?;
        Ok(next)
    }

    fn get_raw(&mut self, collection: &str, id: i64) -> Result<Option<Value>, StoreError> {
        let body: Option<String> = self
            .conn
            .query_row(
                "SELECT body FROM documents WHERE collection = ?1 AND id = ?2",
                params![collection, id],
                |r| r.get(0),
            )
            .optional()?;
        body.map(|body| parse(collection, &Stored { id, body }))
            .transpose()
    }

    fn put_raw(&mut self, collection: &str, id: i64, doc: &Value) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO documents (collection, id, body) VALUES (?1, ?2, ?3)
             ON CONFLICT (collection, id) DO UPDATE SET body = excluded.body",
            params![collection, id, doc.to_string()],
        )?;
        Ok(())
    }

    fn list_text(&mut self, collection: &str, query: &Query) -> Result<Page<Stored>, StoreError> {
        let mut filter = String::from("collection = ?");
        let mut args: Vec<rusqlite::types::Value> = vec![collection.to_owned().into()];
        for (field, value) in &query.equals {
            filter.push_str(" AND json_extract(body, ?) = ?");
            args.push(path_of(field).into());
            args.push(sql_value(value));
        }
        if let Some((field, values)) = &query.within {
            if values.is_empty() {
                return Ok(Page {
                    items: vec![],
                    total: 0,
                });
            }
            let marks = vec!["?"; values.len()].join(",");
            if field == "id" {
                filter.push_str(&format!(" AND id IN ({marks})"));
            } else {
                filter.push_str(&format!(" AND json_extract(body, ?) IN ({marks})"));
                args.push(path_of(field).into());
            }
            args.extend(values.iter().map(sql_value));
        }
        let filtered = args.len();
        let order = match &query.sort {
            Some(s) if s.field != "id" => {
                args.push(path_of(&s.field).into());
                format!(
                    "json_extract(body, ?) {}, id",
                    if s.descending { "DESC" } else { "ASC" }
                )
            }
            Some(s) if s.descending => "id DESC".to_owned(),
            _ => "id ASC".to_owned(),
        };
        args.push((query.size.min(i64::MAX as u64) as i64).into());
        args.push((query.page.saturating_mul(query.size).min(i64::MAX as u64) as i64).into());
        // The same few statement shapes come back with every request: prepared once each.
        let sql = format!(
            "SELECT id, body FROM documents WHERE {filter} ORDER BY {order} LIMIT ? OFFSET ?"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let items = stmt
            .query_map(params_from_iter(args.iter()), |r| {
                Ok(Stored {
                    id: r.get(0)?,
                    body: r.get(1)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let total = match total_from_page(query, items.len()) {
            Some(total) => total,
            None => {
                let mut count = self
                    .conn
                    .prepare_cached(&format!("SELECT COUNT(*) FROM documents WHERE {filter}"))?;
                let total: i64 =
                    count.query_row(params_from_iter(args[..filtered].iter()), |r| r.get(0))?;
                total.max(0) as u64
            }
        };
        Ok(Page { items, total })
    }

    fn push_event(&mut self, event: &Event) -> Result<(), StoreError> {
        self.conn
            .execute("INSERT INTO outbox (event) VALUES (?1)", [event.to_json()])?;
        Ok(())
    }

    fn mark_processed(&mut self, consumer: &str, event_id: &str) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "INSERT OR IGNORE INTO processed (consumer, event_id, processed_at) VALUES (?1, ?2, ?3)",
            params![consumer, event_id, crate::event::now_millis()],
        )?;
        Ok(n == 1)
    }

    fn get_key(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM keys WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    fn put_key(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO keys (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    fn claim_key(
        &mut self,
        key: &str,
        now: i64,
        expired_before: i64,
    ) -> Result<Option<String>, StoreError> {
        // The transaction began IMMEDIATE: it is the only writer, so no other claim can
        // come between the insert and the read.
        let inserted = self.conn.execute(
            "INSERT INTO idempotency (key, value, created_at) VALUES (?1, '', ?2)
             ON CONFLICT (key) DO NOTHING",
            params![key, now],
        )?;
        if inserted == 1 {
            return Ok(None);
        }
        let (value, created_at): (String, i64) = self.conn.query_row(
            "SELECT value, created_at FROM idempotency WHERE key = ?1",
            [key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if created_at < expired_before {
            self.conn.execute(
                "UPDATE idempotency SET value = '', created_at = ?2 WHERE key = ?1",
                params![key, now],
            )?;
            return Ok(None);
        }
        Ok(Some(value))
    }

    fn settle_key(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE idempotency SET value = ?2 WHERE key = ?1",
            params![key, value],
        )?;
        Ok(())
    }

    fn lock(&mut self, _name: &str) -> Result<(), StoreError> {
        // Every write transaction began IMMEDIATE and holds the file's one write lock.
        Ok(())
    }

    fn dead_letter(&mut self, letter: &DeadLetter) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO dead_letters (consumer, event_id, event, error, attempts, failed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (consumer, event_id) DO UPDATE SET error = excluded.error,
                 attempts = excluded.attempts, failed_at = excluded.failed_at",
            params![
                letter.consumer,
                letter.event.id,
                letter.event.to_json(),
                letter.error,
                letter.attempts,
                letter.failed_at
            ],
        )?;
        Ok(())
    }

    fn take_dead_letter(
        &mut self,
        consumer: &str,
        event_id: &str,
    ) -> Result<Option<DeadLetter>, StoreError> {
        let row = self
            .conn
            .query_row(
                "DELETE FROM dead_letters WHERE consumer = ?1 AND event_id = ?2
                 RETURNING consumer, event, error, attempts, failed_at",
                params![consumer, event_id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(c, e, err, a, f)| dead_letter_of(c, &e, err, a, f))
            .transpose()
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        self.conn.execute_batch("COMMIT")?;
        self.open = false;
        Ok(())
    }
}

fn sql_value(v: &Value) -> rusqlite::types::Value {
    match v {
        Value::Null => rusqlite::types::Value::Null,
        Value::Bool(b) => (*b as i64).into(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64().unwrap_or_default().into(),
        },
        Value::String(s) => s.clone().into(),
        other => other.to_string().into(),
    }
}

impl Store for SqliteStore {
    fn begin(&self) -> Result<Box<dyn Tx + '_>, StoreError> {
        let conn = self.lock();
        conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(Box::new(SqliteTx { conn, open: true }))
    }

    fn pending_events(&self, limit: usize) -> Result<Vec<Pending>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT position, event FROM outbox WHERE published = 0 ORDER BY position LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (position, json) = row?;
            let event = serde_json::from_str(&json).map_err(|e| StoreError::Corrupt {
                collection: "outbox".into(),
                id: position,
                reason: e.to_string(),
            })?;
            out.push(Pending { position, event });
        }
        Ok(out)
    }

    fn mark_published(&self, positions: &[i64]) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        for p in positions {
            tx.execute("UPDATE outbox SET published = 1 WHERE position = ?1", [p])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn prune_keys(&self, expired_before: i64) -> Result<u64, StoreError> {
        let n = self.lock().execute(
            "DELETE FROM idempotency WHERE created_at < ?1",
            [expired_before],
        )?;
        Ok(n as u64)
    }

    fn prune_published(&self) -> Result<u64, StoreError> {
        let n = self
            .lock()
            .execute("DELETE FROM outbox WHERE published = 1", [])?;
        Ok(n as u64)
    }

    fn prune_processed(&self, before: i64) -> Result<u64, StoreError> {
        let n = self
            .lock()
            .execute("DELETE FROM processed WHERE processed_at < ?1", [before])?;
        Ok(n as u64)
    }

    fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT consumer, event, error, attempts, failed_at FROM dead_letters
             ORDER BY failed_at, consumer, event_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (c, e, err, a, f) = row?;
            out.push(dead_letter_of(c, &e, err, a, f)?);
        }
        Ok(out)
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.lock().query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_store_keeps_the_store_contract() {
        crate::store::conformance::check(&SqliteStore::in_memory().expect("store"));
    }
}
