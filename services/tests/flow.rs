//! The course's event flow end to end over HTTP: order → delivery → stock → my page.

mod common;

use common::{eventually, start};
use mall_services::Role;
use serde_json::json;

#[tokio::test]
async fn place_cancel_and_complete_flow_through_every_service() {
    let mall = start().await;
    let tv_stock = mall.stock(1).await;

    let order = mall.place(1, 2, "1@uengine.org").await;
    let id = order["id"].as_i64().expect("id");
    assert_eq!(order["productName"], "TV");
    assert_eq!(order["price"], 10000);
    assert_eq!(order["status"], "Ordered");

    let delivery = eventually("delivery starts", || async {
        mall.deliveries_of(id).await.into_iter().next()
    })
    .await;
    assert_eq!(delivery["status"], "DeliveryStarted");
    assert_eq!(delivery["deliveryAddress"], "Seoul");
    eventually("stock drops by the quantity", || async {
        (mall.stock(1).await == tv_stock - 2).then_some(())
    })
    .await;
    eventually("my page shows DeliveryStarted", || async {
        let row = mall.my_page(id).await;
        (row["deliveryStatus"] == "DeliveryStarted" && row["orderStatus"] == "Ordered")
            .then_some(())
    })
    .await;

    let cancelled = mall
        .http
        .delete(format!("{}/orders/{id}", mall.system.urls[Role::Order]))
        .send()
        .await
        .expect("cancel");
    assert_eq!(cancelled.status(), 200);
    let (_, kept) = mall
        .get(&format!("{}/orders/{id}", mall.system.urls[Role::Order]))
        .await;
    assert_eq!(kept["status"], "Cancelled", "a cancelled order stays");
    eventually("delivery cancelled", || async {
        (mall.deliveries_of(id).await[0]["status"] == "DeliveryCancelled").then_some(())
    })
    .await;
    eventually("stock restored", || async {
        (mall.stock(1).await == tv_stock).then_some(())
    })
    .await;
    eventually("my page shows the cancellation", || async {
        let row = mall.my_page(id).await;
        (row["orderStatus"] == "Cancelled" && row["deliveryStatus"] == "DeliveryCancelled")
            .then_some(())
    })
    .await;

    let other = mall.place(2, 1, "2@uengine.org").await;
    let other_id = other["id"].as_i64().expect("id");
    let d = eventually("second delivery starts", || async {
        mall.deliveries_of(other_id).await.into_iter().next()
    })
    .await;
    let completed = mall
        .http
        .patch(format!(
            "{}/deliveries/{}",
            mall.system.urls[Role::Delivery],
            d["id"]
        ))
        .json(&json!({"status": "DeliveryCompleted"}))
        .send()
        .await
        .expect("complete");
    assert_eq!(completed.status(), 200);
    eventually("my page shows DeliveryCompleted", || async {
        (mall.my_page(other_id).await["deliveryStatus"] == "DeliveryCompleted").then_some(())
    })
    .await;
    mall.system.stop().await;
}

#[tokio::test]
async fn out_of_stock_products_can_still_be_ordered() {
    let mall = start().await;
    // PHONE is seeded with no stock.
    let (_, phone) = mall
        .get(&format!("{}/products/6", mall.system.urls[Role::Product]))
        .await;
    assert_eq!(phone["stock"], 0);
    mall.place(6, 3, "1@uengine.org").await;
    eventually("stock goes below zero (backordered)", || async {
        (mall.stock(6).await == -3).then_some(())
    })
    .await;
    mall.system.stop().await;
}

#[tokio::test]
async fn idempotency_key_makes_a_retried_order_one_order() {
    let mall = start().await;
    let body = json!({"productId": 1, "quantity": 1, "customerId": "1@uengine.org",
                      "customerName": "Jay", "customerAddr": "Seoul"});
    let url = format!("{}/orders", mall.system.urls[Role::Order]);
    let post = || {
        mall.http
            .post(&url)
            .header("Idempotency-Key", "k-1")
            .json(&body)
            .send()
    };
    let first = post().await.expect("first");
    assert_eq!(first.status(), 201);
    let second = post().await.expect("retry");
    assert_eq!(second.status(), 200);
    assert_eq!(
        first.headers()["location"],
        second.headers()["location"],
        "the retry answers the first order"
    );
    let (_, all) = mall.get(&url).await;
    assert_eq!(all["page"]["totalElements"], 1);
    let other = mall
        .http
        .post(&url)
        .header("Idempotency-Key", "k-1")
        .json(
            &json!({"productId": 2, "quantity": 1, "customerId": "1@uengine.org",
                      "customerName": "Jay", "customerAddr": "Seoul"}),
        )
        .send()
        .await
        .expect("reuse");
    assert_eq!(
        other.status(),
        409,
        "a key reused for another order is refused"
    );
    mall.system.stop().await;
}
