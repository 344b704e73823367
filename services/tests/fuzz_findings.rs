//! What Schemathesis found against the services' OpenAPI documents, one regression test per
//! finding (`cargo xtask fuzz` and the bounded run in `cargo xtask test` look for more).

mod common;

use common::start;
use serde_json::json;

/// `{"quantity": 2814.0}` is an integer for JSON Schema (and so for the document), but
/// serde refused it as "floating point, expected i64": a schema-valid order was a 400.
#[tokio::test]
async fn an_integer_written_with_a_zero_fraction_is_an_integer() {
    let mall = start().await;
    let u = mall.system.urls.clone();
    let r = mall
        .http
        .post(format!("{}/orders", u.order))
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
            .post(format!("{}/orders", u.order))
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
        .post(format!("{}/products", u.product))
        .json(&json!({"name": "LAMP", "price": 100.0, "stock": -2.0}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 201);
    mall.system.stop().await;
}
