//! A thousand concurrent `myPage` subscriptions on one BFF process. In its own test binary:
//! it reads process-wide gauges from `/metrics`, which other tests would move.

mod common;

use mall_services::Role;
use std::collections::HashMap;

use common::{eventually, mall, metric, place_order_at_service, ws_url, Client};
use futures::{stream, StreamExt};

const SUBSCRIPTIONS: usize = 1000;
const CUSTOMERS: usize = 100;

fn customer(i: usize) -> String {
    format!("c{}@many.example", i % CUSTOMERS)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_subscriptions_each_get_their_own_updates_and_release_everything() {
    let (mall, _dir) = mall().await;
    let bff = mall.bff_url.clone().expect("bff");
    let order_service = mall.services.as_ref().expect("services").urls[Role::Order].to_owned();
    let feed = mall
        .bff
        .as_ref()
        .and_then(|b| b.feed.clone())
        .expect("a feed");
    let url = ws_url(&bff, "/graphql/ws");

    // One socket per subscription, ten subscribers per customer. Connecting a few dozen
    // at a time keeps the snapshot reads from queueing past the upstream timeout.
    let mut clients: Vec<(usize, Client)> = stream::iter(0..SUBSCRIPTIONS)
        .map(|i| {
            let url = url.clone();
            async move {
                let mut c = Client::connect(&url).await;
                let snapshot = c.snapshot_of("1", &customer(i)).await;
                assert_eq!(snapshot["rows"].as_array().map(Vec::len), Some(0));
                (i, c)
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    assert_eq!(feed.active(), SUBSCRIPTIONS);
    assert_eq!(
        metric(&bff, "bff_subscriptions_active").await,
        SUBSCRIPTIONS as f64
    );

    // One order per customer.
    let orders: HashMap<String, i64> = stream::iter(0..CUSTOMERS)
        .map(|i| {
            let order_service = order_service.clone();
            async move {
                let c = customer(i);
                let id = place_order_at_service(&order_service, &c).await;
                (c, id)
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;

    // Every subscriber gets its customer's order placed and its delivery started, and
    // nothing of anyone else (orders of the others would come before or between them).
    stream::iter(clients.iter_mut())
        .for_each_concurrent(None, |(i, c)| {
            let expected = orders[&customer(*i)];
            let me = customer(*i);
            async move {
                let placed = c.update().await;
                assert_eq!(placed["row"]["orderId"], expected, "subscriber {i}");
                assert_eq!(placed["row"]["customerId"], me.as_str());
                let started = c.update().await;
                assert_eq!(started["row"]["orderId"], expected, "subscriber {i}");
                assert_eq!(started["row"]["deliveryStatus"], "DELIVERY_STARTED");
                assert_eq!(started["rows"].as_array().map(Vec::len), Some(1));
            }
        })
        .await;

    stream::iter(clients.drain(..))
        .for_each_concurrent(64, |(_, c)| c.close())
        .await;
    eventually("every feed registration is released", || async {
        feed.active() == 0
    })
    .await;
    eventually("the gauges are back to zero", || async {
        metric(&bff, "bff_subscriptions_active").await == 0.0
            && metric(&bff, "bff_websocket_connections_active").await == 0.0
            && metric(&bff, "mypage_subscriptions_active").await == 0.0
    })
    .await;
    let changes = metric(&bff, r#"bff_subscription_updates_total{kind="change"}"#).await;
    assert!(
        changes >= (2 * SUBSCRIPTIONS) as f64,
        "updates counted: {changes}"
    );
    mall.stop().await;
}
