//! How long the stores keep what they only need for a while, and the task that prunes it.
//!
//! Idempotency records answer a retried `POST /orders` with its first order for
//! [`Retention::idempotency_keys`]; after that the key is free again and its record is pruned.

use std::sync::Arc;
use std::time::Duration;

use crate::event::now_millis;
use crate::store::Store;

/// How long an `Idempotency-Key` keeps answering with its first result (24 hours).
pub const DEFAULT_IDEMPOTENCY_KEYS: Duration = Duration::from_secs(24 * 60 * 60);
/// How often a service prunes its store.
pub const PRUNE_EVERY: Duration = Duration::from_secs(10 * 60);

/// Retention settings of the services' stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// How long an idempotency key answers with its first order before it is pruned.
    pub idempotency_keys: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            idempotency_keys: DEFAULT_IDEMPOTENCY_KEYS,
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
    tokio::task::spawn_blocking(move || s.prune_keys(expired_before(retention.idempotency_keys)))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
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
