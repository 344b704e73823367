//! Poison events on every store and bus adapter: an event whose handler panics is tried the
//! configured number of times, then goes to the dead-letter table with its error while the
//! consumer moves on to the next events; an event of unknown shape goes there at once; a
//! dead letter can be listed and replayed.

mod common;

use mall_services::Role;
use std::sync::Arc;
use std::time::Duration;

use common::{eventually, stores};
use mall_services::bus::embedded::EmbeddedBus;
use mall_services::bus::nats::NatsBus;
use mall_services::bus::EventBus;
use mall_services::consumer::{
    self, ConsumerSettings, HandleError, Handler, Progress, ReplayError,
};
use mall_services::event::{Event, EventType};
use mall_services::store::{Query, Store, TxExt};
use serde_json::{json, Value};
use tokio::sync::Notify;

const CONSUMER: &str = "dlqtest";

/// Records each order it sees; panics on `"explode": true` while `explode` is set, and
/// finds an event without `orderId` unusable.
fn handler(explode: bool) -> Handler {
    Arc::new(move |tx, event: &Event| {
        if explode && event.data.get("explode") == Some(&json!(true)) {
            panic!("the handler met an event it cannot survive");
        }
        let Some(id) = event.data.get("orderId").and_then(Value::as_i64) else {
            return Err(HandleError::Poison("no `orderId`".into()));
        };
        tx.put("seen", id, &json!({ "id": id }))?;
        Ok(())
    })
}

fn ev(data: Value) -> Event {
    Event::new(EventType::OrderPlaced, &data).expect("event")
}

async fn seen(store: &Arc<dyn Store>) -> Vec<i64> {
    mall_services::store::read(store, |tx| {
        let q = Query {
            size: 100,
            ..Query::default()
        };
        tx.list::<Value>("seen", &q)
            .map(|p| p.items.iter().filter_map(|v| v["id"].as_i64()).collect())
    })
    .await
    .expect("read")
}

async fn check(store: Arc<dyn Store>, bus: Arc<dyn EventBus>, what: &str) {
    let poison = ev(json!({"orderId": 2, "explode": true}));
    let shapeless = ev(json!({"note": "no order here"}));
    for e in [
        ev(json!({"orderId": 1})),
        poison.clone(),
        shapeless.clone(),
        ev(json!({"orderId": 3})),
    ] {
        bus.publish(&e).await.expect("publish");
    }
    let task = tokio::spawn(consumer::run(
        CONSUMER,
        Arc::clone(&bus),
        Arc::clone(&store),
        handler(true),
        Arc::new(Notify::new()),
        Arc::new(Progress::default()),
        ConsumerSettings { max_attempts: 3 },
    ));
    eventually(
        &format!("{what}: the consumer moves past the poison"),
        || {
            let store = Arc::clone(&store);
            async move { (seen(&store).await == vec![1, 3]).then_some(()) }
        },
    )
    .await;
    task.abort();

    let letters = consumer::dead_letters(&store).await.expect("list");
    assert_eq!(letters.len(), 2, "{what}: {letters:?}");
    let (panicked, unusable) = (&letters[0], &letters[1]);
    assert_eq!(panicked.event, poison, "{what}");
    assert_eq!(panicked.attempts, 3, "{what}: tried as often as configured");
    assert!(
        panicked.error.contains("cannot survive"),
        "{what}: the panic's message is kept: {}",
        panicked.error
    );
    assert_eq!(unusable.event, shapeless, "{what}");
    assert_eq!(
        unusable.attempts, 1,
        "{what}: an unusable event is not retried"
    );
    assert_eq!(panicked.consumer, CONSUMER);

    // Replaying with the fault still there changes nothing; after the fix it is handled.
    let failed = consumer::replay(CONSUMER, &store, &handler(true), &poison.id).await;
    assert!(
        matches!(failed, Err(ReplayError::Failed(_))),
        "{what}: {failed:?}"
    );
    assert_eq!(consumer::dead_letters(&store).await.expect("list").len(), 2);
    let replayed = consumer::replay(CONSUMER, &store, &handler(false), &poison.id)
        .await
        .expect("replayed");
    assert_eq!(replayed.event, poison);
    assert_eq!(seen(&store).await, vec![1, 2, 3], "{what}");
    assert_eq!(consumer::dead_letters(&store).await.expect("list").len(), 1);
    let again = consumer::replay(CONSUMER, &store, &handler(false), &poison.id).await;
    assert!(
        matches!(again, Err(ReplayError::NotFound { .. })),
        "{what}: a replayed letter is gone: {again:?}"
    );
}

#[test]
fn poison_events_are_dead_lettered_and_replayable() {
    for s in stores::each() {
        // On the embedded bus.
        let store = s.open();
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let bus: Arc<dyn EventBus> = Arc::new(EmbeddedBus::in_memory().expect("bus"));
            check(store, bus, &format!("{} + embedded", s.name)).await;
        });
        drop(runtime);
    }
    for s in stores::each() {
        // On NATS JetStream (127.0.0.1:4222).
        let store = s.open();
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let stream = format!("MALLTEST{}", uuid::Uuid::new_v4().simple());
            let nats = NatsBus::connect("nats://127.0.0.1:4222", &stream)
                .await
                .expect("NATS with JetStream runs on 127.0.0.1:4222");
            let bus: Arc<dyn EventBus> = Arc::new(nats.clone());
            check(store, bus, &format!("{} + nats", s.name)).await;
            nats.delete_stream().await.expect("cleanup");
        });
        runtime.shutdown_timeout(Duration::from_secs(1));
    }
}

/// In a running mall: an OrderPlaced the delivery service cannot use is dead-lettered, shows
/// in its `/metrics`, and the next order still gets its delivery.
#[tokio::test]
async fn a_running_service_counts_its_dead_letters_and_moves_on() {
    let mall = common::start().await;
    let unusable =
        Event::new(EventType::OrderPlaced, &json!({"orderId": "not a number"})).expect("event");
    mall.system.bus.publish(&unusable).await.expect("publish");
    let order = mall.place(1, 1, "jay@uengine.org").await;
    let id = order["id"].as_i64().expect("id");
    eventually("the next order still gets its delivery", || async {
        (!mall.deliveries_of(id).await.is_empty()).then_some(())
    })
    .await;
    let store = mall
        .system
        .store(mall_services::Role::Delivery)
        .expect("delivery store");
    let letters = consumer::dead_letters(&store).await.expect("list");
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].event, unusable);
    let metrics = mall
        .http
        .get(format!("{}/metrics", mall.system.urls[Role::Delivery]))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("events_dead_lettered_total{consumer=\"delivery\"}")),
        "the dead letter is counted:\n{metrics}"
    );
    mall.system.stop().await;
}
