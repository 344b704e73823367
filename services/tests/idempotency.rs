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
    let key = order::idempotency::IdempotencyKey::parse(key)?;
    let out = order::place(&mut *tx, cmd, tv(), Some(&key), kept)?;
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

/// The reproduction over real sockets: two order replicas on one PostgreSQL schema,
/// twenty concurrent `POST /orders` with one key (half of them with spaces around the
/// customer id) answer one order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_posts_to_two_replicas_on_postgres_place_one_order() {
    use mall_services::bus::embedded::EmbeddedBus;
    use mall_services::bus::EventBus;
    use mall_services::store::postgres::PostgresStore;
    use mall_services::{Database, Role, System, SystemConfig, Urls};
    use serde_json::{json, Value};

    let prefix = format!("malltest_{}_", uuid::Uuid::new_v4().simple());
    let dir = tempfile::tempdir().expect("dir");
    let bus: Arc<dyn EventBus> = Arc::new(EmbeddedBus::in_memory().expect("bus"));
    let start = |role: Role, port: u16, urls: Urls| {
        let mut config = SystemConfig::ephemeral(dir.path());
        config.roles = vec![role];
        config.ports.insert(role, port);
        config.public_urls = Some(urls);
        config.database = Database::Postgres {
            url: stores::POSTGRES.into(),
            schema_prefix: prefix.clone(),
        };
        System::start_with_bus(config, Arc::clone(&bus))
    };
    let free_port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port()
    };
    let ports = [free_port(), free_port(), free_port()];
    let urls = |order: u16| -> Urls {
        [
            (Role::Order, format!("http://127.0.0.1:{order}")),
            (Role::Product, format!("http://127.0.0.1:{}", ports[2])),
        ]
        .into_iter()
        .collect()
    };
    let product = start(Role::Product, ports[2], urls(ports[0]))
        .await
        .expect("product starts");
    let mut replicas = vec![];
    for port in &ports[..2] {
        replicas.push(
            start(Role::Order, *port, urls(*port))
                .await
                .expect("order replica starts"),
        );
    }
    let order_urls: Vec<String> = replicas
        .iter()
        .map(|r| r.urls[Role::Order].to_owned())
        .collect();

    let http = reqwest::Client::new();
    let posts = (0..20).map(|i| {
        let (http, url) = (http.clone(), format!("{}/orders", order_urls[i % 2]));
        let customer = if i % 4 < 2 {
            "jay@uengine.org"
        } else {
            " jay@uengine.org  "
        };
        async move {
            let r = http
                .post(url)
                .header("Idempotency-Key", "one-key")
                .json(
                    &json!({"productId": 1, "quantity": 2, "customerId": customer,
                              "customerName": "Jay", "customerAddr": "Seoul"}),
                )
                .send()
                .await
                .expect("request");
            let status = r.status().as_u16();
            let body: Value = r.json().await.expect("body");
            (status, body["id"].as_i64())
        }
    });
    let answers = futures::future::join_all(posts).await;
    let created = answers.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(created, 1, "one 201, the rest 200: {answers:?}");
    assert!(
        answers.iter().all(|(s, _)| *s == 200 || *s == 201),
        "{answers:?}"
    );
    let first = answers[0].1;
    assert!(
        answers.iter().all(|(_, id)| *id == first),
        "every answer is the same order: {answers:?}"
    );
    let all: Value = http
        .get(format!("{}/orders", order_urls[0]))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(all["page"]["totalElements"], 1, "one order stored");

    for s in replicas {
        s.stop().await;
    }
    product.stop().await;
    tokio::task::spawn_blocking(move || {
        for role in [Role::Order, Role::Product] {
            PostgresStore::drop_schema(stores::POSTGRES, &format!("{prefix}{}", role.name()))
                .expect("cleanup schema");
        }
    })
    .await
    .expect("cleanup");
}
