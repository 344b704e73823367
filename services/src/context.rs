//! What a running service holds: its store, the public URLs for links, the outbox bell and
//! its retention settings.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::retention::Retention;
use crate::store::Store;
use crate::urls::Urls;

#[derive(Clone)]
pub struct Ctx {
    pub store: Arc<dyn Store>,
    pub urls: Arc<Urls>,
    /// Rung after every committed command so the outbox relay publishes at once.
    pub outbox: Arc<Notify>,
    /// How long the store keeps what it only needs for a while (idempotency keys).
    pub retention: Retention,
}

impl Ctx {
    pub fn committed(&self) {
        self.outbox.notify_one();
    }
}
