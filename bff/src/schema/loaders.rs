//! The per-request DataLoaders of the fields that cross upstreams (`Order.product`,
//! `Order.delivery`), and the record of stale copies served during the request.
//!
//! A fresh [`RequestData`] goes into every request, so batches, their de-duplication and
//! the loaders' caches are per request: nothing is kept across requests but the stale
//! copies.
//!
//! A list of orders loads its rows' products and deliveries with [`prefetch`], all keys
//! at once, rather than leaving the batching to the DataLoaders' timer alone: their batch
//! window is 1 ms, and async-graphql yields to the runtime every couple of list items, so
//! in a slow (debug, loaded) process a long list was cut into many small batches.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use async_graphql::{Context, ErrorExtensions};
use futures::future::{BoxFuture, FutureExt, Shared};
use serde_json::json;
use tracing::Instrument;

use crate::error::BffError;
use crate::gateway::{DeliveryRef, Gateway, Loaded, ProductRef};
use crate::model::{Delivery, Order, Product};
use crate::request_context::RequestContext;
use crate::stale::{Fetched, Staleness};

pub struct ProductLoader(Arc<Gateway>, RequestContext);
pub struct DeliveryLoader(Arc<Gateway>, RequestContext);

impl Loader<ProductRef> for ProductLoader {
    type Value = Loaded<Product>;
    type Error = BffError;

    async fn load(
        &self,
        keys: &[ProductRef],
    ) -> Result<HashMap<ProductRef, Self::Value>, BffError> {
        // DataLoader runs batches on tasks of their own: the request's span goes with them.
        let span = self.1.span();
        tracing::debug!(parent: &span, keys = keys.len(), "product batch");
        Ok(self.0.products.load(&self.1, keys).instrument(span).await)
    }
}

impl Loader<DeliveryRef> for DeliveryLoader {
    type Value = Loaded<Delivery>;
    type Error = BffError;

    async fn load(
        &self,
        keys: &[DeliveryRef],
    ) -> Result<HashMap<DeliveryRef, Self::Value>, BffError> {
        let span = self.1.span();
        tracing::debug!(parent: &span, keys = keys.len(), "delivery batch");
        Ok(self.0.deliveries.load(&self.1, keys).instrument(span).await)
    }
}

/// Where stale copies were served in this request, for the response's `extensions.stale`.
#[derive(Debug, Clone, Default)]
pub struct StaleMarks(Arc<Mutex<Vec<serde_json::Value>>>);

impl StaleMarks {
    /// Records a stale value at `path` (a GraphQL response path: names and list indexes).
    pub fn record(&self, path: serde_json::Value, staleness: &Staleness) {
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
    /// Who is calling (the loaders' upstream calls carry it too).
    pub context: RequestContext,
    pub products: Arc<DataLoader<ProductLoader, HashMapCache>>,
    pub deliveries: Arc<DataLoader<DeliveryLoader, HashMapCache>>,
    pub stale: StaleMarks,
    /// The batches lists of orders sent for their rows ([`prefetch`]; one list, unless a
    /// query lists orders more than once), until they are in the loaders.
    prefetching: Mutex<Vec<Prefetching>>,
}

type Prefetching = Shared<BoxFuture<'static, ()>>;

impl RequestData {
    pub fn new(gateway: Arc<Gateway>, context: RequestContext) -> RequestData {
        RequestData {
            products: Arc::new(DataLoader::with_cache(
                ProductLoader(gateway.clone(), context.clone()),
                tokio::spawn,
                HashMapCache::default(),
            )),
            deliveries: Arc::new(DataLoader::with_cache(
                DeliveryLoader(gateway, context.clone()),
                tokio::spawn,
                HashMapCache::default(),
            )),
            context,
            stale: StaleMarks::default(),
            prefetching: Mutex::new(Vec::new()),
        }
    }

    /// Waits until the batches lists of orders sent are in the loaders (if any did), so
    /// that a row finds its key there instead of asking for it again.
    async fn prefetched(&self) {
        let pending = self.prefetching().clone();
        futures::future::join_all(pending).await;
    }

    fn prefetching(&self) -> std::sync::MutexGuard<'_, Vec<Prefetching>> {
        self.prefetching.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Records a stale value at the current field's path, and unwraps it.
pub fn unwrap_fetched<T>(ctx: &Context<'_>, fetched: Fetched<T>) -> T {
    if let Some(s) = &fetched.stale {
        if let Ok(data) = ctx.data::<RequestData>() {
            let path = ctx
                .path_node
                .as_ref()
                .and_then(|p| serde_json::to_value(p).ok())
                .unwrap_or_else(|| json!([]));
            data.stale.record(path, s);
        }
    }
    fetched.value
}

fn request_data<'a>(ctx: &Context<'a>) -> Result<&'a RequestData, BffError> {
    ctx.data::<RequestData>()
        .map_err(|_| BffError::Internal("the request carries no loaders".into()))
}

fn product_key(order: &Order) -> ProductRef {
    ProductRef {
        id: order.product_id,
        href: order.link("product"),
    }
}

fn delivery_key(order: &Order) -> DeliveryRef {
    DeliveryRef {
        order_id: order.id,
        href: order.link("delivery"),
    }
}

/// Loads the products and deliveries (those the query selects) of a list of orders' rows:
/// every key at once, one batch per upstream, both upstreams concurrently, into the
/// request's loaders, where the rows' `product` and `delivery` fields then find them: a
/// level of the query costs one round trip per upstream whatever its number of rows.
/// Failures are kept in the loaders too and come out at the fields.
///
/// The batches are sent from here, at once (every key is known, so nothing is gained by
/// waiting): through `load_many`, each batch waited for the DataLoader's window (1 ms on
/// async-graphql's own timer thread) and then for a task of its own to be scheduled, which
/// on a busy machine added milliseconds between the levels of a query. The list is
/// answered without waiting for them: the rows' own fields resolve while the batches are
/// out, and only `product` and `delivery` wait ([`RequestData::prefetched`]); the
/// resolution of a long list's rows no longer follows the second level's answers.
pub async fn prefetch(ctx: &Context<'_>, orders: &[Order]) {
    let Ok(data) = ctx.data::<RequestData>() else {
        return;
    };
    tracing::debug!(orders = orders.len(), "prefetch");
    let look = ctx.look_ahead();
    let product_keys = look
        .field("product")
        .exists()
        .then(|| distinct(orders.iter().map(product_key)));
    let delivery_keys = look
        .field("delivery")
        .exists()
        .then(|| distinct(orders.iter().map(delivery_key)));
    let gateway = Arc::clone(&data.products.loader().0);
    let context = data.context.clone();
    let (products, deliveries) = (Arc::clone(&data.products), Arc::clone(&data.deliveries));
    let mut batches = async move {
        let products = async {
            if let Some(keys) = product_keys {
                products
                    .feed_many(gateway.products.load(&context, &keys).await)
                    .await;
            }
        };
        let deliveries = async {
            if let Some(keys) = delivery_keys {
                deliveries
                    .feed_many(gateway.deliveries.load(&context, &keys).await)
                    .await;
            }
        };
        futures::join!(products, deliveries);
    }
    .boxed()
    .shared();
    // Polled once here, so both requests are on their way before the rows resolve.
    if futures::poll!(&mut batches).is_pending() {
        let mut pending = data.prefetching();
        pending.retain(|p| p.peek().is_none());
        pending.push(batches);
    }
}

/// Each key once, as the DataLoader would ask for them.
fn distinct<K: Eq + std::hash::Hash>(keys: impl Iterator<Item = K>) -> Vec<K> {
    let set: std::collections::HashSet<K> = keys.collect();
    set.into_iter().collect()
}

pub async fn product_of(ctx: &Context<'_>, order: &Order) -> Result<Option<Product>, BffError> {
    let key = product_key(order);
    let data = request_data(ctx)?;
    data.prefetched().await;
    let loaded = data.products.load_one(key).await?;
    Ok(null_on_error(ctx, loaded))
}

pub async fn delivery_of(ctx: &Context<'_>, order: &Order) -> Result<Option<Delivery>, BffError> {
    let key = delivery_key(order);
    let data = request_data(ctx)?;
    data.prefetched().await;
    let loaded = data.deliveries.load_one(key).await?;
    Ok(null_on_error(ctx, loaded))
}

/// The value of a nullable field that crosses upstreams: a failure becomes `null` plus an
/// error (with its `code` and `upstream`) at the field's path, as the GraphQL spec handles
/// field errors. (Returning the error instead would make async-graphql leave the key out
/// of its object altogether.)
fn null_on_error<T>(ctx: &Context<'_>, loaded: Option<Loaded<T>>) -> Option<T> {
    match loaded {
        Some(Ok(f)) => unwrap_fetched(ctx, f),
        Some(Err(e)) => {
            let error = e.extend().into_server_error(ctx.item.pos);
            ctx.add_error(ctx.set_error_path(error));
            None
        }
        None => None,
    }
}
