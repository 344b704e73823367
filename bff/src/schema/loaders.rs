//! The per-request DataLoaders of the fields that cross upstreams (`Order.product`,
//! `Order.delivery`), and the record of stale copies served during the request.
//!
//! A fresh [`RequestData`] goes into every request, so batches and their de-duplication
//! are per request: nothing is cached across requests but the stale copies.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::Context;
use serde_json::json;

use crate::error::BffError;
use crate::gateway::{DeliveryRef, Gateway, Loaded, ProductRef};
use crate::schema::types::{Delivery, Order, Product};
use crate::stale::{Fetched, Staleness};

pub struct ProductLoader(Arc<Gateway>);
pub struct DeliveryLoader(Arc<Gateway>);

impl Loader<ProductRef> for ProductLoader {
    type Value = Loaded<Product>;
    type Error = BffError;

    async fn load(
        &self,
        keys: &[ProductRef],
    ) -> Result<HashMap<ProductRef, Self::Value>, BffError> {
        Ok(self.0.load_products(keys).await)
    }
}

impl Loader<DeliveryRef> for DeliveryLoader {
    type Value = Loaded<Delivery>;
    type Error = BffError;

    async fn load(
        &self,
        keys: &[DeliveryRef],
    ) -> Result<HashMap<DeliveryRef, Self::Value>, BffError> {
        Ok(self.0.load_deliveries(keys).await)
    }
}

/// Where stale copies were served in this request, for the response's `extensions.stale`.
#[derive(Debug, Clone, Default)]
pub struct StaleMarks(Arc<Mutex<Vec<serde_json::Value>>>);

impl StaleMarks {
    pub fn record(&self, path: Vec<String>, staleness: &Staleness) {
        let age = staleness
            .fetched_at
            .elapsed()
            .unwrap_or_default()
            .as_secs_f64();
        let mark = json!({
            "path": path,
            "upstream": staleness.upstream.as_str(),
            "reason": staleness.reason,
            "ageSeconds": age,
        });
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(mark);
    }

    /// The marks, if any were recorded.
    pub fn take(&self) -> Option<serde_json::Value> {
        let marks = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        (!marks.is_empty()).then_some(serde_json::Value::Array(marks))
    }
}

/// What every request carries.
pub struct RequestData {
    pub products: DataLoader<ProductLoader>,
    pub deliveries: DataLoader<DeliveryLoader>,
    pub stale: StaleMarks,
}

impl RequestData {
    pub fn new(gateway: Arc<Gateway>) -> RequestData {
        RequestData {
            products: DataLoader::new(ProductLoader(gateway.clone()), tokio::spawn),
            deliveries: DataLoader::new(DeliveryLoader(gateway), tokio::spawn),
            stale: StaleMarks::default(),
        }
    }
}

/// Records a stale value at the current field's path, and unwraps it.
pub fn unwrap_fetched<T>(ctx: &Context<'_>, fetched: Fetched<T>) -> T {
    if let Some(s) = &fetched.stale {
        if let Ok(data) = ctx.data::<RequestData>() {
            let path = ctx
                .path_node
                .as_ref()
                .map(|p| p.to_string_vec())
                .unwrap_or_default();
            data.stale.record(path, s);
        }
    }
    fetched.value
}

fn request_data<'a>(ctx: &Context<'a>) -> Result<&'a RequestData, BffError> {
    ctx.data::<RequestData>()
        .map_err(|_| BffError::Internal("the request carries no loaders".into()))
}

pub async fn product_of(ctx: &Context<'_>, order: &Order) -> Result<Option<Product>, BffError> {
    let key = ProductRef {
        id: order.product_id,
        href: order.links.get("product").map(|l| l.href.clone()),
    };
    let loaded = request_data(ctx)?.products.load_one(key).await?;
    match loaded {
        Some(Ok(f)) => Ok(unwrap_fetched(ctx, f)),
        Some(Err(e)) => Err(e),
        None => Ok(None),
    }
}

pub async fn delivery_of(ctx: &Context<'_>, order: &Order) -> Result<Option<Delivery>, BffError> {
    let key = DeliveryRef {
        order_id: order.id,
        href: order.links.get("delivery").map(|l| l.href.clone()),
    };
    let loaded = request_data(ctx)?.deliveries.load_one(key).await?;
    match loaded {
        Some(Ok(f)) => Ok(unwrap_fetched(ctx, f)),
        Some(Err(e)) => Err(e),
        None => Ok(None),
    }
}
