//! Every client mistake answers a 4xx problem document that says what to fix, and changes
//! nothing in any store or on the bus.

mod common;

use common::{eventually, start};
use mall_services::Role;
use serde_json::json;

#[tokio::test]
async fn bad_requests_answer_problems_and_change_nothing() {
    let mall = start().await;
    // One real order with its delivery, so cancel/complete conflicts can be tried.
    let order = mall.place(1, 1, "1@uengine.org").await;
    let id = order["id"].as_i64().expect("id");
    let delivery = eventually("delivery", || async {
        mall.deliveries_of(id).await.into_iter().next()
    })
    .await;
    mall.http
        .delete(format!("{}/orders/{id}", mall.system.urls[Role::Order]))
        .send()
        .await
        .expect("cancel");
    eventually("delivery cancelled and projected", || async {
        (mall.my_page(id).await["deliveryStatus"] == "DeliveryCancelled"
            && mall.stock(1).await == 10)
            .then_some(())
    })
    .await;
    // Let the last MyPageChanged reach the log before taking the snapshot.
    eventually("log settles", || async {
        let a = mall.system.bus.head().await.ok()?;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        (mall.system.bus.head().await.ok()? == a).then_some(())
    })
    .await;
    let before = mall.snapshot().await;

    let u = mall.system.urls.clone();
    let orders = format!("{}/orders", u[Role::Order]);
    let good = json!({"productId": 1, "quantity": 1, "customerId": "c", "customerName": "n", "customerAddr": "a"});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = good.clone();
        b.as_object_mut().expect("object").remove(k);
        b
    };
    // (method, url, body, expected status, a word the detail must contain)
    let cases: Vec<(&str, String, Option<String>, u16, &str)> = vec![
        (
            "POST",
            orders.clone(),
            Some("{not json".into()),
            400,
            "not valid JSON",
        ),
        (
            "POST",
            orders.clone(),
            Some(without("quantity").to_string()),
            400,
            "quantity",
        ),
        (
            "POST",
            orders.clone(),
            Some(with("quantity", json!("two")).to_string()),
            400,
            "quantity",
        ),
        (
            "POST",
            orders.clone(),
            Some(with("quantity", json!(0)).to_string()),
            400,
            "quantity",
        ),
        (
            "POST",
            orders.clone(),
            Some(with("quantity", json!(-3)).to_string()),
            400,
            "quantity",
        ),
        (
            "POST",
            orders.clone(),
            Some(with("quantity", json!(1_000_000_000)).to_string()),
            400,
            "quantity",
        ),
        (
            "POST",
            orders.clone(),
            Some(with("quantity", json!(1e300)).to_string()),
            400,
            "quantity",
        ),
        (
            "POST",
            orders.clone(),
            Some(with("customerId", json!("  ")).to_string()),
            400,
            "customerId",
        ),
        (
            "POST",
            orders.clone(),
            Some(with("extra", json!(1)).to_string()),
            400,
            "extra",
        ),
        (
            "POST",
            orders.clone(),
            Some(with("productId", json!(999)).to_string()),
            422,
            "product 999",
        ),
        (
            "POST",
            orders.clone(),
            Some(with("productId", json!(-1)).to_string()),
            400,
            "productId",
        ),
        ("DELETE", format!("{orders}/999"), None, 404, "order 999"),
        (
            "DELETE",
            format!("{orders}/abc"),
            None,
            400,
            "positive integer",
        ),
        (
            "DELETE",
            format!("{orders}/{id}"),
            None,
            409,
            "already cancelled",
        ),
        (
            "PATCH",
            format!("{}/deliveries/{}", u[Role::Delivery], delivery["id"]),
            Some(json!({"status":"DeliveryCompleted"}).to_string()),
            409,
            "cancelled",
        ),
        (
            "PATCH",
            format!("{}/deliveries/{}", u[Role::Delivery], delivery["id"]),
            Some(json!({"status":"Lost"}).to_string()),
            400,
            "DeliveryCompleted",
        ),
        (
            "PATCH",
            format!("{}/deliveries/999", u[Role::Delivery]),
            Some(json!({"status":"DeliveryCompleted"}).to_string()),
            404,
            "delivery 999",
        ),
        ("GET", format!("{orders}?page=-1"), None, 400, "page"),
        ("GET", format!("{orders}?size=0"), None, 400, "size"),
        ("GET", format!("{orders}?size=100000"), None, 400, "size"),
        ("GET", format!("{orders}?sort=password"), None, 400, "sort"),
        (
            "GET",
            format!("{orders}/search/findByCustomerId"),
            None,
            400,
            "customerId",
        ),
        (
            "GET",
            format!("{}/products/search/findByIdIn?ids=1,x", u[Role::Product]),
            None,
            400,
            "ids",
        ),
        (
            "GET",
            format!("{}/products/0", u[Role::Product]),
            None,
            400,
            "positive integer",
        ),
        (
            "GET",
            format!("{}/products/77", u[Role::Product]),
            None,
            404,
            "product 77",
        ),
        (
            "GET",
            format!("{}/nothing", u[Role::Mypage]),
            None,
            404,
            "GET /",
        ),
        ("PUT", orders.clone(), Some(good.to_string()), 405, "Allow"),
    ];
    for (method, url, body, status, word) in cases {
        let mut req = mall.http.request(method.parse().expect("method"), &url);
        if let Some(b) = &body {
            req = req
                .header("content-type", "application/json")
                .body(b.clone());
        }
        let r = req.send().await.expect("request");
        assert_eq!(r.status().as_u16(), status, "{method} {url} {body:?}");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{method} {url}"
        );
        let problem: serde_json::Value = r.json().await.expect("problem body");
        assert_eq!(problem["status"], status);
        let detail = problem["detail"].as_str().expect("detail");
        assert!(
            detail.contains(word),
            "{method} {url}: `{detail}` should mention `{word}`"
        );
    }
    let missing_type = mall
        .http
        .post(&orders)
        .body(good.to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(missing_type.status(), 415);
    let huge = mall
        .http
        .post(&orders)
        .header("content-type", "application/json")
        .body(format!("{{\"customerName\":\"{}\"}}", "x".repeat(200_000)))
        .send()
        .await
        .expect("request");
    assert_eq!(huge.status(), 413);

    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(mall.snapshot().await, before, "bad input changed nothing");
    mall.system.stop().await;
}
