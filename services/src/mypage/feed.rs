//! The live my-page feed: one bus subscription per process fanned out to each customer's
//! subscribers (the BFF's GraphQL subscriptions).
//!
//! - Each customer with subscribers has one broadcast channel (tokio's, a ring of [`BUFFER`]
//!   updates). The pump sends a change once, to its customer's channel, whatever the number
//!   of subscribers: no per-subscriber copy and no per-subscriber work under the lock. Each
//!   subscriber clones what it reads, in its own task.
//! - The pump never waits for a subscriber: a subscriber that falls [`BUFFER`] updates
//!   behind has the oldest overwritten; its stream then discards what it still has buffered
//!   and yields [`FeedItem::Lagged`] so the reader resynchronises from a fresh snapshot.
//!   Memory is bounded per customer (the ring), not per subscriber, whatever readers do.
//! - Dropping a [`FeedSubscription`] unregisters it at once; the last one of a customer
//!   removes that customer's channel: nothing is left behind.
//! - If the bus subscription breaks, the pump resubscribes and sends every channel a
//!   [`FeedItem::Lagged`] (its subscribers may have missed updates), which wakes readers that
//!   wait so they resynchronise at once.
//! - When the last [`MyPageFeed`] clone is dropped, the pump stops and drops its bus
//!   subscription, and every open [`FeedSubscription`] ends.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use serde::Deserialize;
use tokio::sync::{broadcast, oneshot};
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;

use super::MyPageRow;
use crate::bus::{EventBus, Start};
use crate::event::EventType;

/// How many updates a subscriber may fall behind before it is considered lagged. A customer's
/// page changes a few times per order, so a reader this far behind has stopped reading, and
/// a fresh snapshot serves it better than the backlog; every customer with a subscriber holds
/// a ring this long (at 32, 1.4 kB each).
pub const BUFFER: usize = 16;

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

/// What travels on a customer's channel: a change is shared by every subscriber's slot
/// until each has read it.
#[derive(Debug, Clone)]
enum Slot {
    Changed(Arc<MyPageChange>),
    Lagged,
}

struct Inner {
    /// One channel per customer with at least one subscriber.
    channels: Mutex<HashMap<String, broadcast::Sender<Slot>>>,
    /// Dropped with the last feed handle: that tells the pump to stop.
    _stop: oneshot::Sender<()>,
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, broadcast::Sender<Slot>>> {
        // The map stays consistent even if a holder panicked (each operation is one insert
        // or remove), so a poisoned lock is still usable.
        self.channels.lock().unwrap_or_else(|p| p.into_inner())
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
            channels: Mutex::default(),
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

    /// A stream of this customer's changes from now on (registered before this returns).
    pub fn subscribe(&self, customer_id: &str) -> FeedSubscription {
        let rx = self
            .inner
            .lock()
            .entry(customer_id.to_owned())
            .or_insert_with(|| broadcast::channel(BUFFER).0)
            .subscribe();
        metrics::gauge!("mypage_subscriptions_active").increment(1.0);
        FeedSubscription {
            rx: Some(BroadcastStream::new(rx)),
            customer: customer_id.to_owned(),
            feed: Arc::downgrade(&self.inner),
        }
    }

    /// How many subscriptions are open.
    pub fn active(&self) -> usize {
        self.inner
            .lock()
            .values()
            .map(broadcast::Sender::receiver_count)
            .sum()
    }

    fn deliver(inner: &Inner, change: MyPageChange) {
        let channel = inner.lock().get(&change.row.customer_id).cloned();
        if let Some(channel) = channel {
            if let Ok(subscribers) = channel.send(Slot::Changed(Arc::new(change))) {
                metrics::counter!("mypage_updates_delivered_total").increment(subscribers as u64);
            }
        }
    }

    fn lag_everyone(inner: &Inner) {
        let channels: Vec<_> = inner.lock().values().cloned().collect();
        for channel in channels {
            let _ = channel.send(Slot::Lagged);
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
    /// `None` once dropped (so the channel's receiver count is right when the drop looks).
    rx: Option<BroadcastStream<Slot>>,
    customer: String,
    feed: Weak<Inner>,
}

impl FeedSubscription {
    /// Discards what is buffered: it is older than the snapshot the reader takes next.
    fn discard_buffered(rx: &mut BroadcastStream<Slot>, cx: &mut Context<'_>) {
        while let Poll::Ready(Some(_)) = Pin::new(&mut *rx).poll_next(cx) {}
    }
}

impl Stream for FeedSubscription {
    type Item = FeedItem;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<FeedItem>> {
        let this = self.get_mut();
        let Some(rx) = this.rx.as_mut() else {
            return Poll::Ready(None);
        };
        match Pin::new(&mut *rx).poll_next(cx) {
            Poll::Ready(Some(Ok(Slot::Changed(change)))) => {
                Poll::Ready(Some(FeedItem::Changed(MyPageChange::clone(&change))))
            }
            Poll::Ready(Some(Ok(Slot::Lagged))) => {
                Self::discard_buffered(rx, cx);
                Poll::Ready(Some(FeedItem::Lagged))
            }
            Poll::Ready(Some(Err(BroadcastStreamRecvError::Lagged(_)))) => {
                metrics::counter!("mypage_subscribers_lagged_total").increment(1);
                Self::discard_buffered(rx, cx);
                Poll::Ready(Some(FeedItem::Lagged))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for FeedSubscription {
    fn drop(&mut self) {
        drop(self.rx.take());
        if let Some(inner) = self.feed.upgrade() {
            let mut map = inner.lock();
            if map
                .get(&self.customer)
                .is_some_and(|c| c.receiver_count() == 0)
            {
                map.remove(&self.customer);
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
            slow.next().await,
            Some(FeedItem::Lagged),
            "the slow reader is told it fell behind"
        );
        assert!(
            futures::poll!(slow.next()).is_pending(),
            "stale updates discarded for the resync"
        );
        assert_eq!(feed.active(), 2);
        drop(slow);
        assert_eq!(
            feed.active(),
            1,
            "a dropped subscriber is unregistered at once"
        );
        drop(fast);
        assert!(feed.inner.lock().is_empty(), "no channel is left behind");
    }

    #[tokio::test]
    async fn every_subscriber_of_a_customer_gets_each_change_and_a_lost_bus_resyncs_them() {
        let bus: Arc<dyn EventBus> = Arc::new(EmbeddedBus::in_memory().expect("bus"));
        let feed = MyPageFeed::start(Arc::clone(&bus)).await.expect("feed");
        let mut readers: Vec<_> = (0..100).map(|_| feed.subscribe("many")).collect();
        bus.publish(&changed("many", 7, "OrderPlaced"))
            .await
            .expect("publish");
        for r in &mut readers {
            let item = tokio::time::timeout(Duration::from_secs(5), r.next())
                .await
                .expect("each subscriber gets the change");
            assert!(matches!(item, Some(FeedItem::Changed(c)) if c.row.order_id == 7));
        }
        MyPageFeed::lag_everyone(&feed.inner);
        for r in &mut readers {
            assert_eq!(r.next().await, Some(FeedItem::Lagged));
        }
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
