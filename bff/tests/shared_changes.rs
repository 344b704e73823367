//! A my-page CHANGE reaches every subscriber of its customer as their own selection asks,
//! while the selection is resolved once per distinct selection, not once per subscriber
//! (`schema::rendered`). A row whose status cannot be read still gives each subscriber its
//! own field error.
//!
//! Real sockets: the BFF's router served on `127.0.0.1:0`, a fake shop behind it, a feed the
//! test drives, and graphql-transport-ws clients over tokio-tungstenite.

mod common;

use std::sync::Arc;

use common::shop::{customer_of, Shop, ShopOptions};
use common::ws::{initialised, next_message, send, Ws};
use common::TestBff;
use futures::stream::BoxStream;
use futures::StreamExt;
use mall_bff::live::{LiveFeed, LiveItem};
use mall_bff::model::MyPageRow;
use mall_bff::schema::rendered::RenderedChanges;
use serde_json::{json, Value};
use tokio::sync::broadcast;

/// A feed the test sends changes into: every subscriber of any customer gets them.
struct DrivenFeed(broadcast::Sender<LiveItem>);

impl LiveFeed for DrivenFeed {
    fn subscribe(&self, _customer_id: &str) -> BoxStream<'static, LiveItem> {
        futures::stream::unfold(self.0.subscribe(), |mut changes| async move {
            let item = changes.recv().await.ok()?;
            Some((item, changes))
        })
        .boxed()
    }
}

const NARROW: &str =
    "subscription($c: String!) { myPage(customerId: $c) { kind rows { orderId } } }";
const WIDE: &str = "subscription($c: String!) { myPage(customerId: $c) { kind \
                    rows { orderId orderStatus } row { orderId productName orderStatus } } }";

async fn subscriber(addr: std::net::SocketAddr, bff: &TestBff, query: &str) -> Ws {
    let mut ws = initialised(addr, bff.init_payload()).await;
    send(
        &mut ws,
        json!({"id": "1", "type": "subscribe", "payload": {
            "query": query, "variables": {"c": customer_of(1)}}}),
    )
    .await;
    let snapshot = next_message(&mut ws).await;
    assert_eq!(
        snapshot["payload"]["data"]["myPage"]["kind"], "SNAPSHOT",
        "{snapshot:#}"
    );
    ws
}

fn new_row(order: i64, status: &str) -> MyPageRow {
    MyPageRow {
        order_id: order,
        customer_id: customer_of(1),
        product_id: 7,
        product_name: "P7".into(),
        quantity: 1,
        price: 7000,
        order_status_text: status.into(),
        delivery_id: None,
        delivery_status_text: None,
    }
}

#[tokio::test]
async fn every_subscriber_gets_the_change_as_asked_and_each_selection_is_resolved_once() {
    let shop = Shop::start(ShopOptions::default()).await;
    let mut bff = TestBff::start(shop.config()).await;
    let (changes, _) = broadcast::channel(16);
    bff.bff = bff
        .bff
        .clone()
        .with_live_feed(Arc::new(DrivenFeed(changes.clone())));
    let addr = bff.serve().await;
    let mut narrow = Vec::new();
    for _ in 0..12 {
        narrow.push(subscriber(addr, &bff, NARROW).await);
    }
    let mut wide = Vec::new();
    for _ in 0..3 {
        wide.push(subscriber(addr, &bff, WIDE).await);
    }
    let kept = bff
        .bff
        .schema
        .data::<RenderedChanges>()
        .expect("the schema keeps rendered changes");
    assert!(kept.is_empty(), "snapshots are not kept");

    changes
        .send(LiveItem::Changed(new_row(1001, "Ordered")))
        .expect("subscribers");
    let mut narrow_payloads = Vec::new();
    for ws in &mut narrow {
        let m = next_message(ws).await;
        let page = &m["payload"]["data"]["myPage"];
        assert_eq!(page["kind"], "CHANGE", "{m:#}");
        assert!(
            page["rows"]
                .as_array()
                .expect("rows")
                .contains(&json!({"orderId": 1001})),
            "{m:#}"
        );
        assert!(page.get("row").is_none(), "only what was asked: {m:#}");
        narrow_payloads.push(m["payload"].clone());
    }
    assert!(narrow_payloads.windows(2).all(|w| w[0] == w[1]));
    for ws in &mut wide {
        let m = next_message(ws).await;
        let row = &m["payload"]["data"]["myPage"]["row"];
        assert_eq!(
            row,
            &json!({"orderId": 1001, "productName": "P7", "orderStatus": "ORDERED"}),
            "{m:#}"
        );
    }
    assert_eq!(kept.len(), 2, "one resolved change per distinct selection");

    // A status the BFF cannot read: each subscriber gets the field error, none a copy
    // without it.
    changes
        .send(LiveItem::Changed(new_row(1002, "Misplaced")))
        .expect("subscribers");
    for ws in &mut wide {
        let m = next_message(ws).await;
        let errors: Vec<Value> = m["payload"]["errors"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            errors.len(),
            2,
            "one per unreadable status asked for: {m:#}"
        );
        assert!(
            errors
                .iter()
                .all(|e| e["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
                    && e["path"].as_array().and_then(|p| p.last()) == Some(&json!("orderStatus"))),
            "{m:#}"
        );
    }
    for ws in &mut narrow {
        let m = next_message(ws).await;
        assert_eq!(m["payload"]["data"]["myPage"]["kind"], "CHANGE", "{m:#}");
    }
    assert_eq!(kept.len(), 2, "a change with a field error is not kept");
}
