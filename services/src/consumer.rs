//! Durable event consumers: each event is handled in one store transaction together with
//! the record that it was processed, then acknowledged on the bus. A redelivered event
//! (at-least-once delivery) finds its record and changes nothing: an exactly-once effect.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::bus::{EventBus, Start};
use crate::event::Event;
use crate::store::{Store, StoreError, Tx};

/// How a consumer failed on one event.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The event cannot ever be handled (unknown shape): it is logged and skipped.
    #[error("event skipped: {0}")]
    Poison(String),
    /// The store failed: the event is retried.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A policy: what one service does with one event, inside its transaction.
pub type Handler = Arc<dyn Fn(&mut dyn Tx, &Event) -> Result<(), HandleError> + Send + Sync>;

/// Consumer progress, for readiness: caught up once it has seen the log's head.
#[derive(Debug, Default)]
pub struct Progress {
    caught_up: AtomicBool,
}

impl Progress {
    pub fn caught_up(&self) -> bool {
        self.caught_up.load(Ordering::Relaxed)
    }
}

/// Consumes as the durable consumer `name` until the task is dropped.
pub async fn run(
    name: &'static str,
    bus: Arc<dyn EventBus>,
    store: Arc<dyn Store>,
    handler: Handler,
    wake_relay: Arc<Notify>,
    progress: Arc<Progress>,
) {
    let mut backoff = Duration::from_millis(50);
    loop {
        let mut sub = match bus.subscribe(Start::Durable(name.to_owned())).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(consumer = name, error = %e, "subscribe failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        if bus.head().await.unwrap_or(0) <= sub.position() {
            progress.caught_up.store(true, Ordering::Relaxed);
        }
        loop {
            let delivered = match sub.next().await {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(consumer = name, error = %e, "bus read failed; resubscribing");
                    break;
                }
            };
            // Retry store failures until handled; never ack what did not commit.
            loop {
                match handle(name, &store, &handler, delivered.event.clone()).await {
                    Ok(()) => break,
                    Err(HandleError::Poison(why)) => {
                        tracing::error!(consumer = name, event = %delivered.event.id, %why, "skipping event");
                        metrics::counter!("events_skipped_total", "consumer" => name).increment(1);
                        break;
                    }
                    Err(HandleError::Store(e)) => {
                        tracing::warn!(consumer = name, error = %e, "handling failed; retrying");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            }
            backoff = Duration::from_millis(50);
            wake_relay.notify_one();
            if let Err(e) = sub.ack(delivered.sequence).await {
                tracing::warn!(consumer = name, error = %e, "ack failed; the event may come again");
            }
            metrics::counter!("events_consumed_total", "consumer" => name).increment(1);
            if delivered.pending == 0 {
                progress.caught_up.store(true, Ordering::Relaxed);
            }
        }
    }
}

/// Handles one event in one transaction, unless this consumer already processed it.
pub async fn handle(
    name: &'static str,
    store: &Arc<dyn Store>,
    handler: &Handler,
    event: Event,
) -> Result<(), HandleError> {
    let h = Arc::clone(handler);
    crate::store::transact(store, move |tx| {
        if !tx.mark_processed(name, &event.id)? {
            return Ok(());
        }
        h(tx, &event)
    })
    .await
}
