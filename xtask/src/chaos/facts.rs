//! The integrity check of a crash run, on what the stores and the event log hold, read
//! through the services' store API (not over HTTP): every acknowledged order exactly once,
//! one delivery per order in the state its order asks for, stock equal to the initial stock
//! minus the active orders' quantities, and the my-page projection equal to its rebuild from
//! the log.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use anyhow::{Context, Result};
use mall_services::delivery::{Delivery, DeliveryStatus};
use mall_services::mypage::{self, MyPageRow};
use mall_services::order::{Order, OrderStatus};
use mall_services::product::Product;
use mall_services::store::sqlite::SqliteStore;
use mall_services::store::{Query, Store, TxExt};
use mall_services::{Role, SystemConfig};
use serde::de::DeserializeOwned;

use super::cluster::Cluster;

/// An order a client saw acknowledged, and whether it saw its cancellation acknowledged.
#[derive(Debug, Clone)]
pub struct Acked {
    pub id: i64,
    pub customer: String,
    pub product_id: i64,
    pub quantity: i64,
    pub cancelled: bool,
}

/// What the clients know.
#[derive(Debug, Default)]
pub struct Expected {
    pub orders: Vec<Acked>,
    /// Product id → stock before the first order.
    pub initial_stock: BTreeMap<i64, i64>,
    /// Requests never acknowledged, even after the system came back (each is a violation).
    pub unacknowledged: Vec<String>,
}

/// What the stores hold.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub orders: Vec<Order>,
    pub deliveries: Vec<Delivery>,
    pub products: Vec<Product>,
    pub my_page: Vec<MyPageRow>,
    /// Outbox events not published yet, over every store.
    pub unpublished: usize,
    /// Dead letters, over every store.
    pub dead_letters: usize,
}

/// The facts checked and the violations found.
#[derive(Debug, Default, Clone)]
pub struct Verdict {
    pub orders: usize,
    pub deliveries: usize,
    pub products: usize,
    pub my_page_rows: usize,
    pub violations: Vec<String>,
}

/// Reads every store of the cluster.
pub async fn snapshot(cluster: &Cluster) -> Result<Snapshot> {
    let config = cluster.stores();
    // The PostgreSQL adapter is blocking (and owns a runtime per connection): open, read
    // and drop the stores on a blocking thread.
    tokio::task::spawn_blocking(move || -> Result<Snapshot> {
        let order = open(&config, Role::Order)?;
        let delivery = open(&config, Role::Delivery)?;
        let product = open(&config, Role::Product)?;
        let my_page = open(&config, Role::Mypage)?;
        let mut s = Snapshot {
            orders: all(&order, "orders")?,
            deliveries: all(&delivery, "deliveries")?,
            products: all(&product, "products")?,
            my_page: all(&my_page, mypage::RESOURCE.collection)?,
            ..Snapshot::default()
        };
        for store in [&order, &delivery, &product, &my_page] {
            s.unpublished += store.pending_events(1000)?.len();
            s.dead_letters += store.dead_letters()?.len();
        }
        Ok(s)
    })
    .await?
}

/// The stock of each product now (before a run: its initial stock).
pub async fn stock(cluster: &Cluster) -> Result<BTreeMap<i64, i64>> {
    let config = cluster.stores();
    let products: Vec<Product> = tokio::task::spawn_blocking(move || {
        let store = open(&config, Role::Product)?;
        all(&store, "products")
    })
    .await??;
    Ok(products.into_iter().map(|p| (p.id, p.stock)).collect())
}

/// Opens a role's store (on a blocking thread of the runtime).
fn open(config: &SystemConfig, role: Role) -> Result<Arc<dyn Store>> {
    tokio::runtime::Handle::current()
        .block_on(mall_services::system::open_store(config, role))
        .with_context(|| format!("opening the {role} store"))
}

fn all<T: DeserializeOwned>(store: &Arc<dyn Store>, collection: &str) -> Result<Vec<T>> {
    let mut tx = store.begin_read()?;
    let query = Query {
        size: 1_000_000,
        ..Query::default()
    };
    Ok(tx.list(collection, &query)?.items)
}

/// Checks the stores against what the clients know.
pub fn check(expected: &Expected, s: &Snapshot) -> Verdict {
    let mut v = Verdict {
        orders: s.orders.len(),
        deliveries: s.deliveries.len(),
        products: s.products.len(),
        my_page_rows: s.my_page.len(),
        violations: expected.unacknowledged.clone(),
    };
    let bad = &mut v.violations;
    let stored: BTreeMap<i64, &Order> = s.orders.iter().map(|o| (o.id, o)).collect();
    let mut acked: BTreeMap<i64, &Acked> = BTreeMap::new();
    for a in &expected.orders {
        if acked.insert(a.id, a).is_some() {
            bad.push(format!("order {} was acknowledged for two requests", a.id));
        }
        match stored.get(&a.id) {
            None => bad.push(format!("acknowledged order {} is not in the store", a.id)),
            Some(o) => {
                if (o.customer_id.as_str(), o.product_id, o.quantity)
                    != (a.customer.as_str(), a.product_id, a.quantity)
                {
                    bad.push(format!("order {} is not the order acknowledged", a.id));
                }
                let want = if a.cancelled {
                    OrderStatus::Cancelled
                } else {
                    OrderStatus::Ordered
                };
                if o.status != want {
                    bad.push(format!(
                        "order {} is {:?}, expected {want:?}",
                        a.id, o.status
                    ));
                }
            }
        }
    }
    for id in stored.keys().filter(|id| !acked.contains_key(id)) {
        bad.push(format!(
            "order {id} is in the store but no client had it acknowledged (doubled)"
        ));
    }

    let mut deliveries: BTreeMap<i64, Vec<&Delivery>> = BTreeMap::new();
    for d in &s.deliveries {
        deliveries.entry(d.order_id).or_default().push(d);
    }
    for (order, ds) in &deliveries {
        if !stored.contains_key(order) {
            bad.push(format!("delivery of order {order}, which does not exist"));
        } else if ds.len() != 1 {
            bad.push(format!("order {order} has {} deliveries", ds.len()));
        }
    }
    for o in stored.values() {
        let want = match o.status {
            OrderStatus::Ordered => DeliveryStatus::DeliveryStarted,
            OrderStatus::Cancelled => DeliveryStatus::DeliveryCancelled,
        };
        match deliveries.get(&o.id).and_then(|ds| ds.first()) {
            None => bad.push(format!("order {} ({:?}) has no delivery", o.id, o.status)),
            Some(d) if d.status != want => bad.push(format!(
                "order {} is {:?} but its delivery is {:?}",
                o.id, o.status, d.status
            )),
            Some(_) => {}
        }
    }

    let mut taken: BTreeMap<i64, i64> = BTreeMap::new();
    for o in stored.values().filter(|o| o.status == OrderStatus::Ordered) {
        *taken.entry(o.product_id).or_default() += o.quantity;
    }
    for p in &s.products {
        match expected.initial_stock.get(&p.id) {
            None => bad.push(format!("product {} appeared during the run", p.id)),
            Some(initial) => {
                let want = initial - taken.get(&p.id).copied().unwrap_or_default();
                if p.stock != want {
                    bad.push(format!(
                        "product {} has stock {}, expected {want} ({initial} minus active orders)",
                        p.id, p.stock
                    ));
                }
            }
        }
    }

    let rows: BTreeMap<i64, &MyPageRow> = s.my_page.iter().map(|r| (r.order_id, r)).collect();
    for o in stored.values() {
        let status = match o.status {
            OrderStatus::Ordered => "Ordered",
            OrderStatus::Cancelled => "Cancelled",
        };
        let delivery = match o.status {
            OrderStatus::Ordered => "DeliveryStarted",
            OrderStatus::Cancelled => "DeliveryCancelled",
        };
        match rows.get(&o.id) {
            None => bad.push(format!("order {} has no my-page row", o.id)),
            Some(r)
                if r.order_status.as_deref() != Some(status)
                    || r.delivery_status.as_deref() != Some(delivery)
                    || (r.quantity, r.product_id) != (o.quantity, o.product_id) =>
            {
                bad.push(format!(
                    "my-page row of order {} says {:?}/{:?}, the stores {status}/{delivery}",
                    o.id, r.order_status, r.delivery_status
                ));
            }
            Some(_) => {}
        }
    }
    let extra: BTreeSet<i64> = rows
        .keys()
        .filter(|id| !stored.contains_key(id))
        .copied()
        .collect();
    for id in extra {
        bad.push(format!("my-page row of order {id}, which does not exist"));
    }
    if s.unpublished > 0 {
        bad.push(format!(
            "{} outbox events were never published",
            s.unpublished
        ));
    }
    if s.dead_letters > 0 {
        bad.push(format!("{} events were dead-lettered", s.dead_letters));
    }
    v
}

/// Rebuilds the projection from the event log into an empty store and compares it with the
/// live one; `Some(violation)` when they differ.
pub async fn rebuild_differs(cluster: &Cluster, live: &[MyPageRow]) -> Result<Option<String>> {
    let bus = cluster.bus().await?;
    let rebuilt: Arc<dyn Store> = Arc::new(SqliteStore::in_memory()?);
    mypage::rebuild(&bus, &rebuilt)
        .await
        .map_err(|e| anyhow::anyhow!("rebuilding the projection: {e}"))?;
    let target = Arc::clone(&rebuilt);
    let mut rows: Vec<MyPageRow> =
        tokio::task::spawn_blocking(move || all(&target, mypage::RESOURCE.collection)).await??;
    let mut live = live.to_vec();
    rows.sort_by_key(|r| r.id);
    live.sort_by_key(|r| r.id);
    if rows == live {
        return Ok(None);
    }
    let differing =
        live.iter().zip(&rows).filter(|(a, b)| a != b).count() + live.len().abs_diff(rows.len());
    Ok(Some(format!(
        "the my-page projection differs from its rebuild from the log in {differing} rows ({} live, {} rebuilt)",
        live.len(),
        rows.len()
    )))
}
