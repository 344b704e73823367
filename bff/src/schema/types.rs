//! The GraphQL types, read from the upstreams' HAL items.
//!
//! Items are read leniently (missing fields default, `state` is accepted for `status`, an
//! id missing from the body is taken from the `self` link) so that a Spring Data REST
//! service that does not expose ids, or names a field the course's way, still works.

use async_graphql::{ComplexObject, Context, Enum, InputObject, SimpleObject};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::error::BffError;
use crate::upstream::hal::{self, Links};
use crate::upstream::Upstream;

#[derive(Debug, Clone, Default, PartialEq, Deserialize, SimpleObject)]
#[serde(rename_all = "camelCase", default)]
pub struct Product {
    pub id: i64,
    pub name: String,
    pub price: i64,
    /// May be negative: backordered.
    pub stock: i64,
}

/// One page of products.
#[derive(Debug, Clone, SimpleObject)]
pub struct ProductPage {
    pub items: Vec<Product>,
    /// Zero-based page number.
    pub page: i64,
    pub size: i64,
    pub total_elements: i64,
    pub total_pages: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum OrderStatus {
    Ordered,
    Cancelled,
}

impl OrderStatus {
    fn parse(s: &str) -> Option<OrderStatus> {
        match s.to_ascii_lowercase().as_str() {
            "ordered" | "orderplaced" | "placed" => Some(OrderStatus::Ordered),
            "cancelled" | "canceled" | "ordercancelled" | "ordercanceled" => {
                Some(OrderStatus::Cancelled)
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum DeliveryStatus {
    DeliveryStarted,
    DeliveryCancelled,
    DeliveryCompleted,
}

impl DeliveryStatus {
    fn parse(s: &str) -> Option<DeliveryStatus> {
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

#[derive(Debug, Clone, Default, Deserialize, SimpleObject)]
#[graphql(complex)]
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
    #[graphql(skip)]
    #[serde(rename = "status", alias = "state")]
    pub status_text: String,
    #[graphql(skip)]
    #[serde(rename = "_links", deserialize_with = "hal::item_links")]
    pub links: Links,
}

#[ComplexObject]
impl Order {
    async fn status(&self) -> Result<OrderStatus, BffError> {
        OrderStatus::parse(&self.status_text).ok_or_else(|| {
            BffError::protocol(
                Upstream::Order,
                format!("unknown order status `{}`", self.status_text),
            )
        })
    }

    /// The course's name for status: "Ordered" or "Cancelled".
    async fn state(&self) -> &str {
        &self.status_text
    }

    /// The ordered product, from the product service (null when it cannot be reached).
    async fn product(&self, ctx: &Context<'_>) -> Result<Option<Product>, BffError> {
        super::loaders::product_of(ctx, self).await
    }

    /// The order's delivery, from the delivery service (null until there is one, or when
    /// the delivery service cannot be reached).
    async fn delivery(&self, ctx: &Context<'_>) -> Result<Option<Delivery>, BffError> {
        super::loaders::delivery_of(ctx, self).await
    }
}

#[derive(Debug, Clone, Default, Deserialize, SimpleObject)]
#[graphql(complex)]
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
    #[graphql(skip)]
    #[serde(rename = "status", alias = "state")]
    pub status_text: String,
}

#[ComplexObject]
impl Delivery {
    async fn status(&self) -> Result<DeliveryStatus, BffError> {
        DeliveryStatus::parse(&self.status_text).ok_or_else(|| {
            BffError::protocol(
                Upstream::Delivery,
                format!("unknown delivery status `{}`", self.status_text),
            )
        })
    }
}

/// One row of the my-page projection.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, SimpleObject)]
#[graphql(complex)]
#[serde(rename_all = "camelCase", default)]
pub struct MyPageRow {
    pub order_id: i64,
    pub customer_id: String,
    pub product_id: i64,
    pub product_name: String,
    pub quantity: i64,
    pub price: i64,
    #[graphql(skip)]
    #[serde(rename = "orderStatus")]
    pub order_status_text: String,
    pub delivery_id: Option<i64>,
    #[graphql(skip)]
    #[serde(rename = "deliveryStatus")]
    pub delivery_status_text: Option<String>,
}

#[ComplexObject]
impl MyPageRow {
    async fn order_status(&self) -> Result<OrderStatus, BffError> {
        OrderStatus::parse(&self.order_status_text).ok_or_else(|| {
            BffError::protocol(
                Upstream::Mypage,
                format!("unknown order status `{}`", self.order_status_text),
            )
        })
    }

    async fn delivery_status(&self) -> Option<DeliveryStatus> {
        self.delivery_status_text
            .as_deref()
            .and_then(DeliveryStatus::parse)
    }
}

#[derive(Debug, Clone, InputObject)]
pub struct PlaceOrderInput {
    pub product_id: i64,
    pub quantity: i64,
    pub customer_id: String,
    pub customer_name: String,
    pub customer_addr: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum CircuitState {
    Closed,
    Open,
    HalfOpen,
}

impl From<crate::resilience::breaker::CircuitState> for CircuitState {
    fn from(s: crate::resilience::breaker::CircuitState) -> Self {
        use crate::resilience::breaker::CircuitState as B;
        match s {
            B::Closed => CircuitState::Closed,
            B::Open => CircuitState::Open,
            B::HalfOpen => CircuitState::HalfOpen,
        }
    }
}

/// An upstream service and the state of its circuit.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "Upstream")]
pub struct UpstreamStatus {
    pub name: String,
    pub state: CircuitState,
    /// Whether its root document was read.
    pub ready: bool,
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

// What a my-page subscription update is: SNAPSHOT, the customer's rows as the projection
// has them now (the first update, and again whenever the subscriber fell behind: a resync),
// or CHANGE, one row changed. (Plain comments: schema/schema.graphql has no descriptions
// for these two types.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum MyPageUpdateKind {
    Snapshot,
    Change,
}

// One update of a my-page subscription.
#[derive(Debug, Clone, SimpleObject)]
pub struct MyPageUpdate {
    pub kind: MyPageUpdateKind,
    /// The customer's rows after this update.
    pub rows: Vec<MyPageRow>,
    /// The row that changed (CHANGE only).
    pub row: Option<MyPageRow>,
}
