//! A half-open probe whose caller goes away gives its slot back: the circuit does not stay
//! HALF_OPEN, refusing its upstream until the BFF restarts, after an impatient client.
//!
//! Real time and real sockets: the client's connection (an HTTP request or a
//! graphql-transport-ws subscription) is dropped while the probe is parked in the hanging
//! upstream, which is exactly what the server sees when a browser tab closes. Nothing here
//! waits for a timeout: the cool-down is short and every wait polls for what it expects.

mod common;

use std::time::Duration;

use common::shop::{customer_of, Shop, ShopOptions};
use common::upstream::{FakeUpstream, Mode};
use common::{codes, errors, eventually, TestBff};
use futures::stream::{self, BoxStream};
use futures::{SinkExt, StreamExt};
use mall_bff::config::{BreakerSettings, StaleSettings, UpstreamOverride};
use mall_bff::live::{LiveFeed, LiveItem};
use mall_bff::upstream::Upstream;
use mall_bff::BffConfig;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const COOL_DOWN: Duration = Duration::from_millis(300);
const THRESHOLD: u32 = 3;

/// `upstream`: opens after 3 failures in a row, a short cool-down, one probe, a timeout far
/// longer than the test (the probe ends only when its caller drops it), no stale copies.
fn config(shop: &Shop, upstream: Upstream) -> BffConfig {
    let mut config = shop.config();
    config.resilience.upstreams.insert(
        upstream,
        UpstreamOverride {
            timeout: Some(Duration::from_secs(600)),
            breaker: Some(BreakerSettings {
                consecutive_failures: THRESHOLD,
                cool_down: COOL_DOWN,
                half_open_probes: 1,
                ..BreakerSettings::default()
            }),
            stale: Some(StaleSettings {
                enabled: false,
                ..StaleSettings::default()
            }),
            ..UpstreamOverride::default()
        },
    );
    config
}

async fn circuit_state(bff: &TestBff, upstream: &str) -> String {
    let r = bff.query("{ upstreams { name state } }").await;
    r["data"]["upstreams"]
        .as_array()
        .expect("upstreams")
        .iter()
        .find(|u| u["name"] == upstream)
        .and_then(|u| u["state"].as_str())
        .expect("the upstream is listed")
        .to_owned()
}

/// Fails `upstream` until its circuit opens, waits out the cool-down, then makes it hang.
async fn open_and_cool_down(bff: &TestBff, fake: &FakeUpstream, name: &str, query: &str) {
    fake.set_mode(Mode::Unavailable);
    for _ in 0..THRESHOLD {
        bff.query(query).await;
    }
    assert_eq!(circuit_state(bff, name).await, "OPEN");
    tokio::time::sleep(COOL_DOWN).await;
    assert_eq!(circuit_state(bff, name).await, "HALF_OPEN");
    fake.set_mode(Mode::Hang);
    fake.clear_hits();
}

/// Gives the server time to see the closed connection and drop the call's future before
/// the upstream is released. (Were the release first, the probe would end with the
/// upstream's 503 and open the circuit for another cool-down, which proves nothing.)
async fn server_noticed() {
    tokio::time::sleep(Duration::from_millis(500)).await;
}

/// Waits until the hanging upstream holds a request (the probe).
async fn probe_in_flight(fake: &FakeUpstream) {
    eventually("the probe reaches the upstream", || async {
        (!fake.hits().is_empty()).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_client_that_gives_up_during_the_probe_does_not_leave_the_circuit_half_open() {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(config(&shop, Upstream::Mypage)).await;
    let addr = bff.serve().await;
    let my_page = my_page_query();
    open_and_cool_down(&bff, &shop.mypage, "mypage", &my_page).await;

    // The probe goes out for an HTTP client, which closes its connection before the
    // answer comes.
    let client = reqwest::Client::new();
    let request = tokio::spawn(
        client
            .post(format!("http://{addr}/graphql"))
            .bearer_auth(bff.token().expect("a signed-in caller"))
            .json(&json!({ "query": my_page }))
            .send(),
    );
    probe_in_flight(&shop.mypage).await;
    request.abort();
    let _ = request.await;
    server_noticed().await;

    // The upstream recovers: the next query probes, gets the rows and closes the circuit
    // (before the fix: CIRCUIT_OPEN until the BFF restarts).
    shop.mypage.set_mode(Mode::Up);
    recovers(&bff, &my_page).await;
}

fn my_page_query() -> String {
    format!(
        r#"{{ myPage(customerId: "{}") {{ orderId }} }}"#,
        customer_of(1)
    )
}

/// The first queries after the upstream's recovery may still meet the probe in flight;
/// one of them soon probes, answers without errors, and the circuit is closed.
async fn recovers(bff: &TestBff, query: &str) {
    let r = eventually("a query after the caller went away probes", || async {
        let r = bff.query(query).await;
        (!codes(&r).contains(&"CIRCUIT_OPEN".to_owned())).then_some(r)
    })
    .await;
    assert!(errors(&r).is_empty(), "{r:#}");
    assert!(
        !r["data"]["myPage"].as_array().expect("rows").is_empty(),
        "{r:#}"
    );
    assert_eq!(circuit_state(bff, "mypage").await, "CLOSED");
}

/// A feed that never changes: the subscription's only upstream call is its snapshot.
struct QuietFeed;

impl LiveFeed for QuietFeed {
    fn subscribe(&self, _customer_id: &str) -> BoxStream<'static, LiveItem> {
        stream::pending().boxed()
    }
}

#[tokio::test]
async fn a_websocket_closed_during_the_snapshot_probe_does_not_leave_the_circuit_half_open() {
    let shop = Shop::start(ShopOptions::default()).await;
    let mut bff = TestBff::start(config(&shop, Upstream::Mypage)).await;
    bff.bff = bff
        .bff
        .clone()
        .with_live_feed(std::sync::Arc::new(QuietFeed));
    let addr = bff.serve().await;
    let customer = customer_of(1);
    let my_page = my_page_query();
    open_and_cool_down(&bff, &shop.mypage, "mypage", &my_page).await;

    // A subscription's snapshot read is the probe; the browser closes the socket meanwhile.
    let (mut ws, _) = tokio_tungstenite::connect_async(common::ws::request(addr))
        .await
        .expect("WebSocket handshake");
    ws.send(Message::Text(
        json!({"type": "connection_init", "payload": bff.init_payload()})
            .to_string()
            .into(),
    ))
    .await
    .expect("send");
    let ack: Value = match ws.next().await {
        Some(Ok(Message::Text(t))) => serde_json::from_str(&t).expect("JSON"),
        other => panic!("expected connection_ack, got {other:?}"),
    };
    assert_eq!(ack["type"], "connection_ack");
    let subscribe = json!({"id": "1", "type": "subscribe", "payload": {
        "query": "subscription($c: String!) { myPage(customerId: $c) { kind rows { orderId } } }",
        "variables": {"c": customer}}});
    ws.send(Message::Text(subscribe.to_string().into()))
        .await
        .expect("send");
    probe_in_flight(&shop.mypage).await;
    drop(ws);
    server_noticed().await;

    shop.mypage.set_mode(Mode::Up);
    recovers(&bff, &my_page).await;
}
