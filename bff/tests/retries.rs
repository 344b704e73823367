//! Retries: an idempotent read that fails once is retried and answers; a mutation is never
//! retried (a POST that failed may have been applied), so it fails with one request sent.

mod common;

use common::shop::{Shop, ShopOptions};
use common::{assert_no_errors, codes, TestBff};
use serde_json::json;

#[tokio::test]
async fn a_read_that_fails_once_is_retried_and_answers() {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(shop.config()).await;
    // Discovery has read the root documents; the listing is what fails.
    bff.query("{ upstreams { name } }").await;
    shop.clear_hits();
    shop.product.fail_next("/products", 1);

    let r = bff
        .query("{ products(page: 0, size: 2) { items { id name } } }")
        .await;
    assert_no_errors(&r);
    assert_eq!(r["data"]["products"]["items"][0]["name"], "P1", "{r:#}");
    assert_eq!(
        shop.product.hits_to("/products").len(),
        2,
        "one failure, one retry"
    );
}

#[tokio::test]
async fn a_read_that_keeps_failing_stops_after_the_configured_attempts() {
    let shop = Shop::start(ShopOptions::default()).await;
    let mut config = shop.config();
    config.resilience.all.retry.attempts = 2;
    config.resilience.all.retry.min_backoff = std::time::Duration::from_millis(1);
    config.resilience.all.retry.max_backoff = std::time::Duration::from_millis(2);
    let bff = TestBff::start(config).await;
    bff.query("{ upstreams { name } }").await;
    shop.clear_hits();
    shop.product.fail_next("/products", 100);

    let r = bff
        .query("{ products(page: 0, size: 2) { items { id } } }")
        .await;
    assert_eq!(codes(&r), vec!["UPSTREAM_UNAVAILABLE".to_owned()], "{r:#}");
    assert_eq!(
        shop.product.hits_to("/products").len(),
        3,
        "the first attempt and two retries"
    );
}

#[tokio::test]
async fn a_failed_mutation_is_not_retried() {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(shop.config()).await;
    bff.as_customer("1@uengine.org");
    bff.query("{ upstreams { name } }").await;
    shop.clear_hits();
    shop.order.fail_next("/orders", 100);

    let r = bff
        .query_with(
            "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }",
            json!({"input": {"productId": 1, "quantity": 1, "customerId": "1@uengine.org",
                             "customerName": "Jay", "customerAddr": "Seoul"}}),
        )
        .await;
    assert!(!codes(&r).is_empty(), "{r:#}");
    let posts: Vec<_> = shop
        .order
        .hits()
        .into_iter()
        .filter(|h| h.method == "POST")
        .collect();
    assert_eq!(posts.len(), 1, "a POST is sent once: {posts:?}");
}
