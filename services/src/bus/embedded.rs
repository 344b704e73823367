//! The embedded event bus: the log in a SQLite file in the data directory, shared by every
//! role of one process. New events wake waiting subscribers through a `watch` channel
//! holding the log's head.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::watch;

use super::{BusError, Delivered, EventBus, Start, Subscription};
use crate::event::Event;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    event TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS consumers (name TEXT PRIMARY KEY, acked INTEGER NOT NULL);
";

const BATCH: i64 = 256;

#[derive(Clone)]
pub struct EmbeddedBus {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    head: watch::Sender<u64>,
}

impl From<rusqlite::Error> for BusError {
    fn from(e: rusqlite::Error) -> Self {
        BusError::Backend(e.to_string())
    }
}

impl EmbeddedBus {
    pub fn open(path: &Path) -> Result<EmbeddedBus, BusError> {
        Self::init(Connection::open(path)?)
    }

    pub fn in_memory() -> Result<EmbeddedBus, BusError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<EmbeddedBus, BusError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        let head: i64 =
            conn.query_row("SELECT COALESCE(MAX(sequence), 0) FROM events", [], |r| {
                r.get(0)
            })?;
        let (tx, _) = watch::channel(head as u64);
        Ok(EmbeddedBus {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                head: tx,
            }),
        })
    }

    async fn blocking<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, BusError> + Send + 'static,
    ) -> Result<R, BusError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let conn = inner.conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&conn)
        })
        .await
        .map_err(|e| BusError::Backend(e.to_string()))?
    }
}

#[async_trait]
impl EventBus for EmbeddedBus {
    async fn publish(&self, event: &Event) -> Result<(), BusError> {
        let (id, json) = (event.id.clone(), event.to_json());
        let seq = self
            .blocking(move |c| {
                // Not INSERT OR IGNORE: an ignored insert still uses up an AUTOINCREMENT
                // value, and sequences must have no gaps (`pending` counts on it).
                c.execute(
                    "INSERT INTO events (event_id, event) SELECT ?1, ?2
                     WHERE NOT EXISTS (SELECT 1 FROM events WHERE event_id = ?1)",
                    params![id, json],
                )?;
                Ok(
                    c.query_row("SELECT COALESCE(MAX(sequence), 0) FROM events", [], |r| {
                        r.get::<_, i64>(0)
                    })?,
                )
            })
            .await?;
        self.inner.head.send_replace(seq as u64);
        Ok(())
    }

    async fn subscribe(&self, start: Start) -> Result<Box<dyn Subscription>, BusError> {
        let (position, durable) = match start {
            Start::Beginning => (0, None),
            Start::New => (*self.inner.head.borrow(), None),
            Start::Durable(name) => {
                let n = name.clone();
                let acked = self
                    .blocking(move |c| {
                        Ok(
                            c.query_row("SELECT acked FROM consumers WHERE name = ?1", [n], |r| {
                                r.get::<_, i64>(0)
                            })
                            .optional()?,
                        )
                    })
                    .await?;
                (acked.unwrap_or(0) as u64, Some(name))
            }
        };
        Ok(Box::new(EmbeddedSubscription {
            bus: self.clone(),
            head: self.inner.head.subscribe(),
            position,
            durable,
            buffer: std::collections::VecDeque::new(),
        }))
    }

    async fn head(&self) -> Result<u64, BusError> {
        Ok(*self.inner.head.borrow())
    }

    async fn ping(&self) -> Result<(), BusError> {
        self.blocking(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }

    fn crosses_processes(&self) -> bool {
        false
    }

    async fn prune(&self, consumers: &[&str], before: i64) -> Result<u64, BusError> {
        let consumers: Vec<String> = consumers.iter().map(|c| (*c).to_owned()).collect();
        self.blocking(move |c| {
            // The lowest acknowledgement among the consumers (0 for one that never acked).
            let mut floor = i64::MAX;
            for name in &consumers {
                let acked: Option<i64> = c
                    .query_row("SELECT acked FROM consumers WHERE name = ?1", [name], |r| {
                        r.get(0)
                    })
                    .optional()?;
                floor = floor.min(acked.unwrap_or(0));
            }
            if consumers.is_empty() || floor <= 0 {
                return Ok(0);
            }
            // Never the head itself: AUTOINCREMENT keeps sequences growing past deleted
            // rows, but the head must stay for readers that start from it.
            let n = c.execute(
                "DELETE FROM events WHERE sequence <= ?1
                   AND sequence < (SELECT MAX(sequence) FROM events)
                   AND json_extract(event, '$.timestamp') < ?2",
                params![floor, before],
            )?;
            Ok(n as u64)
        })
        .await
    }
}

struct EmbeddedSubscription {
    bus: EmbeddedBus,
    head: watch::Receiver<u64>,
    /// The last sequence handed out.
    position: u64,
    durable: Option<String>,
    buffer: std::collections::VecDeque<Delivered>,
}

#[async_trait]
impl Subscription for EmbeddedSubscription {
    async fn next(&mut self) -> Result<Delivered, BusError> {
        loop {
            if let Some(mut d) = self.buffer.pop_front() {
                self.position = d.sequence;
                d.pending = self.head.borrow().saturating_sub(d.sequence);
                return Ok(d);
            }
            let after = self.position as i64;
            let batch = self
                .bus
                .blocking(move |c| {
                    let mut stmt = c.prepare(
                        "SELECT sequence, event FROM events WHERE sequence > ?1
                         ORDER BY sequence LIMIT ?2",
                    )?;
                    let rows = stmt.query_map(params![after, BATCH], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                    })?;
                    let mut out = Vec::new();
                    for row in rows {
                        let (seq, json) = row?;
                        let event: Event = serde_json::from_str(&json).map_err(|e| {
                            BusError::Backend(format!("event {seq} in the log is corrupt: {e}"))
                        })?;
                        out.push(Delivered {
                            sequence: seq as u64,
                            pending: 0,
                            event,
                        });
                    }
                    Ok(out)
                })
                .await?;
            if batch.is_empty() {
                let position = self.position;
                self.head
                    .wait_for(|h| *h > position)
                    .await
                    .map_err(|_| BusError::Closed)?;
            } else {
                self.buffer.extend(batch);
            }
        }
    }

    fn position(&self) -> u64 {
        self.position
    }

    async fn ack(&mut self, sequence: u64) -> Result<(), BusError> {
        let Some(name) = self.durable.clone() else {
            return Ok(());
        };
        self.bus
            .blocking(move |c| {
                c.execute(
                    "INSERT INTO consumers (name, acked) VALUES (?1, ?2)
                     ON CONFLICT (name) DO UPDATE SET acked = MAX(acked, excluded.acked)",
                    params![name, sequence as i64],
                )?;
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn embedded_bus_keeps_the_bus_contract() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("bus.db");
        let open = move || {
            let path = path.clone();
            async move { Arc::new(EmbeddedBus::open(&path).expect("bus")) as Arc<dyn EventBus> }
        };
        crate::bus::conformance::check(open).await;
    }
}
