//! The outbox relay: publishes what a store's transactions recorded, in order, then marks it
//! published. A crash between publishing and marking republishes, which the bus de-duplicates
//! by `eventId`; nothing committed is ever skipped.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::bus::EventBus;
use crate::store::Store;

const BATCH: usize = 128;
/// How often the relay looks at the outbox when nobody woke it (a safety net).
const POLL: Duration = Duration::from_millis(500);

/// Relays until `shutdown` resolves. `wake` is notified after each committed transaction.
pub async fn run(
    service: &'static str,
    store: Arc<dyn Store>,
    bus: Arc<dyn EventBus>,
    wake: Arc<Notify>,
) {
    let mut backoff = Duration::from_millis(50);
    loop {
        match relay_once(&store, &bus).await {
            Ok(0) => {
                backoff = Duration::from_millis(50);
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(POLL) => {}
                }
            }
            Ok(n) => {
                metrics::counter!("outbox_relayed_total", "service" => service).increment(n as u64);
            }
            Err(e) => {
                tracing::warn!(service, error = %e, "outbox relay failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Publishes one batch; returns how many events went out.
pub async fn relay_once(store: &Arc<dyn Store>, bus: &Arc<dyn EventBus>) -> Result<usize, String> {
    let s = Arc::clone(store);
    let pending = tokio::task::spawn_blocking(move || s.pending_events(BATCH))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    if pending.is_empty() {
        return Ok(0);
    }
    let mut done = Vec::with_capacity(pending.len());
    for p in &pending {
        bus.publish(&p.event).await.map_err(|e| e.to_string())?;
        done.push(p.position);
    }
    let s = Arc::clone(store);
    let n = done.len();
    tokio::task::spawn_blocking(move || s.mark_published(&done))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    Ok(n)
}
