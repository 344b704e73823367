//! The event bus port: an ordered, durable log of domain events with named consumers.
//!
//! Semantics every adapter gives (and the domain relies on):
//! - `publish` is idempotent by `eventId`: publishing the same event twice stores it once
//!   (the outbox relay may retry after a crash).
//! - a durable subscription resumes after the last event it acknowledged, so a consumer that
//!   was down catches up; delivery is at least once (an unacknowledged event comes again).
//! - `Start::Beginning` replays the whole log (projection rebuilds); `Start::New` sees only
//!   events published after it subscribed (live fan-out, e.g. the BFF's subscriptions).
//!
//! Adapters: [`embedded`] (in-process, file-backed; the default) and [`nats`] (NATS
//! JetStream, for the scale-out mode where every role is its own process).

#[cfg(test)]
pub(crate) mod conformance;
pub mod embedded;
pub mod nats;

use async_trait::async_trait;

use crate::event::Event;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("event bus failed: {0}")]
    Backend(String),
    #[error("event bus is closed")]
    Closed,
}

/// Where a subscription starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// After the last event this durable consumer acknowledged (the first event if none).
    Durable(String),
    /// From the first event ever published, without remembering progress.
    Beginning,
    /// From the next event published.
    New,
}

/// An event delivered to a subscription, with its position in the log.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub sequence: u64,
    /// How many events of the log come after this one (0: the subscriber has caught up).
    pub pending: u64,
    pub event: Event,
}

#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    async fn publish(&self, event: &Event) -> Result<(), BusError>;
    async fn subscribe(&self, start: Start) -> Result<Box<dyn Subscription>, BusError>;
    /// The sequence of the last event in the log (0 when empty).
    async fn head(&self) -> Result<u64, BusError>;
    /// Whether the bus answers (readiness).
    async fn ping(&self) -> Result<(), BusError>;
    /// Whether the bus reaches other processes (a single role needs one that does).
    fn crosses_processes(&self) -> bool;
    /// Deletes events published before `before` (milliseconds since the epoch) that every
    /// one of `consumers` has acknowledged; returns how many went. An event some consumer
    /// has not acknowledged (or a consumer that never acknowledged anything) is kept. Buses
    /// whose server enforces its own limits (JetStream) delete nothing here.
    async fn prune(&self, _consumers: &[&str], _before: i64) -> Result<u64, BusError> {
        Ok(0)
    }
}

#[async_trait]
pub trait Subscription: Send {
    /// The next event; waits until there is one.
    async fn next(&mut self) -> Result<Delivered, BusError>;
    /// Acknowledges everything up to and including `sequence` (durable subscriptions).
    async fn ack(&mut self, sequence: u64) -> Result<(), BusError>;
    /// The sequence of the last event handed out (or acknowledged before, when resuming).
    fn position(&self) -> u64;
}
