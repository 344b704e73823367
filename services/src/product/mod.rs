//! The product service: the catalogue and its stock, which follows deliveries.
//!
//! - DeliveryStarted → stock decreases by the quantity (it may go below zero: backordered)
//! - DeliveryCancelled → stock increases again

pub mod http;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::consumer::{HandleError, Handler};
use crate::domain_error::{require_text, DomainError};
use crate::event::{Event, EventType};
use crate::resource::Resource;
use crate::store::{StoreError, Tx, TxExt};

pub const CONSUMER: &str = "product";

pub const RESOURCE: Resource = Resource {
    collection: "products",
    item_rel: "product",
    sortable: &["id", "name", "price", "stock"],
    searches: &[("findByIdIn", "ids,page,size,sort")],
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Product {
    pub id: i64,
    pub name: String,
    pub price: i64,
    pub stock: i64,
}

/// `POST /products` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    #[schema(schema_with = crate::domain_error::text_200)]
    pub name: String,
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub price: i64,
    #[serde(default)]
    #[schema(minimum = -1_000_000_000_i64, maximum = 1_000_000_000_i64)]
    pub stock: i64,
}

/// The course's products, and a few more, put in on first start.
pub const SEED: &[(&str, i64, i64)] = &[
    ("TV", 10000, 10),
    ("MASK", 20000, 10),
    ("NOTEBOOK", 30000, 10),
    ("RADIO", 15000, 5),
    ("CAMERA", 45000, 3),
    ("PHONE", 80000, 0),
];

pub fn seed(tx: &mut dyn Tx) -> Result<(), StoreError> {
    if tx.get_key("product.seeded")?.is_some() {
        return Ok(());
    }
    for (name, price, stock) in SEED {
        create(
            tx,
            NewProduct {
                name: (*name).into(),
                price: *price,
                stock: *stock,
            },
        )
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    }
    tx.put_key("product.seeded", "1")
}

pub fn create(tx: &mut dyn Tx, new: NewProduct) -> Result<Product, DomainError> {
    require_text("name", &new.name, 200)?;
    if !(0..=1_000_000_000_000).contains(&new.price) {
        return Err(DomainError::Invalid(
            "`price` must be between 0 and 1000000000000".into(),
        ));
    }
    if !(-1_000_000_000..=1_000_000_000).contains(&new.stock) {
        return Err(DomainError::Invalid(
            "`stock` must be between -1000000000 and 1000000000".into(),
        ));
    }
    let id = tx.next_id(RESOURCE.collection)?;
    let product = Product {
        id,
        name: new.name.trim().to_owned(),
        price: new.price,
        stock: new.stock,
    };
    tx.put(RESOURCE.collection, id, &product)?;
    Ok(product)
}

/// The fields of a delivery event this service reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeliveryFacts {
    product_id: i64,
    quantity: i64,
    delivery_id: Option<i64>,
    order_id: Option<i64>,
}

/// How the catalogue reacts to delivery events.
pub fn policy() -> Handler {
    Arc::new(|tx: &mut dyn Tx, event: &Event| {
        let sign = match event.event_type() {
            Some(EventType::DeliveryStarted) => -1,
            Some(EventType::DeliveryCancelled) => 1,
            _ => return Ok(()),
        };
        let facts: DeliveryFacts = event
            .payload()
            .map_err(|e| HandleError::Poison(e.to_string()))?;
        let Some(mut product) = tx.get::<Product>(RESOURCE.collection, facts.product_id)? else {
            return Err(HandleError::Poison(format!(
                "product {} does not exist",
                facts.product_id
            )));
        };
        product.stock = product.stock.saturating_add(sign * facts.quantity);
        tx.put(RESOURCE.collection, product.id, &product)?;
        let kind = if sign < 0 {
            EventType::StockDecreased
        } else {
            EventType::StockIncreased
        };
        let changed = Event::new(
            kind,
            &json!({
                "productId": product.id,
                "quantity": facts.quantity,
                "stock": product.stock,
                "orderId": facts.order_id,
                "deliveryId": facts.delivery_id,
            }),
        )
        .map_err(|e| HandleError::Poison(e.to_string()))?;
        tx.push_event(&changed)?;
        Ok(())
    })
}
