//! The live my-page feed: one bus subscription per process fanned out to each customer's
//! subscribers (the BFF's GraphQL subscriptions).
//!
//! - Each subscriber has a bounded buffer. The pump never waits for a subscriber: when a
//!   buffer is full the update is dropped and the subscriber is marked lagged; its stream then
//!   discards what it buffered and yields [`FeedItem::Lagged`] so the reader resynchronises
//!   from a fresh snapshot. Memory per subscriber is bounded whatever the reader does.
//! - Dropping a [`FeedSubscription`] unregisters it at once: nothing is left behind.
//! - If the bus subscription breaks, the pump resubscribes and marks everyone lagged (they
//!   may have missed updates), waking readers that wait so they resynchronise at once.
//! - When the last [`MyPageFeed`] clone is dropped, the pump stops and drops its bus
//!   subscription, and every open [`FeedSubscription`] ends.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};

use super::MyPageRow;
use crate::bus::{EventBus, Start};
use crate::event::EventType;

/// How many updates a subscriber may have waiting before it is considered lagged.
pub const BUFFER: usize = 32;

/// One change of a customer's my page.
#[derive(Debug, Clone, PartialEq)]
pub struct MyPageChange {
    /// The event that caused it (OrderPlaced, DeliveryStarted, …).
    pub cause: String,
    pub row: MyPageRow,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FeedItem {
    Changed(MyPageChange),
    /// Updates were dropped for this subscriber: read a fresh snapshot.
    Lagged,
}

struct Subscriber {
    tx: mpsc::Sender<FeedItem>,
    lagged: Arc<AtomicBool>,
}

struct Inner {
    by_customer: Mutex<HashMap<String, HashMap<u64, Subscriber>>>,
    next_id: AtomicU64,
    /// Dropped with the last feed handle: that tells the pump to stop.
    _stop: oneshot::Sender<()>,
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashMap<u64, Subscriber>>> {
        // The map stays consistent even if a holder panicked (each operation is one insert
        // or remove), so a poisoned lock is still usable.
        self.by_customer.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The fan-out hub. Cheap to clone; the pump stops when the last clone is dropped.
#[derive(Clone)]
pub struct MyPageFeed {
    inner: Arc<Inner>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Changed {
    cause: String,
    #[serde(flatten)]
    row: MyPageRow,
}

impl MyPageFeed {
    /// Subscribes to the bus (new events only) and starts the pump. Every MyPageChanged
    /// published after this returns reaches the feed.
    pub async fn start(bus: Arc<dyn EventBus>) -> Result<MyPageFeed, crate::bus::BusError> {
        let (stop, stopped) = oneshot::channel();
        let inner = Arc::new(Inner {
            by_customer: Mutex::default(),
            next_id: AtomicU64::new(0),
            _stop: stop,
        });
        let first = bus.subscribe(Start::New).await?;
        let weak = Arc::downgrade(&inner);
        tokio::spawn(async move {
            // The pump ends when the last handle is gone, even if no event ever comes again.
            tokio::select! {
                () = pump(bus, first, weak) => {}
                _ = stopped => {}
            }
        });
        Ok(MyPageFeed { inner })
    }

    /// A stream of this customer's changes from now on.
    pub fn subscribe(&self, customer_id: &str) -> FeedSubscription {
        let (tx, rx) = mpsc::channel(BUFFER);
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let lagged = Arc::new(AtomicBool::new(false));
        self.inner
            .lock()
            .entry(customer_id.to_owned())
            .or_default()
            .insert(
                id,
                Subscriber {
                    tx,
                    lagged: Arc::clone(&lagged),
                },
            );
        metrics::gauge!("mypage_subscriptions_active").increment(1.0);
        FeedSubscription {
            rx,
            lagged,
            id,
            customer: customer_id.to_owned(),
            feed: Arc::downgrade(&self.inner),
        }
    }

    /// How many subscriptions are open.
    pub fn active(&self) -> usize {
        self.inner.lock().values().map(HashMap::len).sum()
    }

    fn deliver(inner: &Inner, change: MyPageChange) {
        let map = inner.lock();
        let Some(subs) = map.get(&change.row.customer_id) else {
            return;
        };
        for sub in subs.values() {
            match sub.tx.try_send(FeedItem::Changed(change.clone())) {
                Ok(()) => metrics::counter!("mypage_updates_delivered_total").increment(1),
                Err(mpsc::error::TrySendError::Full(_)) => {
                    if !sub.lagged.swap(true, Ordering::Relaxed) {
                        metrics::counter!("mypage_subscribers_lagged_total").increment(1);
                    }
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
    }

    fn lag_everyone(inner: &Inner) {
        for subs in inner.lock().values() {
            for sub in subs.values() {
                sub.lagged.store(true, Ordering::Relaxed);
                // Wakes a reader waiting for its next item; when its buffer is full it is
                // not waiting, and the flag alone is enough.
                let _ = sub.tx.try_send(FeedItem::Lagged);
            }
        }
    }
}

async fn pump(
    bus: Arc<dyn EventBus>,
    first: Box<dyn crate::bus::Subscription>,
    inner: Weak<Inner>,
) {
    let mut next = Some(first);
    loop {
        let mut sub = match next.take() {
            Some(s) => s,
            None => match bus.subscribe(Start::New).await {
                Ok(s) => {
                    match inner.upgrade() {
                        Some(i) => MyPageFeed::lag_everyone(&i),
                        None => return,
                    }
                    s
                }
                Err(e) => {
                    tracing::warn!(error = %e, "my-page feed cannot subscribe; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            },
        };
        loop {
            let delivered = match sub.next().await {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(error = %e, "my-page feed lost the bus; resubscribing");
                    break;
                }
            };
            let Some(inner) = inner.upgrade() else { return };
            if delivered.event.event_type() != Some(EventType::MyPageChanged) {
                continue;
            }
            match delivered.event.payload::<Changed>() {
                Ok(c) => MyPageFeed::deliver(
                    &inner,
                    MyPageChange {
                        cause: c.cause,
                        row: c.row,
                    },
                ),
                Err(e) => tracing::warn!(error = %e, "skipping a malformed MyPageChanged"),
            }
        }
    }
}

/// One subscriber's stream. Dropping it unsubscribes.
pub struct FeedSubscription {
    rx: mpsc::Receiver<FeedItem>,
    lagged: Arc<AtomicBool>,
    id: u64,
    customer: String,
    feed: Weak<Inner>,
}

impl Stream for FeedSubscription {
    type Item = FeedItem;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<FeedItem>> {
        let this = self.get_mut();
        if this.lagged.swap(false, Ordering::Relaxed) {
            // What is buffered is older than the snapshot the reader will take now.
            while this.rx.try_recv().is_ok() {}
            return Poll::Ready(Some(FeedItem::Lagged));
        }
        this.rx.poll_recv(cx)
    }
}

impl Drop for FeedSubscription {
    fn drop(&mut self) {
        if let Some(inner) = self.feed.upgrade() {
            let mut map = inner.lock();
            if let Some(subs) = map.get_mut(&self.customer) {
                subs.remove(&self.id);
                if subs.is_empty() {
                    map.remove(&self.customer);
                }
            }
        }
        metrics::gauge!("mypage_subscriptions_active").decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::embedded::EmbeddedBus;
    use crate::event::Event;
    use futures::StreamExt;
    use serde_json::json;

    fn changed(customer: &str, order: i64, cause: &str) -> Event {
        Event::new(
            EventType::MyPageChanged,
            &json!({"cause": cause, "causeEventId": "x", "id": order, "orderId": order,
                    "customerId": customer, "productId": 1, "productName": "TV",
                    "quantity": 1, "price": 1, "orderStatus": "Ordered"}),
        )
        .expect("event")
    }

    async fn settle() {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    #[tokio::test]
    async fn each_customer_gets_only_their_changes_in_order() {
        let bus: Arc<dyn EventBus> = Arc::new(EmbeddedBus::in_memory().expect("bus"));
        let feed = MyPageFeed::start(Arc::clone(&bus)).await.expect("feed");
        let mut a = feed.subscribe("a");
        let mut b = feed.subscribe("b");
        bus.publish(&changed("a", 1, "OrderPlaced"))
            .await
            .expect("publish");
        bus.publish(&changed("a", 1, "DeliveryStarted"))
            .await
            .expect("publish");
        bus.publish(&changed("c", 2, "OrderPlaced"))
            .await
            .expect("publish");
        let first = a.next().await.expect("item");
        let second = a.next().await.expect("item");
        assert!(matches!(first, FeedItem::Changed(c) if c.cause == "OrderPlaced"));
        assert!(matches!(second, FeedItem::Changed(c) if c.cause == "DeliveryStarted"));
        settle().await;
        assert!(futures::poll!(b.next()).is_pending(), "b received nothing");
        drop(a);
        drop(b);
        assert_eq!(feed.active(), 0);
    }

    #[tokio::test]
    async fn a_slow_reader_is_lagged_not_buffered_and_others_go_on() {
        let bus: Arc<dyn EventBus> = Arc::new(EmbeddedBus::in_memory().expect("bus"));
        let feed = MyPageFeed::start(Arc::clone(&bus)).await.expect("feed");
        let mut slow = feed.subscribe("a");
        let mut fast = feed.subscribe("a");
        for i in 0..(BUFFER as i64 * 3) {
            bus.publish(&changed("a", i + 1, "OrderPlaced"))
                .await
                .expect("publish");
            // The fast reader keeps up: it gets every update, in order.
            let item = tokio::time::timeout(Duration::from_secs(5), fast.next())
                .await
                .expect("the fast reader is not held up by the slow one");
            assert!(matches!(item, Some(FeedItem::Changed(c)) if c.row.order_id == i + 1));
        }
        assert_eq!(
            slow.rx.len(),
            BUFFER,
            "the slow reader's buffer stayed bounded"
        );
        assert_eq!(slow.next().await, Some(FeedItem::Lagged));
        assert!(slow.rx.is_empty(), "stale updates discarded for the resync");
    }

    #[tokio::test]
    async fn dropping_the_feed_stops_the_pump_and_ends_every_subscription() {
        let bus: Arc<dyn EventBus> = Arc::new(EmbeddedBus::in_memory().expect("bus"));
        let feed = MyPageFeed::start(Arc::clone(&bus)).await.expect("feed");
        let mut a = feed.subscribe("a");
        assert_eq!(Arc::strong_count(&bus), 2, "the pump holds the bus");
        drop(feed);
        let end = tokio::time::timeout(Duration::from_secs(5), a.next())
            .await
            .expect("the subscription ends without waiting for another event");
        assert_eq!(end, None);
        tokio::time::timeout(Duration::from_secs(5), async {
            while Arc::strong_count(&bus) > 1 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the pump let go of the bus");
    }
}
