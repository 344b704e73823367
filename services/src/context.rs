//! What a running service holds: its store, the public URLs for links, and the outbox bell.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::store::Store;
use crate::urls::Urls;

#[derive(Clone)]
pub struct Ctx {
    pub store: Arc<dyn Store>,
    pub urls: Arc<Urls>,
    /// Rung after every committed command so the outbox relay publishes at once.
    pub outbox: Arc<Notify>,
}

impl Ctx {
    pub fn committed(&self) {
        self.outbox.notify_one();
    }
}
