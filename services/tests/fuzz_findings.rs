//! What Schemathesis found against the services' OpenAPI documents, one regression test per
//! finding (`cargo xtask fuzz` and the bounded run in `cargo xtask test` look for more).

mod common;

use common::start;
use mall_services::Role;
use serde_json::json;

/// `{"quantity": 2814.0}` is an integer for JSON Schema (and so for the document), but
/// serde refused it as "floating point, expected i64": a schema-valid order was a 400.
#[tokio::test]
async fn an_integer_written_with_a_zero_fraction_is_an_integer() {
    let mall = start().await;
    let u = mall.system.urls.clone();
    let r = mall
        .http
        .post(format!("{}/orders", u[Role::Order]))
        .header("content-type", "application/json")
        .body(
            r#"{"productId": 1.0, "quantity": 2.0, "customerId": "c", "customerName": "n",
                "customerAddr": "a"}"#,
        )
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 201);
    let order: serde_json::Value = r.json().await.expect("order");
    assert_eq!(order["quantity"], 2);
    assert_eq!(order["productId"], 1);

    // A real fraction, or a number past i64, is still refused, and says where.
    for quantity in ["2.5", "1e300", "9223372036854775808"] {
        let body = format!(
            r#"{{"productId": 1, "quantity": {quantity}, "customerId": "c", "customerName": "n", "customerAddr": "a"}}"#
        );
        let r = mall
            .http
            .post(format!("{}/orders", u[Role::Order]))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 400, "{quantity}");
        let p: serde_json::Value = r.json().await.expect("problem");
        assert!(
            p["detail"].as_str().expect("detail").contains("quantity"),
            "{p}"
        );
    }
    let r = mall
        .http
        .post(format!("{}/products", u[Role::Product]))
        .json(&json!({"name": "LAMP", "price": 100.0, "stock": -2.0}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 201);
    mall.system.stop().await;
}

/// The documents promise ids up to 2^53 - 1 (JavaScript's safe integers), but the services
/// took any i64: `findByOrderId?orderId=9007199254740992` was a 200, not the 400 the
/// document describes.
#[tokio::test]
async fn an_id_past_the_documented_maximum_is_refused() {
    let mall = start().await;
    let u = mall.system.urls.clone();
    for url in [
        format!(
            "{}/deliveries/search/findByOrderId?orderId=9007199254740992",
            u[Role::Delivery]
        ),
        format!("{}/orders/9007199254740992", u[Role::Order]),
        format!(
            "{}/products/search/findByIdIn?ids=1,9007199254740992",
            u[Role::Product]
        ),
    ] {
        let (status, problem) = mall.get(&url).await;
        assert_eq!(status, 400, "{url}");
        assert!(
            problem["detail"]
                .as_str()
                .expect("detail")
                .contains("9007199254740991"),
            "{problem}"
        );
    }
    let (status, _) = mall
        .get(&format!("{}/orders/9007199254740991", u[Role::Order]))
        .await;
    assert_eq!(status, 404, "the largest id is an id");
    mall.system.stop().await;
}

/// Once the product service refused ids past 2^53 - 1, an order for such a product asked the
/// product service, got its 400 and answered 503 "the product service did not answer".
#[tokio::test]
async fn an_order_for_a_product_id_past_the_maximum_is_a_400_not_a_503() {
    let mall = start().await;
    let r = mall
        .http
        .post(format!("{}/orders", mall.system.urls[Role::Order]))
        .json(
            &json!({"productId": 9_007_199_254_740_992_i64, "quantity": 1,
                      "customerId": "c", "customerName": "n", "customerAddr": "a"}),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 400);
    let p: serde_json::Value = r.json().await.expect("problem");
    assert!(p["detail"].as_str().expect("detail").contains("productId"));
    mall.system.stop().await;
}
