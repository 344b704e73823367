//! The scale-out mode for real: each service role as its own system with its own connection
//! to NATS JetStream (the bus) and PostgreSQL (its store), running the course's flow.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::eventually;
use mall_services::bus::nats::NatsBus;
use mall_services::bus::EventBus;
use mall_services::store::postgres::PostgresStore;
use mall_services::{Database, Role, System, SystemConfig, Urls};
use serde_json::{json, Value};

const NATS: &str = "nats://127.0.0.1:4222";
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

#[tokio::test]
async fn each_role_alone_on_nats_and_postgres_runs_the_flow() {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let stream = format!("MALLTEST{run}");
    let prefix = format!("malltest_{run}_");
    let ports: HashMap<Role, u16> = Role::ALL.into_iter().map(|r| (r, free_port())).collect();
    let url = |r: Role| format!("http://127.0.0.1:{}", ports[&r]);
    let urls: Urls = Role::ALL.into_iter().map(|r| (r, url(r))).collect();
    let dir = tempfile::tempdir().expect("dir");
    let mut systems = vec![];
    for role in Role::ALL {
        // Each role gets its own bus connection, as a separate process would.
        let bus: Arc<dyn EventBus> = Arc::new(
            NatsBus::connect(NATS, &stream)
                .await
                .expect("NATS with JetStream runs on 127.0.0.1:4222"),
        );
        let mut config = SystemConfig::all(dir.path());
        config.roles = vec![role];
        config.ports = ports.clone();
        config.public_urls = Some(urls.clone());
        config.database = Database::Postgres {
            url: POSTGRES.into(),
            schema_prefix: prefix.clone(),
        };
        systems.push(
            System::start_with_bus(config, bus)
                .await
                .expect("role starts on PostgreSQL"),
        );
    }
    let http = reqwest::Client::new();
    let get = |u: String| {
        let http = http.clone();
        async move {
            http.get(u)
                .send()
                .await
                .expect("request")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let order: Value = http
        .post(format!("{}/orders", urls[Role::Order]))
        .json(
            &json!({"productId": 1, "quantity": 4, "customerId": "1@uengine.org",
                      "customerName": "Jay", "customerAddr": "Seoul"}),
        )
        .send()
        .await
        .expect("place")
        .json()
        .await
        .expect("order");
    let id = order["id"].as_i64().expect("id");
    assert_eq!(order["productName"], "TV");
    eventually("delivery starts, stock drops, my page follows", || async {
        let d = get(format!(
            "{}/deliveries/search/findByOrderId?orderId={id}",
            urls[Role::Delivery]
        ))
        .await;
        let p = get(format!("{}/products/1", urls[Role::Product])).await;
        let m = get(format!("{}/myPages/{id}", urls[Role::Mypage])).await;
        (d["_embedded"]["deliveries"][0]["status"] == "DeliveryStarted"
            && p["stock"] == 6
            && m["deliveryStatus"] == "DeliveryStarted")
            .then_some(())
    })
    .await;
    http.delete(format!("{}/orders/{id}", urls[Role::Order]))
        .send()
        .await
        .expect("cancel");
    eventually("cancellation flows through", || async {
        let p = get(format!("{}/products/1", urls[Role::Product])).await;
        let m = get(format!("{}/myPages/{id}", urls[Role::Mypage])).await;
        (p["stock"] == 10 && m["deliveryStatus"] == "DeliveryCancelled").then_some(())
    })
    .await;
    for s in systems {
        s.stop().await;
    }
    NatsBus::connect(NATS, &stream)
        .await
        .expect("connect")
        .delete_stream()
        .await
        .expect("cleanup stream");
    tokio::task::spawn_blocking(move || {
        for role in Role::ALL {
            PostgresStore::drop_schema(POSTGRES, &format!("{prefix}{}", role.name()))
                .expect("cleanup schema");
        }
    })
    .await
    .expect("cleanup");
}
