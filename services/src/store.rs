//! The storage port: a transaction over JSON documents grouped in collections, with the
//! outbox, the processed-event ledger and idempotency keys in the same transaction.
//!
//! The domain code only sees [`Tx`]; the adapters are [`sqlite`] (the embedded default) and
//! [`postgres`] (the scale-out mode). Keeping the outbox and the ledger in the same transaction
//! as the change is what makes "an event is published if and only if its change committed" and
//! "every consumer is idempotent by eventId" hold.

#[cfg(test)]
pub(crate) mod conformance;
pub mod postgres;
pub mod sqlite;

use std::sync::Arc;

use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

use crate::event::Event;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage failed: {0}")]
    Backend(String),
    #[error("stored document {collection}/{id} is corrupt: {reason}")]
    Corrupt {
        collection: String,
        id: i64,
        reason: String,
    },
    #[error("storage task failed: {0}")]
    Task(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

/// Sort order of a listing: a document field, ascending or descending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    pub field: String,
    pub descending: bool,
}

/// A listing: equality and membership filters on document fields, sort and page.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub equals: Vec<(String, Value)>,
    /// `field IN (values)`; the field `id` means the document id.
    pub within: Option<(String, Vec<Value>)>,
    pub sort: Option<Sort>,
    pub page: u64,
    pub size: u64,
}

/// A stored document as the store holds it: its id and its JSON text, unparsed (a listing
/// is written out with its items' text spliced in, [`crate::resource::Render::write`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub id: i64,
    pub body: String,
}

/// One page of a listing and the total number of matching documents.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

/// A pending outbox entry: the event and its position in this store's outbox.
#[derive(Debug, Clone)]
pub struct Pending {
    pub position: i64,
    pub event: Event,
}

/// An event a consumer gave up on, with why and after how many attempts.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub consumer: String,
    pub event: Event,
    pub error: String,
    pub attempts: u32,
    /// Milliseconds since the Unix epoch.
    pub failed_at: i64,
}

/// One open transaction. Dropping it without [`Tx::commit`] rolls it back.
pub trait Tx {
    /// The next id of a collection (1, 2, 3, …), never reused.
    fn next_id(&mut self, collection: &str) -> Result<i64, StoreError>;
    fn get_raw(&mut self, collection: &str, id: i64) -> Result<Option<Value>, StoreError>;
    fn put_raw(&mut self, collection: &str, id: i64, doc: &Value) -> Result<(), StoreError>;
    /// The documents matching `query`, one page of them, as stored text.
    fn list_text(&mut self, collection: &str, query: &Query) -> Result<Page<Stored>, StoreError>;
    /// Records an event to publish once this transaction commits.
    fn push_event(&mut self, event: &Event) -> Result<(), StoreError>;
    /// Marks an incoming event as processed by `consumer`; false if it already was.
    fn mark_processed(&mut self, consumer: &str, event_id: &str) -> Result<bool, StoreError>;
    fn get_key(&mut self, key: &str) -> Result<Option<String>, StoreError>;
    fn put_key(&mut self, key: &str, value: &str) -> Result<(), StoreError>;
    /// Claims an idempotency key for this transaction, insert first: `None` when the key was
    /// free (or its record was made before `expired_before`, milliseconds since the epoch),
    /// and the caller then records its result with [`Tx::settle_key`]; otherwise the result
    /// the first claimant recorded. Concurrent claims of one key wait for each other, so
    /// exactly one transaction ever gets `None`.
    fn claim_key(
        &mut self,
        key: &str,
        now: i64,
        expired_before: i64,
    ) -> Result<Option<String>, StoreError>;
    /// Records the result of a key this transaction claimed.
    fn settle_key(&mut self, key: &str, value: &str) -> Result<(), StoreError>;
    /// Serialises this transaction with every other one of the same store that takes the
    /// lock `name`, until it ends: for changes keyed by something that may have no row yet
    /// (a delivery per order). SQLite needs nothing (one writer at a time); PostgreSQL takes
    /// a transaction-scoped advisory lock.
    fn lock(&mut self, name: &str) -> Result<(), StoreError>;
    /// Puts an event `consumer` gave up on into the dead-letter table (replacing an older
    /// entry of the same event).
    fn dead_letter(&mut self, letter: &DeadLetter) -> Result<(), StoreError>;
    /// Takes a dead letter out of the table (to replay it); `None` if there is none.
    fn take_dead_letter(
        &mut self,
        consumer: &str,
        event_id: &str,
    ) -> Result<Option<DeadLetter>, StoreError>;
    fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// A store: where one service keeps its documents.
pub trait Store: Send + Sync + 'static {
    fn begin(&self) -> Result<Box<dyn Tx + '_>, StoreError>;
    /// A transaction that only reads (no row locks where the adapter has them).
    fn begin_read(&self) -> Result<Box<dyn Tx + '_>, StoreError> {
        self.begin()
    }
    /// Up to `limit` outbox events not yet published, oldest first.
    fn pending_events(&self, limit: usize) -> Result<Vec<Pending>, StoreError>;
    fn mark_published(&self, positions: &[i64]) -> Result<(), StoreError>;
    /// Deletes idempotency records made before `expired_before` (milliseconds since the
    /// epoch); returns how many went.
    fn prune_keys(&self, expired_before: i64) -> Result<u64, StoreError>;
    /// Deletes outbox entries already published (the bus holds them now); returns how many.
    fn prune_published(&self) -> Result<u64, StoreError>;
    /// Deletes processed-event records made before `before` (milliseconds since the epoch):
    /// an event redelivered after that would be handled again, so `before` must lie beyond
    /// any redelivery; returns how many went.
    fn prune_processed(&self, before: i64) -> Result<u64, StoreError>;
    /// The dead letters, oldest first.
    fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError>;
    /// Whether the store answers (readiness).
    fn ping(&self) -> Result<(), StoreError>;
}

/// Typed access on top of the raw document methods.
pub trait TxExt {
    fn get<T: DeserializeOwned>(
        &mut self,
        collection: &str,
        id: i64,
    ) -> Result<Option<T>, StoreError>;
    fn put<T: Serialize>(&mut self, collection: &str, id: i64, doc: &T) -> Result<(), StoreError>;
    fn list<T: DeserializeOwned>(
        &mut self,
        collection: &str,
        query: &Query,
    ) -> Result<Page<T>, StoreError>;
}

impl<X: Tx + ?Sized> TxExt for X {
    fn get<T: DeserializeOwned>(
        &mut self,
        collection: &str,
        id: i64,
    ) -> Result<Option<T>, StoreError> {
        self.get_raw(collection, id)?
            .map(|v| decode(collection, id, v))
            .transpose()
    }

    fn put<T: Serialize>(&mut self, collection: &str, id: i64, doc: &T) -> Result<(), StoreError> {
        let v = serde_json::to_value(doc).map_err(|e| StoreError::Corrupt {
            collection: collection.into(),
            id,
            reason: e.to_string(),
        })?;
        self.put_raw(collection, id, &v)
    }

    fn list<T: DeserializeOwned>(
        &mut self,
        collection: &str,
        query: &Query,
    ) -> Result<Page<T>, StoreError> {
        let page = self.list_text(collection, query)?;
        let items = page
            .items
            .iter()
            .map(|stored| parse(collection, stored))
            .collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            total: page.total,
        })
    }
}

/// A dead letter from its stored columns.
pub(crate) fn dead_letter_of(
    consumer: String,
    event: &str,
    error: String,
    attempts: i64,
    failed_at: i64,
) -> Result<DeadLetter, StoreError> {
    let event = serde_json::from_str(event).map_err(|e| StoreError::Corrupt {
        collection: "dead_letters".into(),
        id: failed_at,
        reason: e.to_string(),
    })?;
    Ok(DeadLetter {
        consumer,
        event,
        error,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        failed_at,
    })
}

/// A stored document's text read as `T`; one that does not read is [`StoreError::Corrupt`].
pub(crate) fn parse<T: DeserializeOwned>(
    collection: &str,
    stored: &Stored,
) -> Result<T, StoreError> {
    serde_json::from_str(&stored.body).map_err(|e| StoreError::Corrupt {
        collection: collection.into(),
        id: stored.id,
        reason: e.to_string(),
    })
}

/// The total of a listing whose page came back with `found` items, when the page itself
/// tells it (as Spring Data does): a first page that is not full, or a later page that is
/// neither full nor empty. `None`: the store has to count.
pub(crate) fn total_from_page(query: &Query, found: usize) -> Option<u64> {
    let found = found as u64;
    let offset = query.page.saturating_mul(query.size);
    let partial = found < query.size;
    (partial && (query.page == 0 || found > 0)).then(|| offset.saturating_add(found))
}

fn decode<T: DeserializeOwned>(collection: &str, id: i64, v: Value) -> Result<T, StoreError> {
    serde_json::from_value(v).map_err(|e| StoreError::Corrupt {
        collection: collection.into(),
        id,
        reason: e.to_string(),
    })
}

/// Runs `work` in one transaction on a blocking thread and commits it if `work` succeeds.
pub async fn transact<R, E, F>(store: &Arc<dyn Store>, work: F) -> Result<R, E>
where
    R: Send + 'static,
    E: From<StoreError> + Send + 'static,
    F: FnOnce(&mut dyn Tx) -> Result<R, E> + Send + 'static,
{
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || {
        let mut tx = store.begin()?;
        let out = work(&mut *tx)?;
        tx.commit()?;
        Ok(out)
    })
    .await
    .map_err(|e| E::from(StoreError::Task(e.to_string())))?
}

/// Runs a read-only closure (the transaction is rolled back) where blocking is allowed: on
/// a multi-threaded runtime in place, the worker handing its other tasks to another
/// thread, else on a blocking thread. A read is short (a few rows, or a page of them); in
/// place it starts at once, while a blocking thread first has to be woken and then has to
/// wake the task again, which after an idle moment cost about 0.15 ms of every answer.
pub async fn read<R, E, F>(store: &Arc<dyn Store>, work: F) -> Result<R, E>
where
    R: Send + 'static,
    E: From<StoreError> + Send + 'static,
    F: FnOnce(&mut dyn Tx) -> Result<R, E> + Send + 'static,
{
    use tokio::runtime::{Handle, RuntimeFlavor};
    let flavor = Handle::try_current().map(|h| h.runtime_flavor());
    if matches!(flavor, Ok(RuntimeFlavor::MultiThread)) {
        return tokio::task::block_in_place(|| {
            let mut tx = store.begin_read()?;
            work(&mut *tx)
        });
    }
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || {
        let mut tx = store.begin_read()?;
        work(&mut *tx)
    })
    .await
    .map_err(|e| E::from(StoreError::Task(e.to_string())))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(page: u64, size: u64) -> Query {
        Query {
            page,
            size,
            ..Query::default()
        }
    }

    #[test]
    fn a_page_tells_the_total_only_when_it_is_partial_and_not_past_the_end() {
        assert_eq!(total_from_page(&page(0, 20), 5), Some(5));
        assert_eq!(total_from_page(&page(0, 20), 0), Some(0));
        assert_eq!(total_from_page(&page(2, 20), 5), Some(45));
        // A full page, or an empty page past the end: the store counts.
        assert_eq!(total_from_page(&page(0, 20), 20), None);
        assert_eq!(total_from_page(&page(3, 20), 0), None);
    }
}
