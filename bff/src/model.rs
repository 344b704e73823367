//! The data the BFF joins, as plain types read from the upstreams' HAL items: no GraphQL
//! here. The schema ([`crate::schema::types`]) exposes these types; the gateway and the live
//! feed pass them around.
//!
//! Items are read straight from the upstream's bytes into these types (no `serde_json::Value`
//! in between), and leniently: unknown fields are skipped, missing fields default, `state`
//! or `deliveryState` is accepted for `status`, and an id missing from the body is taken
//! from the `self` link, so that a Spring Data REST service that does not expose ids, or
//! names a field the course's way, still works.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::error::BffError;
use crate::upstream::hal::{self, Document, Links};
use crate::upstream::Upstream;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Product {
    pub id: i64,
    pub name: String,
    pub price: i64,
    /// May be negative: backordered.
    pub stock: i64,
}

impl<'de> Deserialize<'de> for Product {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Default, Deserialize)]
        #[serde(rename_all = "camelCase", default)]
        struct Wire<'a> {
            #[serde(deserialize_with = "present_id")]
            id: Option<i64>,
            name: String,
            price: i64,
            stock: i64,
            #[serde(rename = "_links", borrow)]
            links: Option<&'a RawValue>,
        }
        let w = Wire::deserialize(d)?;
        Ok(Product {
            id: w.id.or_else(|| self_id(w.links)).unwrap_or_default(),
            name: w.name,
            price: w.price,
            stock: w.stock,
        })
    }
}

/// An `id` the item has: `null` is not one (a missing id is taken from the `self` link).
fn present_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    i64::deserialize(d).map(Some)
}

/// The id of an item's `self` link, from its `_links` as the upstream wrote them (read only
/// when the item has no `id`; links that cannot be read give none).
fn self_id(links: Option<&RawValue>) -> Option<i64> {
    let links = serde_json::from_str::<Links>(links?.get()).ok()?;
    hal::id_of_self(&links)
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

#[derive(Debug, Clone, Default)]
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
    pub status_text: String,
    /// The order's links (`self`, and `product` / `delivery` where the service gives them).
    pub links: Links,
}

impl<'de> Deserialize<'de> for Order {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Default, Deserialize)]
        #[serde(rename_all = "camelCase", default)]
        struct Wire {
            #[serde(deserialize_with = "present_id")]
            id: Option<i64>,
            product_id: i64,
            product_name: String,
            quantity: i64,
            price: i64,
            customer_id: String,
            customer_name: String,
            customer_addr: String,
            #[serde(rename = "status", alias = "state")]
            status_text: String,
            #[serde(rename = "_links", deserialize_with = "hal::item_links")]
            links: Links,
        }
        let w = Wire::deserialize(d)?;
        Ok(Order {
            id: w
                .id
                .or_else(|| hal::id_of_self(&w.links))
                .unwrap_or_default(),
            product_id: w.product_id,
            product_name: w.product_name,
            quantity: w.quantity,
            price: w.price,
            customer_id: w.customer_id,
            customer_name: w.customer_name,
            customer_addr: w.customer_addr,
            status_text: w.status_text,
            links: w.links,
        })
    }
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

#[derive(Debug, Clone, Default)]
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
    pub status_text: String,
}

impl<'de> Deserialize<'de> for Delivery {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Default, Deserialize)]
        #[serde(rename_all = "camelCase", default)]
        struct Wire<'a> {
            #[serde(deserialize_with = "present_id")]
            id: Option<i64>,
            order_id: i64,
            product_id: i64,
            product_name: String,
            quantity: i64,
            customer_id: String,
            customer_name: String,
            delivery_address: String,
            #[serde(rename = "status", alias = "state", alias = "deliveryState")]
            status_text: String,
            #[serde(rename = "_links", borrow)]
            links: Option<&'a RawValue>,
        }
        let w = Wire::deserialize(d)?;
        Ok(Delivery {
            id: w.id.or_else(|| self_id(w.links)).unwrap_or_default(),
            order_id: w.order_id,
            product_id: w.product_id,
            product_name: w.product_name,
            quantity: w.quantity,
            customer_id: w.customer_id,
            customer_name: w.customer_name,
            delivery_address: w.delivery_address,
            status_text: w.status_text,
        })
    }
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
    /// The customer's rows after this update (shared with the subscription's own copy:
    /// an update costs no copy of the rows).
    pub rows: Arc<Vec<MyPageRow>>,
    /// The row that changed (CHANGE only).
    pub row: Option<MyPageRow>,
}

/// Reads an upstream's answer that is one item (a resource a link points at, a command's
/// answer) as `T`. An answer that is not one is the upstream's failure.
pub fn from_body<T: DeserializeOwned>(upstream: Upstream, body: &[u8]) -> Result<T, BffError> {
    serde_json::from_slice(body).map_err(|e| BffError::protocol(upstream, e))
}

/// Reads the `rel` items of a collection page as `T` (see [`Document::items`]).
pub fn items_of<T: DeserializeOwned>(
    upstream: Upstream,
    doc: &Document<'_>,
    rel: &str,
) -> Result<Vec<T>, BffError> {
    doc.items(rel).map_err(|e| BffError::protocol(upstream, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(json: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&json).expect("serialises")
    }

    #[test]
    fn a_course_delivery_resource_is_read_with_its_id_and_state() {
        let d: Delivery = from_body(
            Upstream::Delivery,
            &body(
                json!({"deliveryState": "DeliveryStarted", "deliveryAddress": "Seoul 1",
                   "_links": {"self": {"href": "http://h:8082/deliveries/7"}}}),
            ),
        )
        .expect("reads");
        assert_eq!(d.id, 7);
        assert_eq!(d.delivery_address, "Seoul 1");
        assert_eq!(d.status().expect("known"), DeliveryStatus::DeliveryStarted);
    }

    #[test]
    fn an_id_in_the_body_wins_and_null_is_no_id() {
        let links = json!({"self": {"href": "http://h:8083/products/7{?projection}", "templated": true},
                           "extra": [{"href": "/x", "unknown": 1}]});
        let p: Product = from_body(
            Upstream::Product,
            &body(json!({"id": 3, "name": "TV", "price": 10, "stock": -1, "new": {"a": [1]}, "_links": links})),
        )
        .expect("reads");
        assert_eq!((p.id, p.name.as_str(), p.stock), (3, "TV", -1));
        // The self link's last segment is not a number here: no id.
        let p: Product = from_body(
            Upstream::Product,
            &body(json!({"name": "TV", "_links": links})),
        )
        .expect("reads");
        assert_eq!(p.id, 0);
        assert!(from_body::<Product>(Upstream::Product, &body(json!({"id": null}))).is_err());
        assert!(from_body::<Product>(Upstream::Product, b"{\"name\": 5}").is_err());
        // Unreadable links are no links, for an item's id.
        let p: Product = from_body(
            Upstream::Product,
            &body(json!({"name": "TV", "_links": {"self": "http://h/products/4"}})),
        )
        .expect("reads");
        assert_eq!(p.id, 0);
    }

    #[test]
    fn a_spring_order_has_its_id_and_links() {
        let o: Order = from_body(
            Upstream::Order,
            &body(json!({"productId": 1, "state": "Ordered", "_links": {
                "self": {"href": "http://h:8081/orders/12"},
                "delivery": [{"href": "http://h:8081/orders/12/delivery"}]}})),
        )
        .expect("reads");
        assert_eq!(o.id, 12);
        assert_eq!(o.status().expect("known"), OrderStatus::Ordered);
        assert_eq!(
            o.link("delivery").as_deref(),
            Some("http://h:8081/orders/12/delivery")
        );
        // An order's links must be links.
        assert!(
            from_body::<Order>(Upstream::Order, &body(json!({"_links": {"self": 1}}))).is_err()
        );
    }
}
