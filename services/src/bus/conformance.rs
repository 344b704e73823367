//! The bus contract every adapter must keep, as one test run against a fresh bus.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::{EventBus, Start};
use crate::event::{Event, EventType};

fn ev(n: i64) -> Event {
    Event::new(EventType::OrderPlaced, &json!({ "orderId": n })).expect("event")
}

async fn next(sub: &mut Box<dyn super::Subscription>) -> super::Delivered {
    tokio::time::timeout(Duration::from_secs(20), sub.next())
        .await
        .expect("an event arrives")
        .expect("bus works")
}

/// `open` returns a bus on the same log each time it is called (a reopen after a restart).
pub async fn check<F, Fut>(open: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn EventBus>>,
{
    let bus = open().await;
    let (a, b) = (ev(1), ev(2));
    bus.publish(&a).await.expect("publish");
    bus.publish(&a)
        .await
        .expect("publishing the same event again is accepted");
    bus.publish(&b).await.expect("publish");
    let head = bus.head().await.expect("head");

    // A durable consumer resumes after what it acknowledged, even after a reopen.
    let mut sub = bus
        .subscribe(Start::Durable("d".into()))
        .await
        .expect("sub");
    let first = next(&mut sub).await;
    assert_eq!(first.event, a);
    assert_eq!(first.pending, 1);
    sub.ack(first.sequence).await.expect("ack");
    drop(sub);
    drop(bus);
    let bus = open().await;
    let mut sub = bus
        .subscribe(Start::Durable("d".into()))
        .await
        .expect("sub");
    assert_eq!(sub.position(), first.sequence, "resumes after its ack");
    let second = next(&mut sub).await;
    assert_eq!(second.event, b, "the duplicate publish was stored once");
    assert_eq!(second.sequence, head);
    assert_eq!(second.pending, 0, "caught up");

    // Replay from the beginning sees everything; a live subscription only what follows.
    let mut replay = bus.subscribe(Start::Beginning).await.expect("replay");
    assert_eq!(next(&mut replay).await.event, a);
    let mut live = bus.subscribe(Start::New).await.expect("live");
    let c = ev(3);
    bus.publish(&c).await.expect("publish");
    assert_eq!(next(&mut live).await.event, c);
    bus.ping().await.expect("ping");
}
