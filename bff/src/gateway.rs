//! What the BFF asks of the domain services, in the domain's words: the four upstream
//! clients and the operations the schema resolves through them. No GraphQL and no HTTP
//! serving here.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use futures::future::join_all;
use http::{HeaderMap, HeaderValue, Method};
use serde_json::{json, Value};

use crate::config::BffConfig;
use crate::error::BffError;
use crate::schema::types::{
    from_item, Delivery, MyPageRow, Order, PlaceOrderInput, Product, ProductPage,
};
use crate::stale::{Fetched, StaleCache};
use crate::upstream::hal::{self, Links, PageInfo, Var};
use crate::upstream::{Upstream, UpstreamClient};

/// The relation names of the collections (schema/rest.md).
pub const PRODUCTS: &str = "products";
pub const ORDERS: &str = "orders";
pub const DELIVERIES: &str = "deliveries";
pub const MY_PAGES: &str = "myPages";

/// Ids per batch request (the contract's limit).
const MAX_BATCH: usize = 1000;

/// The variables of a batch search: the ids under `param`, and `size` asking for the whole
/// batch in one page where the search takes one (ours do; a template without `size`, such
/// as a Spring Data REST search without paging, ignores it).
fn batch_vars(param: &'static str, ids: &[i64]) -> [(&'static str, Var); 2] {
    [
        (param, Var::List(ids.iter().map(i64::to_string).collect())),
        ("size", Var::One(ids.len().to_string())),
    ]
}

/// A product to load: its id, and the link to it when an order gave one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProductRef {
    pub id: i64,
    pub href: Option<String>,
}

/// An order's delivery to load: the order id, and the order's `delivery` link.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeliveryRef {
    pub order_id: i64,
    pub href: Option<String>,
}

/// The result of one key of a batch.
pub type Loaded<T> = Result<Fetched<Option<T>>, BffError>;

/// The four upstreams and the last-known-good copies of what the BFF joins across them.
#[derive(Debug)]
pub struct Gateway {
    pub product: UpstreamClient,
    pub order: UpstreamClient,
    pub delivery: UpstreamClient,
    pub mypage: UpstreamClient,
    product_copies: StaleCache<i64, Product>,
    delivery_copies: StaleCache<i64, Delivery>,
}

fn stale_capacity(config: &BffConfig, upstream: Upstream) -> usize {
    let s = config.resilience.for_upstream(upstream).stale;
    if s.enabled {
        s.capacity
    } else {
        0
    }
}

impl Gateway {
    /// Builds the clients (one shared connection pool); reads nothing yet.
    pub fn new(config: &BffConfig) -> Result<Gateway, BffError> {
        let http = reqwest::Client::builder()
            .pool_idle_timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| BffError::Config(format!("cannot build the HTTP client: {e}")))?;
        let client = |u: Upstream| {
            UpstreamClient::new(
                u,
                config.urls.get(u),
                config.resilience.for_upstream(u),
                http.clone(),
            )
        };
        Ok(Gateway {
            product: client(Upstream::Product)?,
            order: client(Upstream::Order)?,
            delivery: client(Upstream::Delivery)?,
            mypage: client(Upstream::Mypage)?,
            product_copies: StaleCache::new(
                Upstream::Product,
                stale_capacity(config, Upstream::Product),
            ),
            delivery_copies: StaleCache::new(
                Upstream::Delivery,
                stale_capacity(config, Upstream::Delivery),
            ),
        })
    }

    pub fn clients(&self) -> [&UpstreamClient; 4] {
        [&self.product, &self.order, &self.delivery, &self.mypage]
    }

    /// Whether every upstream's root document was read.
    pub fn is_ready(&self) -> bool {
        self.clients().iter().all(|c| c.is_discovered())
    }

    /// Reads the root documents not read yet, concurrently; the upstreams still missing.
    pub async fn discover(&self) -> Vec<(Upstream, BffError)> {
        let pending = self.clients().into_iter().filter(|c| !c.is_discovered());
        join_all(pending.map(|c| async move { (c.upstream(), c.discover().await) }))
            .await
            .into_iter()
            .filter_map(|(u, r)| r.err().map(|e| (u, e)))
            .collect()
    }

    pub async fn products_page(
        &self,
        page: i64,
        size: i64,
    ) -> Result<Fetched<ProductPage>, BffError> {
        let link = self.product.root_link(PRODUCTS).await?;
        let url = link
            .expand(&[
                ("page", Var::One(page.to_string())),
                ("size", Var::One(size.to_string())),
            ])
            .map_err(|e| BffError::protocol(Upstream::Product, e))?;
        let doc = self.product.get(&url).await?;
        let info = PageInfo::of(&doc.value);
        let items = hal::embedded(&doc.value, PRODUCTS)
            .into_iter()
            .map(|i| from_item::<Product>(Upstream::Product, i))
            .collect::<Result<Vec<_>, _>>()?;
        for p in &items {
            self.product_copies.remember(p.id, p.clone());
        }
        let count = items.len() as i64;
        Ok(doc.map(|_| {
            let info = info.unwrap_or(PageInfo {
                size,
                total_elements: count,
                total_pages: 1,
                number: page,
            });
            ProductPage {
                items,
                page: info.number,
                size: info.size,
                total_elements: info.total_elements,
                total_pages: info.total_pages,
            }
        }))
    }

    pub async fn product(&self, id: i64) -> Result<Fetched<Product>, BffError> {
        let doc = self
            .product
            .item(PRODUCTS, id, &format!("product {id}"))
            .await?;
        let p: Product = from_item(Upstream::Product, doc.value.clone())?;
        Ok(doc.map(|_| p))
    }

    /// Every order, or one customer's (through `findByCustomerId` when advertised).
    pub async fn orders(&self, customer: Option<&str>) -> Result<Fetched<Vec<Order>>, BffError> {
        let docs = match customer {
            None => self.order.collect_all(ORDERS).await?,
            Some(c) => {
                let found = self
                    .order
                    .run_search(
                        ORDERS,
                        "findByCustomerId",
                        &[("customerId", Var::One(c.into()))],
                    )
                    .await?;
                match found {
                    Some(f) => f,
                    None => {
                        let all = self.order.collect_all(ORDERS).await?;
                        all.map(|items| {
                            items
                                .into_iter()
                                .filter(|o| o.get("customerId").and_then(Value::as_str) == Some(c))
                                .collect()
                        })
                    }
                }
            }
        };
        parse_all(Upstream::Order, docs)
    }

    pub async fn order(&self, id: i64) -> Result<Fetched<Order>, BffError> {
        let doc = self.order.item(ORDERS, id, &format!("order {id}")).await?;
        let o: Order = order_from(&self.order, doc.value.clone())?;
        Ok(doc.map(|_| o))
    }

    pub async fn deliveries(&self, customer: &str) -> Result<Fetched<Vec<Delivery>>, BffError> {
        let found = self
            .delivery
            .run_search(
                DELIVERIES,
                "findByCustomerId",
                &[("customerId", Var::One(customer.into()))],
            )
            .await?
            .ok_or_else(|| {
                BffError::protocol(Upstream::Delivery, "it offers no findByCustomerId search")
            })?;
        parse_all(Upstream::Delivery, found)
    }

    pub async fn my_page(&self, customer: &str) -> Result<Fetched<Vec<MyPageRow>>, BffError> {
        let found = self
            .mypage
            .run_search(
                MY_PAGES,
                "findByCustomerId",
                &[("customerId", Var::One(customer.into()))],
            )
            .await?
            .ok_or_else(|| {
                BffError::protocol(Upstream::Mypage, "it offers no findByCustomerId search")
            })?;
        parse_all(Upstream::Mypage, found)
    }

    /// Places an order; `idempotency_key` goes to the order service as `Idempotency-Key`,
    /// so a retried mutation with the same key returns the first order.
    pub async fn place_order(
        &self,
        input: &PlaceOrderInput,
        idempotency_key: Option<&str>,
    ) -> Result<Order, BffError> {
        let url = self
            .order
            .root_link(ORDERS)
            .await?
            .expand(&[])
            .map_err(|e| BffError::protocol(Upstream::Order, e))?;
        let body = json!({
            "productId": input.product_id,
            "quantity": input.quantity,
            "customerId": input.customer_id,
            "customerName": input.customer_name,
            "customerAddr": input.customer_addr,
        });
        let doc = self
            .order
            .command(
                Method::POST,
                &url,
                Some(body),
                key_header(idempotency_key)?,
                "the order",
            )
            .await?;
        order_from(&self.order, doc)
    }

    /// Cancels an order through its `self` link. With an idempotency key, a repeated
    /// cancellation answers the cancelled order instead of a conflict.
    pub async fn cancel_order(
        &self,
        id: i64,
        idempotency_key: Option<&str>,
    ) -> Result<Order, BffError> {
        let current = self.order(id).await?;
        let url = current
            .value
            .links
            .get("self")
            .map(|l| l.href.clone())
            .ok_or_else(|| BffError::protocol(Upstream::Order, "an order without a self link"))?;
        let result = self
            .order
            .command(
                Method::DELETE,
                &url,
                None,
                key_header(idempotency_key)?,
                &format!("order {id}"),
            )
            .await;
        match result {
            Ok(doc) => order_from(&self.order, doc),
            Err(BffError::BadUserInput { .. }) if idempotency_key.is_some() => {
                let again = self.order(id).await?.value;
                if again.status_text.eq_ignore_ascii_case("cancelled") {
                    Ok(again)
                } else {
                    Err(BffError::bad_input(format!(
                        "order {id} cannot be cancelled"
                    )))
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Marks a delivery completed (PATCH of its `self` link).
    pub async fn complete_delivery(&self, id: i64) -> Result<Delivery, BffError> {
        let doc = self
            .delivery
            .item(DELIVERIES, id, &format!("delivery {id}"))
            .await?;
        let url = Links::of(&doc.value, "http://localhost/")
            .get("self")
            .map(|l| l.href.clone())
            .ok_or_else(|| {
                BffError::protocol(Upstream::Delivery, "a delivery without a self link")
            })?;
        let updated = self
            .delivery
            .command(
                Method::PATCH,
                &url,
                Some(json!({"status": "DeliveryCompleted"})),
                HeaderMap::new(),
                &format!("delivery {id}"),
            )
            .await?;
        from_item(Upstream::Delivery, updated)
    }

    /// Products by id: one `findByIdIn` request per 1000 ids when the product service
    /// advertises it, otherwise one concurrent GET per product link.
    pub async fn load_products(&self, keys: &[ProductRef]) -> HashMap<ProductRef, Loaded<Product>> {
        let client = &self.product;
        let batch = match client.search(PRODUCTS, "findByIdIn").await {
            Ok(link) => link,
            Err(e) => return fail_all(keys, |k| k.id, &self.product_copies, &e),
        };
        let mut out = HashMap::new();
        match batch {
            Some(link) => {
                let ids: Vec<i64> = unique(keys.iter().map(|k| k.id));
                let chunks = ids.chunks(MAX_BATCH).map(|chunk| {
                    let link = link.clone();
                    async move {
                        let vars = batch_vars("ids", chunk);
                        let url = link
                            .expand(&vars)
                            .map_err(|e| BffError::protocol(Upstream::Product, e))?;
                        let docs = client.collect(&url, PRODUCTS).await?;
                        parse_all::<Product>(Upstream::Product, docs)
                    }
                });
                let mut found: HashMap<i64, Fetched<Product>> = HashMap::new();
                let mut failures: Vec<BffError> = Vec::new();
                for result in join_all(chunks).await {
                    match result {
                        Ok(products) => {
                            for p in products.value {
                                self.product_copies.remember(p.id, p.clone());
                                found.insert(
                                    p.id,
                                    Fetched {
                                        value: p,
                                        stale: products.stale.clone(),
                                    },
                                );
                            }
                        }
                        Err(e) => failures.push(e),
                    }
                }
                for key in keys {
                    let v = match (found.get(&key.id), failures.first()) {
                        (Some(p), _) => Ok(Fetched {
                            value: Some(p.value.clone()),
                            stale: p.stale.clone(),
                        }),
                        (None, Some(e)) => recall(&self.product_copies, key.id, e),
                        (None, None) => Ok(Fetched::fresh(None)),
                    };
                    out.insert(key.clone(), v);
                }
            }
            None => {
                let singles = keys.iter().map(|key| async move {
                    let result = match &key.href {
                        Some(href) => match client.get(href).await {
                            Ok(doc) => from_item::<Product>(Upstream::Product, doc.value.clone())
                                .map(|p| doc.map(|_| Some(p))),
                            Err(BffError::NotFound { .. }) => Ok(Fetched::fresh(None)),
                            Err(e) => Err(e),
                        },
                        None => match self.product(key.id).await {
                            Ok(p) => Ok(p.map(Some)),
                            Err(BffError::NotFound { .. }) => Ok(Fetched::fresh(None)),
                            Err(e) => Err(e),
                        },
                    };
                    let result = match result {
                        Ok(f) => {
                            if let Some(p) = &f.value {
                                self.product_copies.remember(p.id, p.clone());
                            }
                            Ok(f)
                        }
                        Err(e) => recall(&self.product_copies, key.id, &e),
                    };
                    (key.clone(), result)
                });
                out.extend(join_all(singles).await);
            }
        }
        out
    }

    /// Deliveries by order: one `findByOrderIdIn` request per 1000 orders when advertised,
    /// otherwise one concurrent GET per order's `delivery` link.
    pub async fn load_deliveries(
        &self,
        keys: &[DeliveryRef],
    ) -> HashMap<DeliveryRef, Loaded<Delivery>> {
        let client = &self.delivery;
        let batch = match client.search(DELIVERIES, "findByOrderIdIn").await {
            Ok(link) => link,
            Err(e) => return fail_all(keys, |k| k.order_id, &self.delivery_copies, &e),
        };
        let mut out = HashMap::new();
        match batch {
            Some(link) => {
                let ids: Vec<i64> = unique(keys.iter().map(|k| k.order_id));
                let chunks = ids.chunks(MAX_BATCH).map(|chunk| {
                    let link = link.clone();
                    async move {
                        let vars = batch_vars("orderIds", chunk);
                        let url = link
                            .expand(&vars)
                            .map_err(|e| BffError::protocol(Upstream::Delivery, e))?;
                        let docs = client.collect(&url, DELIVERIES).await?;
                        parse_all::<Delivery>(Upstream::Delivery, docs)
                    }
                });
                let mut found: HashMap<i64, Fetched<Delivery>> = HashMap::new();
                let mut failures: Vec<BffError> = Vec::new();
                for result in join_all(chunks).await {
                    match result {
                        Ok(ds) => {
                            for d in ds.value {
                                self.delivery_copies.remember(d.order_id, d.clone());
                                found.insert(
                                    d.order_id,
                                    Fetched {
                                        value: d,
                                        stale: ds.stale.clone(),
                                    },
                                );
                            }
                        }
                        Err(e) => failures.push(e),
                    }
                }
                for key in keys {
                    let v = match (found.get(&key.order_id), failures.first()) {
                        (Some(d), _) => Ok(Fetched {
                            value: Some(d.value.clone()),
                            stale: d.stale.clone(),
                        }),
                        (None, Some(e)) => recall(&self.delivery_copies, key.order_id, e),
                        (None, None) => Ok(Fetched::fresh(None)),
                    };
                    out.insert(key.clone(), v);
                }
            }
            None => {
                let singles = keys.iter().map(|key| async move {
                    let result = self.delivery_of_order(key).await;
                    let result = match result {
                        Ok(f) => {
                            if let Some(d) = &f.value {
                                self.delivery_copies.remember(d.order_id, d.clone());
                            }
                            Ok(f)
                        }
                        Err(e) => recall(&self.delivery_copies, key.order_id, &e),
                    };
                    (key.clone(), result)
                });
                out.extend(join_all(singles).await);
            }
        }
        out
    }

    async fn delivery_of_order(
        &self,
        key: &DeliveryRef,
    ) -> Result<Fetched<Option<Delivery>>, BffError> {
        let docs = match &key.href {
            Some(href) => self.delivery.collect(href, DELIVERIES).await?,
            None => self
                .delivery
                .run_search(
                    DELIVERIES,
                    "findByOrderId",
                    &[("orderId", Var::One(key.order_id.to_string()))],
                )
                .await?
                .ok_or_else(|| {
                    BffError::protocol(Upstream::Delivery, "it offers no findByOrderId search")
                })?,
        };
        let ds = parse_all::<Delivery>(Upstream::Delivery, docs)?;
        Ok(ds.map(|v| v.into_iter().next()))
    }
}

/// Reads an order, keeping its links (resolved against the order service's root).
fn order_from(client: &UpstreamClient, doc: Value) -> Result<Order, BffError> {
    let _ = client;
    from_item(Upstream::Order, doc)
}

fn parse_all<T: serde::de::DeserializeOwned>(
    upstream: Upstream,
    docs: Fetched<Vec<Value>>,
) -> Result<Fetched<Vec<T>>, BffError> {
    let stale = docs.stale;
    let value = docs
        .value
        .into_iter()
        .map(|d| from_item(upstream, d))
        .collect::<Result<Vec<T>, _>>()?;
    Ok(Fetched { value, stale })
}

/// The distinct ids, sorted: the same set of ids always gives the same batch URL (the
/// DataLoaders hand keys over in no particular order), so its last-known-good copy is found.
fn unique(ids: impl Iterator<Item = i64>) -> Vec<i64> {
    let set: BTreeSet<i64> = ids.collect();
    set.into_iter().collect()
}

fn recall<T: Clone>(copies: &StaleCache<i64, T>, id: i64, e: &BffError) -> Loaded<T> {
    match copies.recall(&id, e) {
        Some(f) => Ok(f.map(Some)),
        None => Err(e.clone()),
    }
}

fn fail_all<K: Clone + Eq + std::hash::Hash, T: Clone>(
    keys: &[K],
    id: impl Fn(&K) -> i64,
    copies: &StaleCache<i64, T>,
    e: &BffError,
) -> HashMap<K, Loaded<T>> {
    keys.iter()
        .map(|k| (k.clone(), recall(copies, id(k), e)))
        .collect()
}

fn key_header(key: Option<&str>) -> Result<HeaderMap, BffError> {
    let mut headers = HeaderMap::new();
    if let Some(k) = key {
        let value = HeaderValue::from_str(k)
            .map_err(|_| BffError::bad_input("idempotencyKey must be visible ASCII characters"))?;
        if k.is_empty() || k.len() > 200 {
            return Err(BffError::bad_input(
                "idempotencyKey must be 1 to 200 characters",
            ));
        }
        headers.insert("idempotency-key", value);
    }
    Ok(headers)
}

/// Shared by the schema: the gateway lives as long as the app.
pub type SharedGateway = Arc<Gateway>;
