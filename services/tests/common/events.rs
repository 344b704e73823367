//! Domain events as the order service publishes them, for tests that feed policies directly.

use mall_services::event::{Event, EventType};
use serde_json::json;

/// An order event of `order` for `quantity` of product 1.
pub fn order_event(kind: EventType, order: i64, quantity: i64) -> Event {
    Event::new(
        kind,
        &json!({"orderId": order, "productId": 1, "productName": "TV", "quantity": quantity,
                "price": 10000, "customerId": "jay@uengine.org", "customerName": "Jay",
                "customerAddr": "Seoul",
                "status": if kind == EventType::OrderCancelled { "Cancelled" } else { "Ordered" }}),
    )
    .expect("event")
}
