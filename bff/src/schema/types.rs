//! The GraphQL objects: each wraps a plain type of [`crate::model`] and exposes its fields
//! (the SDL in schema/schema.graphql is what these impls generate, field by field).

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};

use super::cost;
use crate::error::BffError;
use crate::model;

pub struct Product(pub model::Product);

#[Object]
impl Product {
    async fn id(&self) -> i64 {
        self.0.id
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn price(&self) -> i64 {
        self.0.price
    }

    /// May be negative: backordered.
    async fn stock(&self) -> i64 {
        self.0.stock
    }
}

/// One page of products.
pub struct ProductPage(pub model::ProductPage);

/// One page of products.
#[Object]
impl ProductPage {
    async fn items(&self) -> Vec<Product> {
        self.0.items.iter().cloned().map(Product).collect()
    }

    /// Zero-based page number.
    async fn page(&self) -> i64 {
        self.0.page
    }

    async fn size(&self) -> i64 {
        self.0.size
    }

    async fn total_elements(&self) -> i64 {
        self.0.total_elements
    }

    async fn total_pages(&self) -> i64 {
        self.0.total_pages
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "model::OrderStatus")]
pub enum OrderStatus {
    Ordered,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "model::DeliveryStatus")]
pub enum DeliveryStatus {
    DeliveryStarted,
    DeliveryCancelled,
    DeliveryCompleted,
}

pub struct Order(pub model::Order);

#[Object]
impl Order {
    async fn id(&self) -> i64 {
        self.0.id
    }

    async fn product_id(&self) -> i64 {
        self.0.product_id
    }

    async fn product_name(&self) -> &str {
        &self.0.product_name
    }

    async fn quantity(&self) -> i64 {
        self.0.quantity
    }

    async fn price(&self) -> i64 {
        self.0.price
    }

    async fn customer_id(&self) -> &str {
        &self.0.customer_id
    }

    async fn customer_name(&self) -> &str {
        &self.0.customer_name
    }

    async fn customer_addr(&self) -> &str {
        &self.0.customer_addr
    }

    async fn status(&self) -> Result<OrderStatus, BffError> {
        self.0.status().map(Into::into)
    }

    /// The course's name for status: "Ordered" or "Cancelled".
    async fn state(&self) -> &str {
        &self.0.status_text
    }

    /// The ordered product, from the product service (null when it cannot be reached).
    async fn product(&self, ctx: &Context<'_>) -> Result<Option<Product>, BffError> {
        Ok(super::loaders::product_of(ctx, &self.0).await?.map(Product))
    }

    /// The order's delivery, from the delivery service (null until there is one, or when
    /// the delivery service cannot be reached).
    async fn delivery(&self, ctx: &Context<'_>) -> Result<Option<Delivery>, BffError> {
        Ok(super::loaders::delivery_of(ctx, &self.0)
            .await?
            .map(Delivery))
    }
}

pub struct Delivery(pub model::Delivery);

#[Object]
impl Delivery {
    async fn id(&self) -> i64 {
        self.0.id
    }

    async fn order_id(&self) -> i64 {
        self.0.order_id
    }

    async fn product_id(&self) -> i64 {
        self.0.product_id
    }

    async fn product_name(&self) -> &str {
        &self.0.product_name
    }

    async fn quantity(&self) -> i64 {
        self.0.quantity
    }

    async fn customer_id(&self) -> &str {
        &self.0.customer_id
    }

    async fn customer_name(&self) -> &str {
        &self.0.customer_name
    }

    async fn delivery_address(&self) -> &str {
        &self.0.delivery_address
    }

    async fn status(&self) -> Result<DeliveryStatus, BffError> {
        self.0.status().map(Into::into)
    }
}

/// One row of the my-page projection.
pub struct MyPageRow(pub model::MyPageRow);

/// One row of the my-page projection.
#[Object]
impl MyPageRow {
    async fn order_id(&self) -> i64 {
        self.0.order_id
    }

    async fn customer_id(&self) -> &str {
        &self.0.customer_id
    }

    async fn product_id(&self) -> i64 {
        self.0.product_id
    }

    async fn product_name(&self) -> &str {
        &self.0.product_name
    }

    async fn quantity(&self) -> i64 {
        self.0.quantity
    }

    async fn price(&self) -> i64 {
        self.0.price
    }

    async fn delivery_id(&self) -> Option<i64> {
        self.0.delivery_id
    }

    async fn order_status(&self) -> Result<OrderStatus, BffError> {
        self.0.order_status().map(Into::into)
    }

    async fn delivery_status(&self) -> Option<DeliveryStatus> {
        self.0.delivery_status().map(Into::into)
    }
}

#[derive(Debug, Clone, InputObject)]
pub struct PlaceOrderInput {
    pub product_id: i64,
    pub quantity: i64,
    /// The signed-in customer's own id; left out, it is taken from the session.
    pub customer_id: Option<String>,
    pub customer_name: String,
    pub customer_addr: String,
}

impl PlaceOrderInput {
    /// The order, in the name of `customer` (the signed-in caller).
    pub fn into_new_order(self, customer: &str) -> model::NewOrder {
        let i = self;
        model::NewOrder {
            product_id: i.product_id,
            quantity: i.quantity,
            customer_id: customer.to_owned(),
            customer_name: i.customer_name,
            customer_addr: i.customer_addr,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "crate::resilience::breaker::CircuitState")]
pub enum CircuitState {
    Closed,
    Open,
    HalfOpen,
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

// What a my-page subscription update is (SNAPSHOT or CHANGE; see `model::MyPageUpdateKind`).
// (Plain comments: schema/schema.graphql has no descriptions for these two types.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "model::MyPageUpdateKind")]
pub enum MyPageUpdateKind {
    Snapshot,
    Change,
}

// One update of a my-page subscription.
pub struct MyPageUpdate(pub model::MyPageUpdate);

#[Object]
impl MyPageUpdate {
    async fn kind(&self) -> MyPageUpdateKind {
        self.0.kind.into()
    }

    /// The customer's rows after this update.
    #[graphql(complexity = "cost::list(child_complexity)")]
    async fn rows(&self) -> Vec<MyPageRow> {
        self.0.rows.iter().cloned().map(MyPageRow).collect()
    }

    /// The row that changed (CHANGE only).
    async fn row(&self) -> Option<MyPageRow> {
        self.0.row.clone().map(MyPageRow)
    }
}
