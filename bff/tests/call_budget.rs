//! One request's calls to the services are bounded (DESIGN.md section 9): past
//! `limits.max_upstream_calls` the remaining fields answer REQUEST_TOO_EXPENSIVE and no
//! further call is made, while the shop's own queries stay far within the default.

mod common;

use common::shop::{customer_of, orders_aliases, Shop, ShopOptions};
use common::TestBff;
use serde_json::{json, Value};

fn codes(r: &Value) -> Vec<String> {
    r["errors"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter_map(|e| e["extensions"]["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_request_past_its_call_budget_makes_no_more_calls() {
    let shop = Shop::start(ShopOptions::default()).await;
    let mut config = shop.config();
    config.limits.max_upstream_calls = 4;
    let bff = TestBff::start(config).await;
    // Discovery first (root documents are read outside any request's budget).
    bff.query("{ upstreams { name } }").await;
    let warm = bff
        .post_graphql(
            json!({"query": format!("{{ orders(customerId: \"{}\") {{ id }} }}", customer_of(1))})
                .to_string(),
        )
        .await;
    assert_eq!(warm.0, 200, "{}", warm.1);
    shop.clear_hits();

    let query = orders_aliases(20);
    let (status, body) = bff.post_graphql(json!({"query": query}).to_string()).await;
    assert_eq!(status, 200, "{body}");
    let r: Value = serde_json::from_str(&body).expect("JSON");
    let codes = codes(&r);
    assert!(
        codes
            .iter()
            .filter(|c| *c == "REQUEST_TOO_EXPENSIVE")
            .count()
            >= 16,
        "the fields past the budget are refused: {r:#}"
    );
    let message = r["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("max_upstream_calls"), "{message}");
    let calls: usize = shop.all().iter().map(|u| u.hits().len()).sum();
    assert!(calls <= 4, "at most the budget was called: {calls}");
}

#[tokio::test]
async fn the_shops_own_queries_stay_within_the_default_budget() {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(shop.config()).await;
    let query = format!(
        "{{ products {{ items {{ id name }} }} orders {{ id product {{ name }} delivery {{ status }} }} \
         myPage(customerId: \"{}\") {{ orderId }} }}",
        customer_of(1)
    );
    let (status, body) = bff
        .post_graphql(json!({ "query": query }).to_string())
        .await;
    assert_eq!(status, 200, "{body}");
    let r: Value = serde_json::from_str(&body).expect("JSON");
    assert!(codes(&r).is_empty(), "{r:#}");
}
