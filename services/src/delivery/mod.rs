//! The delivery service: deliveries start and stop by order events; the delivery team
//! completes them.
//!
//! - OrderPlaced → a delivery starts (DeliveryStarted)
//! - OrderCancelled → its delivery is cancelled (DeliveryCancelled), unless already completed
//! - `PATCH /deliveries/{id}` → DeliveryCompleted
//!
//! One order's changes are serialised (a lock per order, then the delivery's row lock that
//! completion also takes), so a cancel never overwrites a completion. The policy is
//! commutative: replicas sharing one durable consumer may handle OrderCancelled before
//! OrderPlaced; the cancellation is remembered, and the late OrderPlaced starts the delivery
//! and cancels it at once (DeliveryStarted then DeliveryCancelled, so stock and my-page end
//! exact).

pub mod http;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::consumer::{HandleError, Handler};
use crate::domain_error::DomainError;
use crate::event::{Event, EventType};
use crate::resource::{where_eq, Resource};
use crate::store::{StoreError, Tx, TxExt};

pub const CONSUMER: &str = "delivery";

/// Orders cancelled before their OrderPlaced arrived (document id: the order id).
const EARLY_CANCELS: &str = "earlyCancels";

pub const RESOURCE: Resource = Resource {
    collection: "deliveries",
    item_rel: "delivery",
    sortable: &["id", "orderId", "productId", "customerId", "status"],
    searches: &[
        ("findByOrderId", "orderId"),
        ("findByOrderIdIn", "orderIds,page,size,sort"),
        ("findByCustomerId", "customerId,page,size,sort"),
        ("findByIdIn", "ids,page,size,sort"),
    ],
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum DeliveryStatus {
    DeliveryStarted,
    DeliveryCancelled,
    DeliveryCompleted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: i64,
    pub order_id: i64,
    pub product_id: i64,
    pub product_name: String,
    pub quantity: i64,
    pub customer_id: String,
    pub customer_name: String,
    pub delivery_address: String,
    pub status: DeliveryStatus,
}

/// `PATCH /deliveries/{id}` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryPatch {
    /// Only `DeliveryCompleted`: deliveries start and stop by order events.
    #[schema(pattern = "^DeliveryCompleted$")]
    pub status: String,
}

/// The fields of an order event this service reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderFacts {
    order_id: i64,
    product_id: i64,
    product_name: String,
    quantity: i64,
    customer_id: String,
    customer_name: String,
    customer_addr: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DeliveryFacts<'a> {
    delivery_id: i64,
    order_id: i64,
    product_id: i64,
    product_name: &'a str,
    quantity: i64,
    customer_id: &'a str,
    customer_name: &'a str,
    delivery_address: &'a str,
    status: DeliveryStatus,
}

impl Delivery {
    fn event(&self) -> Result<Event, StoreError> {
        let kind = match self.status {
            DeliveryStatus::DeliveryStarted => EventType::DeliveryStarted,
            DeliveryStatus::DeliveryCancelled => EventType::DeliveryCancelled,
            DeliveryStatus::DeliveryCompleted => EventType::DeliveryCompleted,
        };
        Event::new(
            kind,
            &DeliveryFacts {
                delivery_id: self.id,
                order_id: self.order_id,
                product_id: self.product_id,
                product_name: &self.product_name,
                quantity: self.quantity,
                customer_id: &self.customer_id,
                customer_name: &self.customer_name,
                delivery_address: &self.delivery_address,
                status: self.status,
            },
        )
        .map_err(|e| StoreError::Backend(e.to_string()))
    }
}

pub fn by_order(tx: &mut dyn Tx, order_id: i64) -> Result<Option<Delivery>, StoreError> {
    let mut q = where_eq("orderId", order_id.into());
    q.size = 1;
    Ok(tx
        .list::<Delivery>(RESOURCE.collection, &q)?
        .items
        .into_iter()
        .next())
}

/// How deliveries react to order events.
pub fn policy() -> Handler {
    Arc::new(|tx: &mut dyn Tx, event: &Event| {
        let kind = event.event_type();
        if !matches!(
            kind,
            Some(EventType::OrderPlaced | EventType::OrderCancelled)
        ) {
            return Ok(());
        }
        let facts: OrderFacts = event
            .payload()
            .map_err(|e| HandleError::Poison(e.to_string()))?;
        tx.lock(&format!("delivery.order.{}", facts.order_id))?;
        let existing = match by_order(tx, facts.order_id)? {
            // Read again by id: that takes the row lock completion takes (FOR UPDATE on
            // PostgreSQL) and sees a completion that committed while this one waited.
            Some(found) => tx.get::<Delivery>(RESOURCE.collection, found.id)?,
            None => None,
        };
        match (kind, existing) {
            (Some(EventType::OrderPlaced), None) => {
                let id = tx.next_id(RESOURCE.collection)?;
                let mut delivery = Delivery {
                    id,
                    order_id: facts.order_id,
                    product_id: facts.product_id,
                    product_name: facts.product_name,
                    quantity: facts.quantity,
                    customer_id: facts.customer_id,
                    customer_name: facts.customer_name,
                    delivery_address: facts.customer_addr,
                    status: DeliveryStatus::DeliveryStarted,
                };
                tx.put(RESOURCE.collection, id, &delivery)?;
                tx.push_event(&delivery.event()?)?;
                if tx.get_raw(EARLY_CANCELS, facts.order_id)?.is_some() {
                    tracing::info!(
                        order = facts.order_id,
                        delivery = id,
                        "order was cancelled before it arrived; delivery cancelled at once"
                    );
                    delivery.status = DeliveryStatus::DeliveryCancelled;
                    tx.put(RESOURCE.collection, id, &delivery)?;
                    tx.push_event(&delivery.event()?)?;
                }
            }
            (Some(EventType::OrderCancelled), None) => {
                tracing::info!(
                    order = facts.order_id,
                    "order cancelled before it arrived; remembered"
                );
                tx.put_raw(
                    EARLY_CANCELS,
                    facts.order_id,
                    &serde_json::json!({ "orderId": facts.order_id }),
                )?;
            }
            (Some(EventType::OrderCancelled), Some(mut delivery))
                if delivery.status == DeliveryStatus::DeliveryStarted =>
            {
                delivery.status = DeliveryStatus::DeliveryCancelled;
                tx.put(RESOURCE.collection, delivery.id, &delivery)?;
                tx.push_event(&delivery.event()?)?;
            }
            (Some(EventType::OrderCancelled), Some(delivery)) => {
                tracing::info!(delivery = delivery.id, status = ?delivery.status, "order cancelled after its delivery ended; delivery kept");
            }
            _ => {}
        }
        Ok(())
    })
}

/// Marks a delivery completed. Completing a completed delivery changes nothing.
pub fn complete(tx: &mut dyn Tx, id: i64, patch: DeliveryPatch) -> Result<Delivery, DomainError> {
    if patch.status != "DeliveryCompleted" {
        return Err(DomainError::Invalid(format!(
            "`status` can only be set to `DeliveryCompleted` (deliveries start and are cancelled by order events), got `{}`",
            patch.status
        )));
    }
    let mut delivery: Delivery = tx
        .get(RESOURCE.collection, id)?
        .ok_or_else(|| DomainError::NotFound(format!("delivery {id} does not exist")))?;
    match delivery.status {
        DeliveryStatus::DeliveryCompleted => Ok(delivery),
        DeliveryStatus::DeliveryCancelled => Err(DomainError::Conflict(format!(
            "delivery {id} was cancelled and cannot be completed"
        ))),
        DeliveryStatus::DeliveryStarted => {
            delivery.status = DeliveryStatus::DeliveryCompleted;
            tx.put(RESOURCE.collection, id, &delivery)?;
            tx.push_event(&delivery.event()?)?;
            Ok(delivery)
        }
    }
}
