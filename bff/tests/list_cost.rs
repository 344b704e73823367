//! A query is priced by the rows it can bring back (DESIGN.md section 9): list fields count
//! their children once per expected row (a page of products its `size`, an unpaged list 20
//! rows), and a query past `limits.max_complexity` is refused with REQUEST_TOO_EXPENSIVE
//! before any call to the services, while the shop's own queries and the course's lab
//! queries stay well within the default.

mod common;

use common::shop::{customer_of, Shop, ShopOptions};
use common::{codes, TestBff, STAFF};
use mall_auth::http::principal::{Principal, Via};
use mall_auth::policy::Caller;
use mall_bff::request_context::RequestContext;
use serde_json::{json, Value};

/// Runs `operation` of `document` as the staff member the tests act as.
async fn run(bff: &TestBff, document: &str, operation: Option<&str>, variables: Value) -> Value {
    let mut request = async_graphql::Request::new(document)
        .variables(async_graphql::Variables::from_json(variables));
    if let Some(name) = operation {
        request = request.operation_name(name);
    }
    let context = RequestContext::new(Principal {
        caller: Caller::Staff { id: STAFF.into() },
        via: Via::Bearer,
    });
    let response =
        mall_bff::schema::execute(&bff.bff.schema, &bff.bff.gateway, context, request).await;
    serde_json::to_value(&response).expect("a response is JSON")
}

fn upstream_calls(shop: &Shop) -> usize {
    shop.all().iter().map(|u| u.hits().len()).sum()
}

fn refused_as_too_expensive(r: &Value) -> bool {
    codes(r).iter().any(|c| c == "REQUEST_TOO_EXPENSIVE")
}

#[tokio::test]
async fn a_query_whose_lists_multiply_past_the_limit_is_refused_before_any_call() {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(shop.config()).await;
    // Discovery first (root documents are read outside any request).
    bff.query("{ upstreams { name } }").await;
    shop.clear_hits();

    // Three root fields only, far within max_root_fields and the call budget, but 3,000
    // rows of 5 fields each: 15,000 against the default 10,000.
    let pages: String = (0..3)
        .map(|i| {
            format!("p{i}: products(page: {i}, size: 1000) {{ items {{ id name price stock }} }} ")
        })
        .collect();
    let r = run(&bff, &format!("{{ {pages} }}"), None, json!({})).await;
    assert!(refused_as_too_expensive(&r), "{r:#}");
    assert!(r["data"].is_null(), "nothing ran: {r:#}");
    let message = r["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("limits.max_complexity"), "{message}");

    // The size counts when it comes in a variable too.
    let by_variable = "query($s: Int!) { a: products(size: $s) { items { id name price stock } } \
                       b: products(page: 1, size: $s) { items { id name price stock } } \
                       c: products(page: 2, size: $s) { items { id name price stock } } }";
    let r = run(&bff, by_variable, None, json!({"s": 1000})).await;
    assert!(refused_as_too_expensive(&r), "{r:#}");

    // Unpaged lists count their expected rows: 30 aliases of a customer's orders with their
    // products and deliveries (30 × 20 rows × 20 fields).
    let orders: String = (0..30)
        .map(|i| {
            format!(
                "o{i}: orders(customerId: \"{}\") {{ id productId productName quantity price \
                 customerId customerName customerAddr status state \
                 product {{ id name price stock }} delivery {{ id status deliveryAddress }} }} ",
                customer_of(1)
            )
        })
        .collect();
    let r = run(&bff, &format!("{{ {orders} }}"), None, json!({})).await;
    assert!(refused_as_too_expensive(&r), "{r:#}");

    assert_eq!(
        upstream_calls(&shop),
        0,
        "refused before any call to the services"
    );

    // One full page is one call and within the limit.
    let r = run(&bff, by_variable, None, json!({"s": 10})).await;
    assert!(!refused_as_too_expensive(&r), "{r:#}");
    let r = run(
        &bff,
        "{ products(page: 0, size: 1000) { items { id name price stock } page size totalElements totalPages } }",
        None,
        json!({}),
    )
    .await;
    assert!(
        !refused_as_too_expensive(&r),
        "the largest page is allowed: {r:#}"
    );
}

/// The operations of the shop's components, as they send them.
const SHOP_DOCUMENTS: [&str; 4] = [
    include_str!("../../components/product/src/queries/products.graphql"),
    include_str!("../../components/order/src/queries/order.graphql"),
    include_str!("../../components/delivery/src/queries/delivery.graphql"),
    include_str!("../../components/kit/src/queries/mypage.graphql"),
];

/// The course's lab queries and the README's examples.
const LAB_QUERIES: [&str; 7] = [
    "query getOrders { orders { productId productName quantity price } }",
    "query getOrders { orders { productName } }",
    "query getOrderById { order(orderId: 1) { productId productName quantity price } }",
    "query Composite { orders { quantity customerId state product { price name } delivery { deliveryAddress } } }",
    "{ products(page: 1, size: 4) { items { id name price } page size totalElements totalPages } }",
    "{ orders { id customerId status } }",
    "{ products { items { id name stock } } }",
];

#[tokio::test]
async fn the_shops_queries_and_the_lab_queries_are_accepted() {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(shop.config()).await;
    let customer = customer_of(1);
    let mut ran = 0;
    for document in SHOP_DOCUMENTS {
        let parsed = async_graphql::parser::parse_query(document).expect("the shop's query parses");
        for (name, _) in parsed.operations.iter() {
            let name = name.expect("the shop names its operations").to_string();
            let variables = match name.as_str() {
                // The catalogue's own page size is 5; the e2e suite reads 100 at once.
                "Products" => json!({"page": 0, "size": 100}),
                "PlaceOrder" => json!({"input": {"productId": 1, "quantity": 1,
                    "customerName": "Jay", "customerAddr": "Seoul"}}),
                "CancelOrder" => json!({"orderId": 1}),
                "CompleteDelivery" => json!({"deliveryId": 1}),
                _ => json!({"customerId": customer}),
            };
            let r = run(&bff, document, Some(&name), variables).await;
            assert!(!refused_as_too_expensive(&r), "{name}: {r:#}");
            let refused_unread = codes(&r).iter().any(|c| c == "GRAPHQL_VALIDATION_FAILED")
                && !r["errors"][0]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("Subscriptions are not supported");
            assert!(!refused_unread, "{name}: {r:#}");
            ran += 1;
        }
    }
    assert_eq!(ran, 7, "every operation of the shop was tried");
    for query in LAB_QUERIES {
        let r = run(&bff, query, None, json!({})).await;
        assert!(!refused_as_too_expensive(&r), "{query}: {r:#}");
        assert!(
            !codes(&r).iter().any(|c| c == "GRAPHQL_VALIDATION_FAILED"),
            "{query}: {r:#}"
        );
    }
}

#[tokio::test]
async fn a_subscriptions_rows_are_priced_too() {
    let shop = Shop::start(ShopOptions::default()).await;
    let mut config = shop.config();
    // The shop's subscription costs 162 (its rows: 20 × 8 fields).
    config.limits.max_complexity = 100;
    let bff = TestBff::start(config).await;
    let r = run(
        &bff,
        SHOP_DOCUMENTS[3],
        Some("MyPageUpdates"),
        json!({"customerId": customer_of(1)}),
    )
    .await;
    assert!(refused_as_too_expensive(&r), "{r:#}");
}
