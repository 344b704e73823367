//! The data the BFF joins, as plain types read from the upstreams' HAL items: no GraphQL
//! here. The schema ([`crate::schema::types`]) exposes these types; the gateway and the live
//! feed pass them around.
//!
//! Items are read leniently (missing fields default, `state` or `deliveryState` is accepted
//! for `status`, an id missing from the body is taken from the `self` link) so that a Spring
//! Data REST service that does not expose ids, or names a field the course's way, still
//! works.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::error::BffError;
use crate::upstream::hal::{self, Links};
use crate::upstream::Upstream;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Product {
    pub id: i64,
    pub name: String,
    pub price: i64,
    /// May be negative: backordered.
    pub stock: i64,
}

impl crate::stale::Weigh for Product {
    fn heap_bytes(&self) -> u64 {
        self.name.capacity() as u64
    }
}

/// One page of products.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductPage {
    pub items: Vec<Product>,
    /// Zero-based page number.
    pub page: i64,
    pub size: i64,
    pub total_elements: i64,
    pub total_pages: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Ordered,
    Cancelled,
}

impl OrderStatus {
    /// Reads the status as the services (or the course's Spring Boot services) spell it.
    pub fn parse(s: &str) -> Option<OrderStatus> {
        match s.to_ascii_lowercase().as_str() {
            "ordered" | "orderplaced" | "placed" => Some(OrderStatus::Ordered),
            "cancelled" | "canceled" | "ordercancelled" | "ordercanceled" => {
                Some(OrderStatus::Cancelled)
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    DeliveryStarted,
    DeliveryCancelled,
    DeliveryCompleted,
}

impl DeliveryStatus {
    /// Reads the status as the services (or the course's Spring Boot services) spell it.
    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        match s.to_ascii_lowercase().replace('_', "").as_str() {
            "deliverystarted" | "started" => Some(DeliveryStatus::DeliveryStarted),
            "deliverycancelled" | "deliverycanceled" | "cancelled" | "canceled" => {
                Some(DeliveryStatus::DeliveryCancelled)
            }
            "deliverycompleted" | "completed" => Some(DeliveryStatus::DeliveryCompleted),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Order {
    pub id: i64,
    pub product_id: i64,
    pub product_name: String,
    pub quantity: i64,
    pub price: i64,
    pub customer_id: String,
    pub customer_name: String,
    pub customer_addr: String,
    /// The status as the order service wrote it (the course's `state`).
    #[serde(rename = "status", alias = "state")]
    pub status_text: String,
    /// The order's links (`self`, and `product` / `delivery` where the service gives them).
    #[serde(rename = "_links", deserialize_with = "hal::item_links")]
    pub links: Links,
}

impl Order {
    pub fn status(&self) -> Result<OrderStatus, BffError> {
        OrderStatus::parse(&self.status_text).ok_or_else(|| {
            BffError::protocol(
                Upstream::Order,
                format!("unknown order status `{}`", self.status_text),
            )
        })
    }

    /// The href of the link `rel`, expanded without variables when it is a template (Spring
    /// Data REST item links carry `{?projection}`).
    pub fn link(&self, rel: &str) -> Option<String> {
        self.links.get(rel).and_then(|l| l.expand(&[]).ok())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Delivery {
    pub id: i64,
    pub order_id: i64,
    pub product_id: i64,
    pub product_name: String,
    pub quantity: i64,
    pub customer_id: String,
    pub customer_name: String,
    pub delivery_address: String,
    /// The status as the delivery service wrote it (the course's `deliveryState`).
    #[serde(rename = "status", alias = "state", alias = "deliveryState")]
    pub status_text: String,
}

impl crate::stale::Weigh for Delivery {
    fn heap_bytes(&self) -> u64 {
        [
            &self.product_name,
            &self.customer_id,
            &self.customer_name,
            &self.delivery_address,
            &self.status_text,
        ]
        .iter()
        .map(|s| s.capacity() as u64)
        .sum()
    }
}

impl Delivery {
    pub fn status(&self) -> Result<DeliveryStatus, BffError> {
        DeliveryStatus::parse(&self.status_text).ok_or_else(|| {
            BffError::protocol(
                Upstream::Delivery,
                format!("unknown delivery status `{}`", self.status_text),
            )
        })
    }
}

/// One row of the my-page projection.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MyPageRow {
    pub order_id: i64,
    pub customer_id: String,
    pub product_id: i64,
    pub product_name: String,
    pub quantity: i64,
    pub price: i64,
    #[serde(rename = "orderStatus")]
    pub order_status_text: String,
    pub delivery_id: Option<i64>,
    #[serde(rename = "deliveryStatus")]
    pub delivery_status_text: Option<String>,
}

impl MyPageRow {
    pub fn order_status(&self) -> Result<OrderStatus, BffError> {
        OrderStatus::parse(&self.order_status_text).ok_or_else(|| {
            BffError::protocol(
                Upstream::Mypage,
                format!("unknown order status `{}`", self.order_status_text),
            )
        })
    }

    pub fn delivery_status(&self) -> Option<DeliveryStatus> {
        self.delivery_status_text
            .as_deref()
            .and_then(DeliveryStatus::parse)
    }
}

/// What placing an order asks of the order service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub product_id: i64,
    pub quantity: i64,
    pub customer_id: String,
    pub customer_name: String,
    pub customer_addr: String,
}

/// What a my-page subscription update is: SNAPSHOT, the customer's rows as the projection
/// has them now (the first update, and again whenever the subscriber fell behind: a resync),
/// or CHANGE, one row changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MyPageUpdateKind {
    Snapshot,
    Change,
}

/// One update of a my-page subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct MyPageUpdate {
    pub kind: MyPageUpdateKind,
    /// The customer's rows after this update.
    pub rows: Vec<MyPageRow>,
    /// The row that changed (CHANGE only).
    pub row: Option<MyPageRow>,
}

/// Reads one HAL item as `T`, taking a missing `id` from its `self` link.
pub fn from_item<T: DeserializeOwned>(upstream: Upstream, mut doc: Value) -> Result<T, BffError> {
    if let Some(obj) = doc.as_object_mut() {
        if !obj.contains_key("id") {
            let id = Links::of(&Value::Object(obj.clone()), "http://localhost/")
                .get("self")
                .and_then(|l| {
                    l.href
                        .rsplit('/')
                        .next()
                        .and_then(|s| s.parse::<i64>().ok())
                });
            if let Some(id) = id {
                obj.insert("id".into(), Value::from(id));
            }
        }
    }
    serde_json::from_value(doc).map_err(|e| BffError::protocol(upstream, e))
}

/// Reads HAL items as `T` (see [`from_item`]).
pub fn from_items<T: DeserializeOwned>(
    upstream: Upstream,
    docs: Vec<Value>,
) -> Result<Vec<T>, BffError> {
    docs.into_iter().map(|d| from_item(upstream, d)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_course_delivery_resource_is_read_with_its_id_and_state() {
        let d: Delivery = from_item(
            Upstream::Delivery,
            json!({"deliveryState": "DeliveryStarted", "deliveryAddress": "Seoul 1",
                   "_links": {"self": {"href": "http://h:8082/deliveries/7"}}}),
        )
        .expect("reads");
        assert_eq!(d.id, 7);
        assert_eq!(d.delivery_address, "Seoul 1");
        assert_eq!(d.status().expect("known"), DeliveryStatus::DeliveryStarted);
    }
}
