//! How wide one request may be: an operation with more root fields than
//! `limits.max_root_fields` (200 aliases of `orders` once made 600 upstream calls), or more
//! mutations than `limits.max_mutations`, is refused with `REQUEST_TOO_EXPENSIVE` before
//! any upstream is called, while every query field asked for at once is answered.

mod common;

use common::shop::{customer_of, orders_aliases, Shop, ShopOptions};
use common::{assert_no_errors, TestBff};
use http::StatusCode;
use serde_json::{json, Value};

fn nothing_fetched(shop: &Shop) -> bool {
    shop.all().iter().all(|u| u.hits().is_empty())
}

#[tokio::test]
async fn two_hundred_aliases_are_refused_before_any_upstream_call() {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(shop.config()).await;
    shop.clear_hits();
    let query = orders_aliases(200);
    let (status, body) = bff.post_graphql(json!({"query": query}).to_string()).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a request error under application/json"
    );
    let r: Value = serde_json::from_str(&body).expect("JSON");
    assert!(r.get("data").is_none(), "{r}");
    assert_eq!(
        r["errors"][0]["extensions"]["code"],
        "REQUEST_TOO_EXPENSIVE"
    );
    let message = r["errors"][0]["message"].as_str().expect("message");
    assert!(
        message.contains("200 root fields") && message.contains("at most 30"),
        "{message}"
    );
    assert!(nothing_fetched(&shop), "no upstream was called");
}

#[tokio::test]
async fn too_many_mutations_in_one_request_change_nothing() {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(shop.config()).await;
    shop.clear_hits();
    let mutations: String = (0..11)
        .map(|i| format!("c{i}: cancelOrder(orderId: {}) {{ id }} ", i + 1))
        .collect();
    let r = bff.query(&format!("mutation {{ {mutations} }}")).await;
    assert_eq!(
        r["errors"][0]["extensions"]["code"],
        "REQUEST_TOO_EXPENSIVE"
    );
    let message = r["errors"][0]["message"].as_str().expect("message");
    assert!(message.contains("11 mutations"), "{message}");
    assert!(
        nothing_fetched(&shop),
        "nothing was sent to the order service"
    );
}

#[tokio::test]
async fn every_query_field_at_once_is_answered() {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(shop.config()).await;
    let customer = customer_of(1);
    let r = bff
        .query_with(
            "query($c: String!) { products { items { id } } product(productId: 1) { name } \
             orders { id } mine: orders(customerId: $c) { id } order(orderId: 1) { id } \
             deliveries(customerId: $c) { id } myPage(customerId: $c) { orderId } \
             upstreams { name } __typename }",
            json!({"c": customer}),
        )
        .await;
    assert_no_errors(&r);
}
