//! The order service: customers place and cancel orders.
//!
//! Placing an order records it and an OrderPlaced event in one transaction; it never waits
//! for the delivery or mypage services. Cancelling keeps the order, status Cancelled, and
//! records OrderCancelled.

pub mod catalog;
pub mod http;
pub mod idempotency;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain_error::{require_text, DomainError};
use crate::event::{now_millis, Event, EventType};
use crate::resource::Resource;
use crate::retention;
use crate::store::{Tx, TxExt};
use idempotency::IdempotencyKey;

pub const RESOURCE: Resource = Resource {
    collection: "orders",
    item_rel: "order",
    sortable: &[
        "id",
        "productId",
        "quantity",
        "price",
        "customerId",
        "status",
    ],
    searches: &[
        ("findByCustomerId", "customerId,page,size,sort"),
        ("findByIdIn", "ids,page,size,sort"),
    ],
};

/// The most one order may ask for.
pub const MAX_QUANTITY: i64 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum OrderStatus {
    Ordered,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: i64,
    pub product_id: i64,
    pub product_name: String,
    pub quantity: i64,
    pub price: i64,
    pub customer_id: String,
    pub customer_name: String,
    pub customer_addr: String,
    pub status: OrderStatus,
}

/// `POST /orders` body.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlaceOrder {
    #[schema(minimum = 1, maximum = 9_007_199_254_740_991_i64)]
    pub product_id: i64,
    #[schema(minimum = 1, maximum = 10_000)]
    pub quantity: i64,
    #[schema(schema_with = crate::domain_error::text_200)]
    pub customer_id: String,
    #[schema(schema_with = crate::domain_error::text_200)]
    pub customer_name: String,
    #[schema(schema_with = crate::domain_error::text_500)]
    pub customer_addr: String,
}

/// What the catalogue says about the ordered product.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductFacts {
    pub name: String,
    pub price: i64,
}

/// The order events' payload: the order's fields, with the id as `orderId`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct OrderFacts<'a> {
    order_id: i64,
    product_id: i64,
    product_name: &'a str,
    quantity: i64,
    price: i64,
    customer_id: &'a str,
    customer_name: &'a str,
    customer_addr: &'a str,
    status: OrderStatus,
}

impl Order {
    fn event(&self, kind: EventType) -> Result<Event, DomainError> {
        Event::new(
            kind,
            &OrderFacts {
                order_id: self.id,
                product_id: self.product_id,
                product_name: &self.product_name,
                quantity: self.quantity,
                price: self.price,
                customer_id: &self.customer_id,
                customer_name: &self.customer_name,
                customer_addr: &self.customer_addr,
                status: self.status,
            },
        )
        .map_err(|e| DomainError::Invalid(e.to_string()))
    }
}

impl PlaceOrder {
    /// Checks everything that does not need the catalogue.
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.product_id <= 0 {
            return Err(DomainError::Invalid(
                "`productId` must be a positive integer id".into(),
            ));
        }
        if !(1..=MAX_QUANTITY).contains(&self.quantity) {
            return Err(DomainError::Invalid(format!(
                "`quantity` must be from 1 to {MAX_QUANTITY}, got {}",
                self.quantity
            )));
        }
        require_text("customerId", &self.customer_id, 200)?;
        require_text("customerName", &self.customer_name, 200)?;
        require_text("customerAddr", &self.customer_addr, 500)?;
        Ok(())
    }
}

/// Places an order. An idempotency key belongs to its customer: with a key this customer
/// already used (within `keys_kept`) for this same order, returns the first order and `false`
/// instead of placing another; for a different order, a conflict. The key is claimed before
/// anything else is written, so concurrent requests with one key wait for each other and
/// place one order.
pub fn place(
    tx: &mut dyn Tx,
    cmd: PlaceOrder,
    product: ProductFacts,
    key: Option<&IdempotencyKey>,
    keys_kept: Duration,
) -> Result<(Order, bool), DomainError> {
    cmd.validate()?;
    let customer = cmd.customer_id.trim();
    let key_name = key.map(|k| k.record_name(customer));
    if let Some(name) = &key_name {
        let now = now_millis();
        let claimed = tx.claim_key(name, now, retention::expired_before(keys_kept))?;
        if let Some(existing) = claimed {
            let id: i64 = existing.parse().map_err(|_| {
                DomainError::Store(crate::store::StoreError::Backend(format!(
                    "idempotency record `{name}` is corrupt"
                )))
            })?;
            let order: Order = tx.get(RESOURCE.collection, id)?.ok_or_else(|| {
                DomainError::NotFound(format!("order {id} of this idempotency key is gone"))
            })?;
            let same = order.product_id == cmd.product_id
                && order.quantity == cmd.quantity
                && order.customer_id == customer;
            if !same {
                return Err(DomainError::Conflict(
                    "this `Idempotency-Key` was already used for a different order; use a new key"
                        .into(),
                ));
            }
            return Ok((order, false));
        }
    }
    let id = tx.next_id(RESOURCE.collection)?;
    let order = Order {
        id,
        product_id: cmd.product_id,
        product_name: product.name,
        quantity: cmd.quantity,
        price: product.price,
        customer_id: customer.to_owned(),
        customer_name: cmd.customer_name.trim().to_owned(),
        customer_addr: cmd.customer_addr.trim().to_owned(),
        status: OrderStatus::Ordered,
    };
    tx.put(RESOURCE.collection, id, &order)?;
    tx.push_event(&order.event(EventType::OrderPlaced)?)?;
    if let Some(name) = &key_name {
        tx.settle_key(name, &id.to_string())?;
    }
    Ok((order, true))
}

/// Cancels an order: it stays, with status Cancelled.
pub fn cancel(tx: &mut dyn Tx, id: i64) -> Result<Order, DomainError> {
    let mut order: Order = tx
        .get(RESOURCE.collection, id)?
        .ok_or_else(|| DomainError::NotFound(format!("order {id} does not exist")))?;
    if order.status == OrderStatus::Cancelled {
        return Err(DomainError::Conflict(format!(
            "order {id} is already cancelled"
        )));
    }
    order.status = OrderStatus::Cancelled;
    tx.put(RESOURCE.collection, id, &order)?;
    tx.push_event(&order.event(EventType::OrderCancelled)?)?;
    Ok(order)
}
