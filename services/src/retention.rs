//! How long the stores keep what they only need for a while, and the task that prunes it.
//!
//! - idempotency records answer a retried `POST /orders` with its first order for
//!   [`Retention::idempotency_keys`]; after that the key is free again and the record goes;
//! - published outbox entries go at once (the bus holds the events);
//! - a consumer's processed-event records go after [`Retention::processed_events`], far
//!   beyond any redelivery (JetStream redelivers unacknowledged events within seconds);
//! - the embedded event log drops events older than [`Retention::event_log`] that every
//!   consumer has acknowledged ([`crate::bus::EventBus::prune`]); JetStream's stream has
//!   the same age as its `max_age` and a byte limit that refuses new events rather than
//!   dropping old ones ([`crate::bus::nats`]).

use std::sync::Arc;
use std::time::Duration;

use crate::bus::EventBus;
use crate::event::now_millis;
use crate::store::Store;

/// How long an `Idempotency-Key` keeps answering with its first result (24 hours).
pub const DEFAULT_IDEMPOTENCY_KEYS: Duration = Duration::from_secs(24 * 60 * 60);
/// How long consumers remember the events they processed (7 days).
pub const DEFAULT_PROCESSED_EVENTS: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// How long the event log keeps consumed events, for replays and rebuilds (30 days).
pub const DEFAULT_EVENT_LOG: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// How often a service prunes its store.
pub const PRUNE_EVERY: Duration = Duration::from_secs(10 * 60);

/// Retention settings of the services' stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// How long an idempotency key answers with its first order before it is pruned.
    pub idempotency_keys: Duration,
    /// How long a consumer remembers an event it processed (its de-duplication window).
    pub processed_events: Duration,
    /// How long the event log keeps events every consumer has acknowledged.
    pub event_log: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            idempotency_keys: DEFAULT_IDEMPOTENCY_KEYS,
            processed_events: DEFAULT_PROCESSED_EVENTS,
            event_log: DEFAULT_EVENT_LOG,
        }
    }
}

/// The instant (milliseconds since the epoch) before which a record kept for `kept` has expired.
pub fn expired_before(kept: Duration) -> i64 {
    now_millis().saturating_sub(i64::try_from(kept.as_millis()).unwrap_or(i64::MAX))
}

/// Prunes what has expired once; returns how many records went.
pub async fn prune_once(store: &Arc<dyn Store>, retention: Retention) -> Result<u64, String> {
    let s = Arc::clone(store);
    tokio::task::spawn_blocking(move || {
        let keys = s.prune_keys(expired_before(retention.idempotency_keys))?;
        let outbox = s.prune_published()?;
        let ledger = s.prune_processed(expired_before(retention.processed_events))?;
        Ok::<_, crate::store::StoreError>(keys + outbox + ledger)
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())
}

/// Prunes the event log every [`PRUNE_EVERY`] until the task is dropped, keeping whatever
/// one of `consumers` has not acknowledged.
pub async fn run_log(bus: Arc<dyn EventBus>, consumers: Vec<&'static str>, retention: Retention) {
    loop {
        match bus
            .prune(&consumers, expired_before(retention.event_log))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(pruned = n, "consumed events pruned from the log"),
            Err(e) => tracing::warn!(error = %e, "pruning the log failed; trying again later"),
        }
        tokio::time::sleep(PRUNE_EVERY).await;
    }
}

/// Prunes every [`PRUNE_EVERY`] until the task is dropped.
pub async fn run(service: &'static str, store: Arc<dyn Store>, retention: Retention) {
    loop {
        match prune_once(&store, retention).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(service, pruned = n, "expired records pruned"),
            Err(e) => tracing::warn!(service, error = %e, "pruning failed; trying again later"),
        }
        tokio::time::sleep(PRUNE_EVERY).await;
    }
}
