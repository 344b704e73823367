//! Idempotency keys on every store adapter: concurrent requests with one key place one
//! order, keys belong to their customer, a retry is recognised whatever spaces surround its
//! customer id, and keys expire and are pruned.

mod common;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::stores;
use mall_services::domain_error::DomainError;
use mall_services::order::{self, Order, PlaceOrder, ProductFacts};
use mall_services::store::{Query, Store, TxExt};

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

fn cmd(customer: &str, quantity: i64) -> PlaceOrder {
    PlaceOrder {
        product_id: 1,
        quantity,
        customer_id: customer.into(),
        customer_name: "Jay".into(),
        customer_addr: "Seoul".into(),
    }
}

fn tv() -> ProductFacts {
    ProductFacts {
        name: "TV".into(),
        price: 10000,
    }
}

fn place(
    store: &dyn Store,
    cmd: PlaceOrder,
    key: &str,
    kept: Duration,
) -> Result<(Order, bool), DomainError> {
    let mut tx = store.begin().map_err(DomainError::from)?;
    let out = order::place(&mut *tx, cmd, tv(), Some(key), kept)?;
    tx.commit().map_err(DomainError::from)?;
    Ok(out)
}

fn orders(store: &dyn Store) -> Vec<Order> {
    let q = Query {
        size: 1000,
        ..Query::default()
    };
    store
        .begin_read()
        .expect("tx")
        .list::<Order>(order::RESOURCE.collection, &q)
        .expect("list")
        .items
}

#[test]
fn concurrent_requests_with_one_key_place_one_order() {
    for s in stores::each() {
        // Two replicas of the order service, ten requests each, all released at once.
        let replicas = [s.open(), s.open()];
        let start = Arc::new(Barrier::new(20));
        let results: Vec<(Order, bool)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..20)
                .map(|i| {
                    let store = Arc::clone(&replicas[i % 2]);
                    let start = Arc::clone(&start);
                    scope.spawn(move || {
                        start.wait();
                        place(&*store, cmd("jay@uengine.org", 2), "same-key", DAY)
                            .expect("every request answers")
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("no panic"))
                .collect()
        });
        let created = results.iter().filter(|(_, c)| *c).count();
        assert_eq!(
            created, 1,
            "{}: exactly one request placed the order",
            s.name
        );
        let first = &results.iter().find(|(_, c)| *c).expect("one created").0;
        assert!(
            results.iter().all(|(o, _)| o == first),
            "{}: every request answers with the same order",
            s.name
        );
        assert_eq!(
            orders(&*replicas[0]).len(),
            1,
            "{}: one order stored",
            s.name
        );
        assert_eq!(
            replicas[0].pending_events(100).expect("outbox").len(),
            1,
            "{}: one OrderPlaced",
            s.name
        );
    }
}

#[test]
fn a_retry_with_spaces_around_the_customer_id_answers_the_first_order() {
    for s in stores::each() {
        let store = s.open();
        let (first, created) =
            place(&*store, cmd("jay@uengine.org", 1), "k1", DAY).expect("placed");
        assert!(created);
        let (again, created) =
            place(&*store, cmd("  jay@uengine.org ", 1), "k1", DAY).expect("a retry, not 409");
        assert!(!created, "{}: the retry placed nothing", s.name);
        assert_eq!(again, first);
        assert_eq!(orders(&*store).len(), 1, "{}", s.name);
    }
}

#[test]
fn keys_belong_to_their_customer() {
    for s in stores::each() {
        let store = s.open();
        let (a, _) = place(&*store, cmd("a@uengine.org", 1), "shared", DAY).expect("a");
        let (b, created) = place(&*store, cmd("b@uengine.org", 1), "shared", DAY).expect("b");
        assert!(created, "{}: another customer's key is not ours", s.name);
        assert_ne!(a.id, b.id);
        let reused = place(&*store, cmd("a@uengine.org", 3), "shared", DAY);
        assert!(
            matches!(reused, Err(DomainError::Conflict(_))),
            "{}: one customer's key for a different order is a conflict: {reused:?}",
            s.name
        );
    }
}

#[test]
fn keys_expire_after_their_retention_and_are_pruned() {
    for s in stores::each() {
        let store = s.open();
        let (first, _) = place(&*store, cmd("jay@uengine.org", 1), "old", DAY).expect("placed");
        std::thread::sleep(Duration::from_millis(20));
        // Kept for 10 ms only: the record has expired, the key places a new order.
        let (second, created) = place(
            &*store,
            cmd("jay@uengine.org", 1),
            "old",
            Duration::from_millis(10),
        )
        .expect("placed again");
        assert!(created, "{}: an expired key is free again", s.name);
        assert_ne!(first.id, second.id);
        let now = mall_services::event::now_millis();
        assert_eq!(
            store.prune_keys(now - 60_000).expect("prune"),
            0,
            "{}: recent records stay",
            s.name
        );
        assert_eq!(
            store.prune_keys(now + 1).expect("prune"),
            1,
            "{}: expired records go",
            s.name
        );
        let (third, created) =
            place(&*store, cmd("jay@uengine.org", 1), "old", DAY).expect("placed");
        assert!(
            created && third.id != second.id,
            "{}: a pruned key is free",
            s.name
        );
    }
}
