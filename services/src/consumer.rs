//! Durable event consumers: each event is handled in one store transaction together with
//! the record that it was processed, then acknowledged on the bus. A redelivered event
//! (at-least-once delivery) finds its record and changes nothing: an exactly-once effect.
//!
//! An event that cannot be handled (a poison event, or one that failed
//! [`ConsumerSettings::max_attempts`] times while the store answered) goes to the store's
//! dead-letter table with its error, in the transaction that marks it processed; a log line
//! and the `events_dead_lettered_total` metric say so, and the consumer moves on.
//! [`dead_letters`] lists them and [`replay`] handles one again (`mall dlq`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::bus::{EventBus, Start};
use crate::event::now_millis;
use crate::event::Event;
use crate::store::{DeadLetter, Store, StoreError, Tx};

/// How many times an event is tried before it goes to the dead-letter table.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// Settings of the durable consumers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerSettings {
    /// Attempts at one event (while the store answers) before it is dead-lettered; at least 1.
    pub max_attempts: u32,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        ConsumerSettings {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }
}

/// How a consumer failed on one event.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The event cannot ever be handled (unknown shape): it is dead-lettered at once.
    #[error("event cannot be handled: {0}")]
    Poison(String),
    /// The store failed (or the handler panicked): the event is retried, up to the
    /// consumer's attempts.
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
    settings: ConsumerSettings,
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
            // Retry until handled or dead-lettered; never ack what did not commit.
            let mut attempts = 0;
            loop {
                let failure = match handle(name, &store, &handler, delivered.event.clone()).await {
                    Ok(()) => break,
                    Err(e) => e,
                };
                let poison = matches!(failure, HandleError::Poison(_));
                // A store that does not answer is an outage, not this event's fault: wait
                // for it without counting the attempt.
                if poison || store_answers(&store).await {
                    attempts += 1;
                }
                if poison || attempts >= settings.max_attempts.max(1) {
                    let letter = DeadLetter {
                        consumer: name.to_owned(),
                        event: delivered.event.clone(),
                        error: failure.to_string(),
                        attempts,
                        failed_at: now_millis(),
                    };
                    match dead_letter(&store, letter).await {
                        Ok(()) => {
                            tracing::error!(consumer = name, event = %delivered.event.id, kind = %delivered.event.kind, attempts, error = %failure, "event dead-lettered; `mall dlq list` shows it, `mall dlq replay` handles it again");
                            metrics::counter!("events_dead_lettered_total", "consumer" => name)
                                .increment(1);
                            break;
                        }
                        Err(e) => {
                            tracing::warn!(consumer = name, error = %e, "dead-lettering failed; retrying");
                        }
                    }
                } else {
                    tracing::warn!(consumer = name, event = %delivered.event.id, attempts, error = %failure, "handling failed; retrying");
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
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

async fn store_answers(store: &Arc<dyn Store>) -> bool {
    let s = Arc::clone(store);
    matches!(
        tokio::task::spawn_blocking(move || s.ping()).await,
        Ok(Ok(()))
    )
}

/// Records `letter` and marks its event processed, in one transaction.
async fn dead_letter(store: &Arc<dyn Store>, letter: DeadLetter) -> Result<(), StoreError> {
    crate::store::transact(store, move |tx| {
        tx.mark_processed(&letter.consumer, &letter.event.id)?;
        tx.dead_letter(&letter)
    })
    .await
}

/// The dead letters of a store, oldest first.
pub async fn dead_letters(store: &Arc<dyn Store>) -> Result<Vec<DeadLetter>, StoreError> {
    let s = Arc::clone(store);
    tokio::task::spawn_blocking(move || s.dead_letters())
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
}

/// Why a replay did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("consumer `{consumer}` has no dead letter for event {event_id}; `mall dlq list` shows what there is")]
    NotFound { consumer: String, event_id: String },
    #[error("the event failed again and stays a dead letter: {0}")]
    Failed(#[from] HandleError),
}

impl From<StoreError> for ReplayError {
    fn from(e: StoreError) -> Self {
        ReplayError::Failed(HandleError::Store(e))
    }
}

/// Handles a dead letter of consumer `name` again with its policy, taking it out of the
/// table in the same transaction: on success its effects and events are committed; on
/// failure nothing changes and it stays a dead letter.
pub async fn replay(
    name: &str,
    store: &Arc<dyn Store>,
    handler: &Handler,
    event_id: &str,
) -> Result<DeadLetter, ReplayError> {
    let (h, name, event_id) = (Arc::clone(handler), name.to_owned(), event_id.to_owned());
    crate::store::transact(store, move |tx| {
        let letter = tx
            .take_dead_letter(&name, &event_id)?
            .ok_or(ReplayError::NotFound {
                consumer: name,
                event_id,
            })?;
        h(tx, &letter.event)?;
        Ok(letter)
    })
    .await
}
