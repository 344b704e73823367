//! Mutations against the real services: a retried placeOrder with the same idempotencyKey
//! places one order, and bad input answers a clear, typed error and changes nothing.

mod common;

use common::{assert_no_errors, codes, errors, Services, TestBff};
use serde_json::{json, Value};

const PLACE: &str = "mutation Place($input: PlaceOrderInput!, $key: String) {
    placeOrder(input: $input, idempotencyKey: $key) { id productId productName quantity price customerId status }
}";

fn input(product: i64, quantity: i64, customer: &str) -> Value {
    json!({"productId": product, "quantity": quantity, "customerId": customer,
           "customerName": "Jay", "customerAddr": "Seoul"})
}

async fn order_count(bff: &TestBff) -> usize {
    let r = bff.query("{ orders { id } }").await;
    assert_no_errors(&r);
    r["data"]["orders"].as_array().map_or(0, Vec::len)
}

/// Runs a mutation that must fail: its single error's code and message; checks nothing
/// was placed.
async fn refused(bff: &TestBff, query: &str, variables: Value) -> (String, String) {
    let before = order_count(bff).await;
    let r = bff.query_with(query, variables).await;
    let errors = errors(&r);
    assert_eq!(errors.len(), 1, "{r:#}");
    assert_eq!(
        order_count(bff).await,
        before,
        "a refused mutation changes nothing"
    );
    (
        codes(&r)[0].clone(),
        errors[0]["message"].as_str().unwrap_or("").to_owned(),
    )
}

#[tokio::test]
async fn a_retried_place_order_with_the_same_key_places_one_order() {
    let services = Services::start().await;
    let bff = TestBff::start(services.config()).await;
    bff.as_customer("1@uengine.org");
    let vars = json!({"input": input(1, 2, "1@uengine.org"), "key": "checkout-42"});

    let first = bff.query_with(PLACE, vars.clone()).await;
    assert_no_errors(&first);
    let again = bff.query_with(PLACE, vars).await;
    assert_no_errors(&again);

    assert_eq!(first["data"]["placeOrder"], again["data"]["placeOrder"]);
    assert_eq!(
        first["data"]["placeOrder"],
        json!({"id": 1, "productId": 1, "productName": "TV", "quantity": 2, "price": 10000,
               "customerId": "1@uengine.org", "status": "ORDERED"})
    );
    assert_eq!(order_count(&bff).await, 1);
}

#[tokio::test]
async fn place_order_without_a_key_places_an_order_each_time() {
    let services = Services::start().await;
    let bff = TestBff::start(services.config()).await;
    bff.as_customer("2@uengine.org");
    let vars = json!({"input": input(2, 1, "2@uengine.org")});
    assert_no_errors(&bff.query_with(PLACE, vars.clone()).await);
    assert_no_errors(&bff.query_with(PLACE, vars).await);
    assert_eq!(order_count(&bff).await, 2);
}

#[tokio::test]
async fn a_quantity_of_zero_is_bad_user_input() {
    let services = Services::start().await;
    let bff = TestBff::start(services.config()).await;
    bff.as_customer("1@uengine.org");
    let (code, message) =
        refused(&bff, PLACE, json!({"input": input(1, 0, "1@uengine.org")})).await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("quantity"), "{message}");
}

#[tokio::test]
async fn an_unknown_product_is_refused_and_named() {
    let services = Services::start().await;
    let bff = TestBff::start(services.config()).await;
    bff.as_customer("1@uengine.org");
    let (code, message) = refused(
        &bff,
        PLACE,
        json!({"input": input(999, 1, "1@uengine.org")}),
    )
    .await;
    assert!(
        code == "NOT_FOUND" || code == "BAD_USER_INPUT",
        "{code}: {message}"
    );
    assert!(
        message.contains("999") || message.contains("product"),
        "{message}"
    );
}

#[tokio::test]
async fn a_negative_product_id_is_bad_user_input() {
    let services = Services::start().await;
    let bff = TestBff::start(services.config()).await;
    bff.as_customer("1@uengine.org");
    let (code, message) =
        refused(&bff, PLACE, json!({"input": input(-1, 1, "1@uengine.org")})).await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("productId"), "{message}");
}

#[tokio::test]
async fn a_blank_customer_is_bad_user_input() {
    let services = Services::start().await;
    let bff = TestBff::start(services.config()).await;
    bff.as_customer("1@uengine.org");
    let (code, message) = refused(&bff, PLACE, json!({"input": input(1, 1, "   ")})).await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("customerId"), "{message}");
}

#[tokio::test]
async fn cancelling_an_unknown_order_is_not_found() {
    let services = Services::start().await;
    let bff = TestBff::start(services.config()).await;
    bff.as_customer("1@uengine.org");
    let (code, message) = refused(
        &bff,
        "mutation { cancelOrder(orderId: 77) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(code, "NOT_FOUND");
    assert!(message.contains("77"), "{message}");
}

#[tokio::test]
async fn cancelling_a_negative_order_id_is_bad_user_input() {
    let services = Services::start().await;
    let bff = TestBff::start(services.config()).await;
    bff.as_customer("1@uengine.org");
    let (code, _) = refused(
        &bff,
        "mutation { cancelOrder(orderId: -3) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(code, "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_retried_cancel_with_the_same_key_answers_the_cancelled_order() {
    let services = Services::start().await;
    let bff = TestBff::start(services.config()).await;
    bff.as_customer("1@uengine.org");
    assert_no_errors(
        &bff.query_with(PLACE, json!({"input": input(1, 1, "1@uengine.org")}))
            .await,
    );
    let cancel = r#"mutation { cancelOrder(orderId: 1, idempotencyKey: "undo-1") { id status } }"#;
    let first = bff.query(cancel).await;
    assert_no_errors(&first);
    let again = bff.query(cancel).await;
    assert_no_errors(&again);
    assert_eq!(first["data"], again["data"]);
    assert_eq!(first["data"]["cancelOrder"]["status"], "CANCELLED");
}

#[tokio::test]
async fn an_order_in_another_customers_name_is_forbidden_and_places_nothing() {
    let services = Services::start().await;
    let bff = TestBff::start(services.config()).await;
    bff.as_customer("1@uengine.org");
    let r = bff
        .query_with(PLACE, json!({"input": input(2, 1, "2@uengine.org")}))
        .await;
    assert_eq!(codes(&r), vec!["FORBIDDEN".to_owned()], "{r:#}");
    bff.as_customer("2@uengine.org");
    assert_eq!(order_count(&bff).await, 0);
}

#[tokio::test]
async fn an_order_without_customer_id_is_the_signed_in_customers() {
    let services = Services::start().await;
    let bff = TestBff::start(services.config()).await;
    bff.as_customer("3@uengine.org");
    let r = bff
        .query_with(
            PLACE,
            json!({"input": {"productId": 2, "quantity": 1,
                             "customerName": "Three", "customerAddr": "Seoul"}}),
        )
        .await;
    assert_no_errors(&r);
    assert_eq!(r["data"]["placeOrder"]["customerId"], "3@uengine.org");
}
