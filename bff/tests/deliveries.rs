//! A customer's deliveries through the BFF and the delivery team's completion, against the
//! real services.

mod common;

use mall_auth::policy::Caller;

use common::{assert_no_errors, codes, eventually, Services, TestBff, STAFF};
use serde_json::{json, Value};

const DELIVERIES: &str = "query($c: String!) { deliveries(customerId: $c) { id orderId productName quantity deliveryAddress status } }";
const COMPLETE: &str = "mutation($id: Int!) { completeDelivery(deliveryId: $id) { id status } }";
const CANCEL: &str = "mutation($id: Int!) { cancelOrder(orderId: $id) { id status } }";

async fn place(bff: &TestBff, customer: &str) -> i64 {
    // Customers place their own orders; the staff member the tests act as otherwise
    // completes the deliveries.
    bff.as_customer(customer);
    let r = bff
        .query_with(
            "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }",
            json!({"input": {"productId": 2, "quantity": 1, "customerId": customer,
                             "customerName": "Jay", "customerAddr": "Daegu"}}),
        )
        .await;
    assert_no_errors(&r);
    bff.act_as(Caller::Staff { id: STAFF.into() });
    r["data"]["placeOrder"]["id"].as_i64().expect("order id")
}

/// The delivery of `order` once it has started.
async fn delivery_of(bff: &TestBff, customer: &str, order: i64) -> Value {
    eventually("the delivery starts", || async {
        let r = bff.query_with(DELIVERIES, json!({"c": customer})).await;
        r["data"]["deliveries"]
            .as_array()?
            .iter()
            .find(|d| d["orderId"] == order)
            .cloned()
    })
    .await
}

#[tokio::test]
async fn a_customers_deliveries_are_listed_and_one_can_be_completed() {
    let services = Services::start().await;
    let bff = TestBff::start(services.config()).await;
    let order = place(&bff, "7@uengine.org").await;
    let other = place(&bff, "8@uengine.org").await;

    let delivery = delivery_of(&bff, "7@uengine.org", order).await;
    assert_eq!(delivery["status"], "DELIVERY_STARTED");
    assert_eq!(delivery["deliveryAddress"], "Daegu");
    let r = bff
        .query_with(DELIVERIES, json!({"c": "7@uengine.org"}))
        .await;
    assert!(
        r["data"]["deliveries"]
            .as_array()
            .is_some_and(|ds| ds.iter().all(|d| d["orderId"] != other)),
        "only this customer's deliveries: {r:#}"
    );

    let r = bff
        .query_with(COMPLETE, json!({"id": delivery["id"]}))
        .await;
    assert_no_errors(&r);
    assert_eq!(
        r["data"]["completeDelivery"]["status"],
        "DELIVERY_COMPLETED"
    );
    let again = delivery_of(&bff, "7@uengine.org", order).await;
    assert_eq!(again["status"], "DELIVERY_COMPLETED");
}

#[tokio::test]
async fn completing_a_cancelled_delivery_is_refused_and_changes_nothing() {
    let services = Services::start().await;
    let bff = TestBff::start(services.config()).await;
    let order = place(&bff, "9@uengine.org").await;
    let delivery = delivery_of(&bff, "9@uengine.org", order).await;
    assert_no_errors(&bff.query_with(CANCEL, json!({"id": order})).await);
    eventually("the delivery is cancelled", || async {
        let d = delivery_of(&bff, "9@uengine.org", order).await;
        (d["status"] == "DELIVERY_CANCELLED").then_some(())
    })
    .await;

    let r = bff
        .query_with(COMPLETE, json!({"id": delivery["id"]}))
        .await;
    assert_eq!(codes(&r), vec!["BAD_USER_INPUT".to_owned()], "{r:#}");
    let message = r["errors"][0]["message"].as_str().unwrap_or("");
    assert!(message.to_lowercase().contains("cancel"), "{message}");
    let after = delivery_of(&bff, "9@uengine.org", order).await;
    assert_eq!(after["status"], "DELIVERY_CANCELLED");
}

#[tokio::test]
async fn completing_an_unknown_delivery_is_not_found() {
    let services = Services::start().await;
    let bff = TestBff::start(services.config()).await;
    let r = bff.query_with(COMPLETE, json!({"id": 4242})).await;
    assert_eq!(codes(&r), vec!["NOT_FOUND".to_owned()], "{r:#}");
}
