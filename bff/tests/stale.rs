//! Last-known-good copies: what the BFF read before an outage comes back during it, marked
//! stale in the response's `extensions.stale` (path, upstream, reason, age) instead of an
//! error.

mod common;

use common::shop::{Shop, ShopOptions};
use common::upstream::Mode;
use common::{assert_no_errors, codes, TestBff};
use serde_json::{json, Value};

const COMPOSITE: &str = "query Composite { orders { quantity customerId state product { price name } delivery { deliveryAddress } } }";

/// The stale marks of a response, as (path, upstream, reason).
fn marks(r: &Value) -> Vec<(Value, String, String)> {
    r["extensions"]["stale"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            assert!(m["ageSeconds"].as_f64().is_some(), "a mark has an age: {m}");
            (
                m["path"].clone(),
                m["upstream"].as_str().unwrap_or("").to_owned(),
                m["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn deliveries_seen_before_the_outage_come_back_marked_stale() {
    let mut shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(shop.config()).await;
    let before = bff.query(COMPOSITE).await;
    assert_no_errors(&before);
    assert!(marks(&before).is_empty(), "fresh data is not marked");

    shop.delivery.stop().await;
    let during = bff.query(COMPOSITE).await;
    assert_no_errors(&during);
    assert_eq!(
        during["data"], before["data"],
        "the same deliveries, from copies"
    );
    assert_eq!(
        marks(&during),
        (0..3)
            .map(|i| (
                json!(["orders", i, "delivery"]),
                "delivery".to_owned(),
                "UPSTREAM_UNAVAILABLE".to_owned()
            ))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn products_seen_before_the_outage_come_back_marked_stale() {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(shop.config()).await;
    let before = bff.query(COMPOSITE).await;
    assert_no_errors(&before);

    shop.product.set_mode(Mode::Unavailable);
    let during = bff.query(COMPOSITE).await;
    assert_no_errors(&during);
    assert_eq!(during["data"], before["data"]);
    let marks = marks(&during);
    assert_eq!(marks.len(), 3, "{marks:?}");
    for (i, (path, upstream, reason)) in marks.iter().enumerate() {
        assert_eq!(path, &json!(["orders", i, "product"]));
        assert_eq!(upstream, "product");
        assert_eq!(reason, "UPSTREAM_UNAVAILABLE");
    }
}

#[tokio::test]
async fn a_product_page_seen_before_comes_back_marked_stale() {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(shop.config()).await;
    let query = "{ products(page: 0, size: 2) { items { id name } totalElements } }";
    let before = bff.query(query).await;
    assert_no_errors(&before);

    shop.product.set_mode(Mode::Unavailable);
    let during = bff.query(query).await;
    assert_no_errors(&during);
    assert_eq!(during["data"], before["data"]);
    assert_eq!(
        marks(&during),
        vec![(
            json!(["products"]),
            "product".to_owned(),
            "UPSTREAM_UNAVAILABLE".to_owned()
        )]
    );
}

#[tokio::test]
async fn what_was_never_seen_is_null_with_an_error_not_a_stale_copy() {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(shop.config()).await;
    shop.delivery.set_mode(Mode::Unavailable);

    let r = bff.query(COMPOSITE).await;
    assert!(marks(&r).is_empty(), "{r:#}");
    assert_eq!(codes(&r), vec!["UPSTREAM_UNAVAILABLE"; 3]);
    assert_eq!(r["data"]["orders"][0]["delivery"], Value::Null);
}
