//! A composite query costs as many upstream round trips as it has levels, not as many as
//! it has rows: lookups are batched (or, without batch searches, de-duplicated and sent
//! concurrently), and the product and delivery lookups run at the same time.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::shop::{Shop, ShopOptions};
use common::upstream::{FakeUpstream, Hit, Hook};
use common::{assert_no_errors, TestBff};
use mall_bff::config::UpstreamOverride;
use mall_bff::upstream::Upstream;
use mall_bff::BffConfig;

const COMPOSITE: &str = "query Composite { orders { quantity customerId state product { price name } delivery { deliveryAddress } } }";

/// Requests held back by a [`Rendezvous`] wait at most this long for the others.
const PATIENCE: Duration = Duration::from_secs(3);

/// Holds each request matching a pattern until `n` of them have arrived (or [`PATIENCE`]
/// ran out): requests sent one after the other would each wait the full patience, and
/// their logged intervals would not overlap.
#[derive(Clone)]
struct Rendezvous {
    arrived: Arc<AtomicUsize>,
    all_here: Arc<tokio::sync::Notify>,
    n: usize,
}

impl Rendezvous {
    fn new(n: usize) -> Rendezvous {
        Rendezvous {
            arrived: Arc::new(AtomicUsize::new(0)),
            all_here: Arc::new(tokio::sync::Notify::new()),
            n,
        }
    }

    fn hook(&self, pattern: &'static str) -> Option<Hook> {
        let r = self.clone();
        Some(Arc::new(move |path: String| {
            let r = r.clone();
            Box::pin(async move {
                if !path.contains(pattern) {
                    return;
                }
                let all_here = r.all_here.notified();
                if r.arrived.fetch_add(1, Ordering::SeqCst) + 1 >= r.n {
                    r.all_here.notify_waiters();
                    return;
                }
                let _ = tokio::time::timeout(PATIENCE, all_here).await;
            })
        }))
    }
}

/// A BFF whose upstream timeout outlasts the rendezvous' patience.
fn patient(mut config: BffConfig) -> BffConfig {
    for u in Upstream::ALL {
        config.resilience.upstreams.insert(
            u,
            UpstreamOverride {
                timeout: Some(PATIENCE * 3),
                ..UpstreamOverride::default()
            },
        );
    }
    config
}

fn overlap(a: &Hit, b: &Hit) -> bool {
    let (a_end, b_end) = (a.ended.expect("answered"), b.ended.expect("answered"));
    a.started < b_end && b.started < a_end
}

fn count(upstream: &FakeUpstream) -> usize {
    upstream.hits().len()
}

#[tokio::test]
async fn composite_over_fifty_orders_batches_each_level_into_one_request() {
    let shop = Shop::start(ShopOptions {
        orders: 50,
        products: 5,
        batch: true,
    })
    .await;
    let bff = TestBff::start(shop.config()).await;
    // The first query also reads which searches the upstreams offer; the second shows the
    // steady state.
    assert_no_errors(&bff.query(COMPOSITE).await);
    shop.clear_hits();

    let r = bff.query(COMPOSITE).await;
    assert_no_errors(&r);
    assert_eq!(r["data"]["orders"].as_array().map(Vec::len), Some(50));
    assert_eq!(count(&shop.order), 1, "{:?}", shop.order.hits());
    assert_eq!(count(&shop.product), 1, "{:?}", shop.product.hits());
    assert_eq!(count(&shop.delivery), 1, "{:?}", shop.delivery.hits());
    let batch = &shop.product.hits()[0].path;
    assert!(
        batch.contains("findByIdIn?ids=1,2,3,4,5"),
        "one batch of the five distinct products: {batch}"
    );
}

#[tokio::test]
async fn the_first_composite_query_costs_a_bounded_number_of_requests() {
    let shop = Shop::start(ShopOptions {
        orders: 50,
        products: 5,
        batch: true,
    })
    .await;
    let bff = TestBff::start(shop.config()).await;
    shop.clear_hits();

    assert_no_errors(&bff.query(COMPOSITE).await);
    // orders: one page; products and deliveries: the collection and its search listing
    // (read once), then one batch.
    assert_eq!(count(&shop.order), 1, "{:?}", shop.order.hits());
    assert!(count(&shop.product) <= 3, "{:?}", shop.product.hits());
    assert!(count(&shop.delivery) <= 3, "{:?}", shop.delivery.hits());
}

#[tokio::test]
async fn product_and_delivery_lookups_overlap_in_time() {
    let shop = Shop::start(ShopOptions {
        orders: 10,
        products: 3,
        batch: true,
    })
    .await;
    let bff = TestBff::start(patient(shop.config())).await;
    assert_no_errors(&bff.query(COMPOSITE).await);
    shop.clear_hits();
    let meet = Rendezvous::new(2);
    shop.product.set_hook(meet.hook("findByIdIn"));
    shop.delivery.set_hook(meet.hook("findByOrderIdIn"));

    assert_no_errors(&bff.query(COMPOSITE).await);
    let products = shop.product.hits_to("findByIdIn");
    let deliveries = shop.delivery.hits_to("findByOrderIdIn");
    assert_eq!((products.len(), deliveries.len()), (1, 1));
    assert!(
        overlap(&products[0], &deliveries[0]),
        "the product and delivery lookups ran one after the other: {products:?} {deliveries:?}"
    );
}

#[tokio::test]
async fn without_batch_searches_distinct_products_are_fetched_once_each_and_concurrently() {
    let shop = Shop::start(ShopOptions {
        orders: 20,
        products: 4,
        batch: false,
    })
    .await;
    let bff = TestBff::start(patient(shop.config())).await;
    assert_no_errors(&bff.query(COMPOSITE).await);
    shop.clear_hits();
    let meet = Rendezvous::new(4);
    shop.product.set_hook(meet.hook("/products/"));

    let r = bff.query(COMPOSITE).await;
    assert_no_errors(&r);
    assert_eq!(r["data"]["orders"][5]["product"]["name"], "P2");
    let mut paths: Vec<String> = shop.product.hits().into_iter().map(|h| h.path).collect();
    paths.sort();
    assert_eq!(
        paths,
        ["/products/1", "/products/2", "/products/3", "/products/4"],
        "one GET per distinct product"
    );
    let hits = shop.product.hits();
    for a in &hits {
        for b in &hits {
            assert!(overlap(a, b), "product fetches did not overlap: {hits:?}");
        }
    }
    // Deliveries are per order: one search per order, all sent at once.
    assert_eq!(count(&shop.delivery), 20, "{:?}", shop.delivery.hits());
}
