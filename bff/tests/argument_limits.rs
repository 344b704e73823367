//! Text arguments that key what the BFF fetches and remembers (customer ids, idempotency
//! keys) are bounded at the GraphQL boundary: a huge one is a BAD_USER_INPUT that says the
//! limit, and nothing is fetched (so nothing is remembered under it).

mod common;

use common::shop::{Shop, ShopOptions};
use common::{codes, TestBff};
use mall_bff::schema::MAX_TEXT_ARGUMENT;
use serde_json::json;

#[tokio::test]
async fn a_huge_customer_id_is_refused_before_anything_is_fetched() {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(shop.config()).await;
    shop.clear_hits();
    let huge = "x".repeat(60 * 1024);
    for query in [
        "query($c: String!) { myPage(customerId: $c) { orderId } }",
        "query($c: String!) { orders(customerId: $c) { id } }",
        "query($c: String!) { deliveries(customerId: $c) { id } }",
    ] {
        let r = bff.query_with(query, json!({"c": huge})).await;
        assert_eq!(codes(&r), vec!["BAD_USER_INPUT"], "{query}: {r:#}");
        let message = r["errors"][0]["message"].as_str().unwrap_or("");
        assert!(
            message.contains(&format!("at most {MAX_TEXT_ARGUMENT} characters")),
            "{message}"
        );
    }
    assert!(
        shop.all().iter().all(|u| u.hits().is_empty()),
        "nothing was fetched"
    );
    // At the limit, the query runs.
    let r = bff
        .query_with(
            "query($c: String!) { orders(customerId: $c) { id } }",
            json!({"c": "x".repeat(MAX_TEXT_ARGUMENT)}),
        )
        .await;
    assert!(codes(&r).is_empty(), "{r:#}");
}

#[tokio::test]
async fn a_huge_idempotency_key_is_refused_and_places_nothing() {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(shop.config()).await;
    shop.clear_hits();
    let key = "k".repeat(MAX_TEXT_ARGUMENT + 1);
    let r = bff
        .query_with(
            "mutation($k: String) { cancelOrder(orderId: 1, idempotencyKey: $k) { id } }",
            json!({"k": key}),
        )
        .await;
    assert_eq!(codes(&r), vec!["BAD_USER_INPUT"], "{r:#}");
    let r = bff
        .query_with(
            "mutation($k: String) { placeOrder(input: {productId: 1, quantity: 1, \
             customerId: \"1@uengine.org\", customerName: \"Jay\", customerAddr: \"Seoul\"}, \
             idempotencyKey: $k) { id } }",
            json!({"k": key}),
        )
        .await;
    assert_eq!(codes(&r), vec!["BAD_USER_INPUT"], "{r:#}");
    assert!(
        shop.all().iter().all(|u| u.hits().is_empty()),
        "nothing was sent"
    );
}
