//! The last-known-good copies are bounded in bytes, and a flood cannot wipe them: 3,000
//! `myPage` queries for distinct customer ids of the longest length allowed leave the
//! my-page copies within their configured bytes (the cache's own count), while the copy of
//! a customer the shop keeps asking for survives the flood and is served, marked stale,
//! when the service goes down.

mod common;

use common::shop::{customer_of, Shop, ShopOptions};
use common::{assert_no_errors, TestBff};
use mall_bff::upstream::Upstream;
use serde_json::json;

const MY_PAGE: &str = "query($c: String!) { myPage(customerId: $c) { orderId productName } }";
const MAX_BYTES: u64 = 256 * 1024;

#[tokio::test]
async fn a_flood_of_distinct_customers_stays_within_the_byte_cap_and_keeps_the_hot_copy() {
    let mut shop = Shop::start(ShopOptions::default()).await;
    let mut config = shop.config();
    config.resilience.all.stale.max_bytes = MAX_BYTES;
    let bff = TestBff::start(config).await;
    let client = bff
        .bff
        .gateway
        .clients()
        .into_iter()
        .find(|c| c.upstream() == Upstream::Mypage)
        .expect("the my-page client");
    let copies = client.stale_documents();
    assert_eq!(copies.max_bytes(), MAX_BYTES);

    let hot = customer_of(1);
    let before = bff.query_with(MY_PAGE, json!({"c": hot})).await;
    assert_no_errors(&before);
    let mut largest = 0;
    for i in 0..3_000 {
        // The longest customer id the BFF passes on (200 characters), each one new.
        let id = format!("{i:0>200}");
        let r = bff.query_with(MY_PAGE, json!({"c": id})).await;
        assert_no_errors(&r);
        if i % 20 == 0 {
            let again = bff.query_with(MY_PAGE, json!({"c": hot})).await;
            assert_no_errors(&again);
        }
        largest = largest.max(copies.weight());
        assert!(
            copies.weight() <= MAX_BYTES,
            "after {i} customers the copies weigh {} bytes, over {MAX_BYTES}",
            copies.weight()
        );
    }
    assert!(
        largest > MAX_BYTES / 2,
        "the flood filled the cache (largest {largest} bytes)"
    );
    assert!(
        copies.len() < 3_000,
        "copies were forgotten: {}",
        copies.len()
    );

    shop.mypage.stop().await;
    let during = bff.query_with(MY_PAGE, json!({"c": hot})).await;
    assert_no_errors(&during);
    assert_eq!(during["data"], before["data"], "the hot copy survived");
    assert_eq!(
        during["extensions"]["stale"][0]["upstream"], "mypage",
        "and is marked stale: {during}"
    );
}
