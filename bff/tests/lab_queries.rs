//! The course's lab queries, run verbatim against the real domain services, and the other
//! reads of the contract (paged products, a customer's orders, myPage).

mod common;

use common::{assert_no_errors, eventually, Services, TestBff};
use mall_services::Role;
use serde_json::{json, Value};

/// The services with two orders placed (TV ×2 by customer 1, MASK ×1 by customer 2), and a
/// BFF in front of them.
async fn shop_with_two_orders() -> (Services, TestBff) {
    let services = Services::start().await;
    let http = reqwest::Client::new();
    for (product, quantity, customer) in [(1, 2, "1@uengine.org"), (2, 1, "2@uengine.org")] {
        let r = http
            .post(format!("{}/orders", services.system.urls[Role::Order]))
            .json(
                &json!({"productId": product, "quantity": quantity, "customerId": customer,
                          "customerName": "Jay", "customerAddr": format!("Seoul {customer}")}),
            )
            .send()
            .await
            .expect("order service answers");
        assert_eq!(r.status(), 201, "order placed");
    }
    let bff = TestBff::start(services.config()).await;
    (services, bff)
}

#[tokio::test]
async fn get_orders_lab_query_answers_every_order_with_its_price() {
    let (_services, bff) = shop_with_two_orders().await;
    let r = bff
        .query("query getOrders { orders { productId productName quantity price } }")
        .await;
    assert_no_errors(&r);
    assert_eq!(
        r["data"]["orders"],
        json!([
            {"productId": 1, "productName": "TV", "quantity": 2, "price": 10000},
            {"productId": 2, "productName": "MASK", "quantity": 1, "price": 20000},
        ])
    );
}

#[tokio::test]
async fn get_orders_lab_query_with_only_product_names() {
    let (_services, bff) = shop_with_two_orders().await;
    let r = bff
        .query("query getOrders { orders { productName } }")
        .await;
    assert_no_errors(&r);
    assert_eq!(
        r["data"]["orders"],
        json!([{"productName": "TV"}, {"productName": "MASK"}])
    );
}

#[tokio::test]
async fn get_order_by_id_lab_query_answers_order_one() {
    let (_services, bff) = shop_with_two_orders().await;
    let r = bff
        .query("query getOrderById { order(orderId: 1) { productId productName quantity price } }")
        .await;
    assert_no_errors(&r);
    assert_eq!(
        r["data"]["order"],
        json!({"productId": 1, "productName": "TV", "quantity": 2, "price": 10000})
    );
}

#[tokio::test]
async fn composite_lab_query_joins_product_and_delivery_of_each_order() {
    let (_services, bff) = shop_with_two_orders().await;
    let query = "query Composite { orders { quantity customerId state product { price name } delivery { deliveryAddress } } }";
    // Deliveries are created from the OrderPlaced events, a moment after the orders.
    let r = eventually("both deliveries", || async {
        let r = bff.query(query).await;
        let ready = r["data"]["orders"]
            .as_array()
            .is_some_and(|os| os.iter().all(|o| !o["delivery"].is_null()));
        ready.then_some(r)
    })
    .await;
    assert_no_errors(&r);
    assert_eq!(
        r["data"]["orders"],
        json!([
            {"quantity": 2, "customerId": "1@uengine.org", "state": "Ordered",
             "product": {"price": 10000, "name": "TV"},
             "delivery": {"deliveryAddress": "Seoul 1@uengine.org"}},
            {"quantity": 1, "customerId": "2@uengine.org", "state": "Ordered",
             "product": {"price": 20000, "name": "MASK"},
             "delivery": {"deliveryAddress": "Seoul 2@uengine.org"}},
        ])
    );
}

#[tokio::test]
async fn products_are_paged() {
    let (_services, bff) = shop_with_two_orders().await;
    let r = bff
        .query("{ products(page: 1, size: 4) { items { id name price } page size totalElements totalPages } }")
        .await;
    assert_no_errors(&r);
    let page = &r["data"]["products"];
    assert_eq!(page["page"], 1);
    assert_eq!(page["size"], 4);
    assert_eq!(page["totalElements"], 6, "the six seeded products");
    assert_eq!(page["totalPages"], 2);
    assert_eq!(
        page["items"],
        json!([{"id": 5, "name": "CAMERA", "price": 45000},
               {"id": 6, "name": "PHONE", "price": 80000}])
    );
}

#[tokio::test]
async fn a_customers_orders_are_only_theirs() {
    let (_services, bff) = shop_with_two_orders().await;
    let r = bff
        .query(r#"{ orders(customerId: "2@uengine.org") { id customerId productName status } }"#)
        .await;
    assert_no_errors(&r);
    assert_eq!(
        r["data"]["orders"],
        json!([{"id": 2, "customerId": "2@uengine.org", "productName": "MASK", "status": "ORDERED"}])
    );
}

#[tokio::test]
async fn my_page_shows_the_customers_orders_from_the_projection() {
    let (_services, bff) = shop_with_two_orders().await;
    let query = r#"{ myPage(customerId: "1@uengine.org") { orderId productName quantity price orderStatus deliveryId deliveryStatus } }"#;
    let r = eventually("the projection has the delivery", || async {
        let r = bff.query(query).await;
        let rows = r["data"]["myPage"].as_array().cloned().unwrap_or_default();
        (rows.len() == 1 && !rows[0]["deliveryId"].is_null()).then_some(r)
    })
    .await;
    assert_no_errors(&r);
    let row: &Value = &r["data"]["myPage"][0];
    assert_eq!(row["orderId"], 1);
    assert_eq!(row["productName"], "TV");
    assert_eq!(row["quantity"], 2);
    assert_eq!(row["price"], 10000);
    assert_eq!(row["orderStatus"], "ORDERED");
    assert_eq!(row["deliveryStatus"], "DELIVERY_STARTED");
}
