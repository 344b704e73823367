//! Nothing acknowledged is lost: restarts, stopped consumers, redeliveries and projection
//! rebuilds.

mod common;

use std::sync::Arc;

use common::{eventually, start, start_in};
use mall_services::consumer;
use mall_services::event::{Event, EventType};
use mall_services::store::sqlite::SqliteStore;
use mall_services::store::{Query, Store, TxExt};
use mall_services::{delivery, mypage, Role};
use serde_json::{json, Value};

async fn count_deliveries(mall: &common::Mall) -> u64 {
    let (_, d) = mall
        .get(&format!("{}/deliveries", mall.system.urls[Role::Delivery]))
        .await;
    d["page"]["totalElements"].as_u64().expect("total")
}

#[tokio::test]
async fn restart_loses_nothing_and_consumes_what_was_recorded() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().to_owned();
    // The order relay is "down": the orders' events are recorded in the outbox only.
    let mall = start_in(dir, |c| c.paused_relays = vec![Role::Order]).await;
    let mut ids = vec![];
    for _ in 0..3 {
        ids.push(
            mall.place(3, 2, "1@uengine.org").await["id"]
                .as_i64()
                .expect("id"),
        );
    }
    assert_eq!(mall.stock(3).await, 10);
    assert_eq!(count_deliveries(&mall).await, 0);
    let common::Mall { system, dir, .. } = mall;
    system.stop().await;
    assert!(path.join("order.db").exists());

    let mall = start_in(dir, |_| {}).await;
    for id in &ids {
        let (status, order) = mall
            .get(&format!("{}/orders/{id}", mall.system.urls[Role::Order]))
            .await;
        assert_eq!(status, 200, "order {id} survived the restart");
        assert_eq!(order["status"], "Ordered");
    }
    eventually(
        "every recorded order gets its delivery after the restart",
        || async { (count_deliveries(&mall).await == 3).then_some(()) },
    )
    .await;
    eventually("stock drops once per order", || async {
        (mall.stock(3).await == 4).then_some(())
    })
    .await;
    // Restart again: nothing is consumed twice.
    let common::Mall { system, dir, .. } = mall;
    system.stop().await;
    let mall = start_in(dir, |_| {}).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(count_deliveries(&mall).await, 3);
    assert_eq!(mall.stock(3).await, 4);
    eventually("my page rows survive", || async {
        (mall.my_page(ids[2]).await["deliveryStatus"] == "DeliveryStarted").then_some(())
    })
    .await;
    mall.system.stop().await;
}

#[tokio::test]
async fn a_stopped_consumer_catches_up_once() {
    let dir = tempfile::tempdir().expect("dir");
    let mut mall = start_in(dir, |c| c.paused_consumers = vec![Role::Delivery]).await;
    let mut ids = vec![];
    for i in 0..5 {
        ids.push(
            mall.place(1, 1, &format!("{i}@uengine.org")).await["id"]
                .as_i64()
                .expect("id"),
        );
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        count_deliveries(&mall).await,
        0,
        "orders accepted, delivery waits"
    );
    mall.system.resume_consumer(Role::Delivery);
    eventually("every waiting order gets its delivery", || async {
        (count_deliveries(&mall).await == 5).then_some(())
    })
    .await;
    for id in &ids {
        assert_eq!(
            mall.deliveries_of(*id).await.len(),
            1,
            "order {id}: one delivery"
        );
    }
    // Crash and resume again: the log is not re-applied.
    mall.system.pause_consumer(Role::Delivery);
    mall.system.resume_consumer(Role::Delivery);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(count_deliveries(&mall).await, 5);
    mall.system.stop().await;
}

#[tokio::test]
async fn a_redelivered_event_has_one_effect() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().expect("store"));
    let event = Event::new(
        EventType::OrderPlaced,
        &json!({"orderId": 7, "productId": 1, "productName": "TV", "quantity": 1, "price": 1,
                "customerId": "c", "customerName": "n", "customerAddr": "a", "status": "Ordered"}),
    )
    .expect("event");
    let handler = delivery::policy();
    for _ in 0..3 {
        consumer::handle(delivery::CONSUMER, &store, &handler, event.clone())
            .await
            .expect("handled");
    }
    let page = store
        .begin()
        .expect("tx")
        .list::<Value>(
            "deliveries",
            &Query {
                size: 10,
                ..Query::default()
            },
        )
        .expect("list");
    assert_eq!(page.total, 1);
    assert_eq!(store.pending_events(10).expect("outbox").len(), 1);
}

#[tokio::test]
async fn rebuilding_the_projection_from_the_log_equals_the_live_one() {
    let mall = start().await;
    let mut last = 0;
    for i in 0..6 {
        let o = mall
            .place(1 + i % 3, 1 + i, &format!("{}@uengine.org", i % 2))
            .await;
        last = o["id"].as_i64().expect("id");
        if i % 3 == 0 {
            mall.http
                .delete(format!("{}/orders/{last}", mall.system.urls[Role::Order]))
                .send()
                .await
                .expect("cancel");
        }
    }
    eventually("projection settles", || async {
        (mall.my_page(last).await["deliveryStatus"] == "DeliveryStarted").then_some(())
    })
    .await;
    let rows_of = |store: Arc<dyn Store>| {
        let mut tx = store.begin().expect("tx");
        tx.list::<mypage::MyPageRow>(
            "myPages",
            &Query {
                size: 1000,
                ..Query::default()
            },
        )
        .expect("rows")
        .items
    };
    let live_store = mall.system.store(Role::Mypage).expect("mypage store");
    eventually("every cancellation projected", || async {
        let rows = rows_of(Arc::clone(&live_store));
        (rows.len() == 6
            && rows
                .iter()
                .filter(|r| r.delivery_status.as_deref() == Some("DeliveryCancelled"))
                .count()
                == 2)
            .then_some(())
    })
    .await;
    let rebuilt: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().expect("store"));
    let replayed = mypage::rebuild(&mall.system.bus, &rebuilt)
        .await
        .expect("rebuild");
    assert!(replayed > 0);
    assert_eq!(rows_of(rebuilt), rows_of(live_store));
    mall.system.stop().await;
}
