//! The my-page projection (CQRS read model): one row per order with its delivery state,
//! kept by every order and delivery event, whatever order they arrive in. Each change records MyPageChanged for live
//! subscribers. The projection is a pure function of the event log, so it can be rebuilt
//! from scratch by replaying the log ([`rebuild`]).

pub mod feed;
pub mod http;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::bus::{EventBus, Start};
use crate::consumer::{self, HandleError, Handler};
use crate::event::{Event, EventType};
use crate::resource::Resource;
use crate::store::{Store, Tx, TxExt};

pub const CONSUMER: &str = "mypage";

pub const RESOURCE: Resource = Resource {
    collection: "myPages",
    item_rel: "myPage",
    sortable: &["id", "orderId", "productId", "customerId"],
    searches: &[("findByCustomerId", "customerId,page,size,sort")],
};

/// One my-page row; the id is the order's id. Fields stay empty until the event that
/// carries them arrives.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct MyPageRow {
    pub id: i64,
    pub order_id: i64,
    pub customer_id: String,
    pub product_id: i64,
    pub product_name: String,
    pub quantity: i64,
    pub price: i64,
    pub order_status: Option<String>,
    pub delivery_id: Option<i64>,
    pub delivery_status: Option<String>,
}

/// The fields of order and delivery events the projection reads (a union of both).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Facts {
    order_id: i64,
    customer_id: Option<String>,
    product_id: Option<i64>,
    product_name: Option<String>,
    quantity: Option<i64>,
    price: Option<i64>,
    delivery_id: Option<i64>,
}

/// The MyPageChanged payload: the row after the change and what caused it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Changed<'a> {
    cause: &'a str,
    cause_event_id: &'a str,
    #[serde(flatten)]
    row: &'a MyPageRow,
}

/// How the projection follows order and delivery events.
pub fn policy() -> Handler {
    Arc::new(|tx: &mut dyn Tx, event: &Event| {
        let Some(kind) = event.event_type() else {
            return Ok(());
        };
        let (order_status, delivery_status) = match kind {
            EventType::OrderPlaced => (Some("Ordered"), None),
            EventType::OrderCancelled => (Some("Cancelled"), None),
            EventType::DeliveryStarted => (None, Some("DeliveryStarted")),
            EventType::DeliveryCancelled => (None, Some("DeliveryCancelled")),
            EventType::DeliveryCompleted => (None, Some("DeliveryCompleted")),
            _ => return Ok(()),
        };
        let facts: Facts = event
            .payload()
            .map_err(|e| HandleError::Poison(e.to_string()))?;
        let mut row: MyPageRow = tx
            .get(RESOURCE.collection, facts.order_id)?
            .unwrap_or_default();
        row.id = facts.order_id;
        row.order_id = facts.order_id;
        if let Some(c) = facts.customer_id {
            row.customer_id = c;
        }
        if let Some(p) = facts.product_id {
            row.product_id = p;
        }
        if let Some(n) = facts.product_name {
            row.product_name = n;
        }
        if let Some(q) = facts.quantity {
            row.quantity = q;
        }
        if let Some(p) = facts.price {
            row.price = p;
        }
        // Statuses only move forward, so events of one order handled out of order (replicas
        // sharing a consumer) end in the same row as in order.
        if let Some(s) = order_status {
            if rank(s) >= row.order_status.as_deref().map_or(0, rank) {
                row.order_status = Some(s.to_owned());
            }
        }
        if let Some(s) = delivery_status {
            if rank(s) >= row.delivery_status.as_deref().map_or(0, rank) {
                row.delivery_status = Some(s.to_owned());
            }
            row.delivery_id = facts.delivery_id.or(row.delivery_id);
        }
        tx.put(RESOURCE.collection, row.id, &row)?;
        let changed = Event::new(
            EventType::MyPageChanged,
            &Changed {
                cause: &event.kind,
                cause_event_id: &event.id,
                row: &row,
            },
        )
        .map_err(|e| HandleError::Poison(e.to_string()))?;
        tx.push_event(&changed)?;
        Ok(())
    })
}

/// How far along a status is: a final one (cancelled, completed) is never replaced by an
/// earlier one.
fn rank(status: &str) -> u8 {
    match status {
        "Ordered" | "DeliveryStarted" => 1,
        _ => 2,
    }
}

/// Rebuilds the projection into `target` (an empty store) by replaying the whole log up to
/// its current head. Returns how many events were replayed.
pub async fn rebuild(bus: &Arc<dyn EventBus>, target: &Arc<dyn Store>) -> Result<u64, String> {
    let head = bus.head().await.map_err(|e| e.to_string())?;
    let mut sub = bus
        .subscribe(Start::Beginning)
        .await
        .map_err(|e| e.to_string())?;
    let handler = policy();
    let mut replayed = 0;
    while sub.position() < head {
        let d = sub.next().await.map_err(|e| e.to_string())?;
        consumer::handle(CONSUMER, target, &handler, d.event)
            .await
            .map_err(|e| e.to_string())?;
        replayed += 1;
    }
    Ok(replayed)
}
