//! Retention on every adapter: published outbox entries, old processed-event records and
//! expired idempotency keys are pruned from each store; the embedded log drops only events
//! every consumer has acknowledged; the JetStream stream has age and size limits.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::stores;
use mall_services::bus::embedded::EmbeddedBus;
use mall_services::bus::nats::{NatsBus, StreamLimits};
use mall_services::bus::{EventBus, Start};
use mall_services::event::{now_millis, Event, EventType};
use serde_json::json;

fn ev(n: i64) -> Event {
    Event::new(EventType::OrderPlaced, &json!({ "orderId": n })).expect("event")
}

#[test]
fn stores_prune_published_events_and_old_ledger_records_only() {
    for s in stores::each() {
        let store = s.open();
        let mut tx = store.begin().expect("tx");
        for n in 1..=3 {
            tx.push_event(&ev(n)).expect("push");
        }
        assert!(tx.mark_processed("c", "e1").expect("mark"));
        tx.commit().expect("commit");
        let pending = store.pending_events(10).expect("pending");
        store
            .mark_published(&[pending[0].position, pending[1].position])
            .expect("published");

        assert_eq!(store.prune_published().expect("prune"), 2, "{}", s.name);
        let left = store.pending_events(10).expect("pending");
        assert_eq!(
            left.len(),
            1,
            "{}: an event not yet published stays in the outbox",
            s.name
        );
        assert_eq!(left[0].event, pending[2].event);

        let now = now_millis();
        assert_eq!(
            store.prune_processed(now - 60_000).expect("prune"),
            0,
            "{}: recent records stay",
            s.name
        );
        let mut tx = store.begin().expect("tx");
        assert!(
            !tx.mark_processed("c", "e1").expect("mark"),
            "{}: still de-duplicated",
            s.name
        );
        drop(tx);
        assert_eq!(
            store.prune_processed(now + 1).expect("prune"),
            1,
            "{}",
            s.name
        );
    }
}

async fn sequences(bus: &Arc<dyn EventBus>, start: Start, count: usize) -> Vec<u64> {
    let mut sub = bus.subscribe(start).await.expect("sub");
    let mut out = vec![];
    for _ in 0..count {
        let d = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .expect("an event")
            .expect("bus");
        out.push(d.sequence);
    }
    out
}

#[tokio::test]
async fn the_embedded_log_keeps_what_any_consumer_has_not_acknowledged() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("bus.db");
    let bus: Arc<dyn EventBus> = Arc::new(EmbeddedBus::open(&path).expect("bus"));
    for n in 1..=6 {
        bus.publish(&ev(n)).await.expect("publish");
    }
    for (name, upto) in [("fast", 6), ("slow", 3)] {
        let mut sub = bus
            .subscribe(Start::Durable(name.into()))
            .await
            .expect("sub");
        sub.ack(upto).await.expect("ack");
    }
    let later = now_millis() + 1;
    assert_eq!(
        bus.prune(&["fast", "slow", "never-started"], later)
            .await
            .expect("prune"),
        0,
        "a consumer that never acknowledged anything keeps the whole log"
    );
    assert_eq!(
        bus.prune(&["fast", "slow"], now_millis() - 60_000)
            .await
            .expect("prune"),
        0,
        "events younger than the retention stay"
    );
    assert_eq!(
        bus.prune(&["fast", "slow"], later).await.expect("prune"),
        3,
        "what both acknowledged goes"
    );
    assert_eq!(
        sequences(&bus, Start::Durable("slow".into()), 3).await,
        vec![4, 5, 6],
        "the slow consumer still gets everything it has not acknowledged"
    );
    assert_eq!(sequences(&bus, Start::Beginning, 3).await, vec![4, 5, 6]);

    // After a restart the head and the sequence numbers carry on.
    drop(bus);
    let bus: Arc<dyn EventBus> = Arc::new(EmbeddedBus::open(&path).expect("bus"));
    assert_eq!(bus.head().await.expect("head"), 6);
    bus.publish(&ev(7)).await.expect("publish");
    assert_eq!(bus.head().await.expect("head"), 7);
    let mut fast = bus
        .subscribe(Start::Durable("fast".into()))
        .await
        .expect("sub");
    fast.ack(7).await.expect("ack");
    drop(fast);
    assert_eq!(
        bus.prune(&["fast"], now_millis() + 1).await.expect("prune"),
        3,
        "all but the log's last event, which keeps the head"
    );
    assert_eq!(sequences(&bus, Start::Beginning, 1).await, vec![7]);
}

#[tokio::test]
async fn the_jetstream_stream_has_age_and_size_limits() {
    let name = format!("MALLTEST{}", uuid::Uuid::new_v4().simple());
    let old = async_nats_stream_without_limits(&name).await;
    let bus = NatsBus::connect("nats://127.0.0.1:4222", &name)
        .await
        .expect("NATS with JetStream runs on 127.0.0.1:4222");
    assert_eq!(
        bus.limits().await.expect("limits"),
        StreamLimits::default(),
        "a stream made before the limits gets them"
    );
    assert!(old, "the stream existed before");
    let small = StreamLimits {
        max_age: Duration::from_secs(3600),
        max_bytes: 1024 * 1024,
    };
    let bus = NatsBus::connect_with("nats://127.0.0.1:4222", &name, small)
        .await
        .expect("connect");
    assert_eq!(bus.limits().await.expect("limits"), small);
    bus.delete_stream().await.expect("cleanup");
}

/// Makes the stream as the bus did before it set limits; true once made.
async fn async_nats_stream_without_limits(name: &str) -> bool {
    let client = async_nats::connect("nats://127.0.0.1:4222")
        .await
        .expect("NATS runs on 127.0.0.1:4222");
    let js = async_nats::jetstream::new(client);
    js.get_or_create_stream(async_nats::jetstream::stream::Config {
        name: name.to_owned(),
        subjects: vec![format!("{name}.events.>")],
        storage: async_nats::jetstream::stream::StorageType::File,
        duplicate_window: Duration::from_secs(2 * 60 * 60),
        ..Default::default()
    })
    .await
    .is_ok()
}
