//! Scale-out: two BFF replicas, each with its own connection to NATS JetStream (as two
//! processes behind a load balancer would have), in front of the services on the same
//! stream. A change made through either replica reaches the subscribers of both.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::{place_order, ws_url, Client};
use mall::{start_bff, MallConfig, Ports};
use mall_services::bus::nats::NatsBus;
use mall_services::bus::EventBus;
use mall_services::{Role, System, SystemConfig, Urls};
use serde_json::Value;

const NATS: &str = "nats://127.0.0.1:4222";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

async fn nats(stream: &str) -> Arc<dyn EventBus> {
    Arc::new(
        NatsBus::connect(NATS, stream)
            .await
            .expect("NATS with JetStream runs on 127.0.0.1:4222"),
    )
}

fn order_of(update: &Value) -> (i64, Value) {
    (
        update["row"]["orderId"].as_i64().expect("orderId"),
        update["row"]["deliveryStatus"].clone(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bff_replica_delivers_every_update() {
    let stream = format!("MALLTEST{}", uuid::Uuid::new_v4().simple());
    let ports: HashMap<Role, u16> = Role::ALL.into_iter().map(|r| (r, free_port())).collect();
    let url = |r: Role| format!("http://127.0.0.1:{}", ports[&r]);
    let urls: Urls = Role::ALL.into_iter().map(|r| (r, url(r))).collect();
    let dir = tempfile::tempdir().expect("dir");
    let mut config = SystemConfig::ephemeral(dir.path());
    config.ports = ports;
    config.public_urls = Some(urls.clone());
    let services = System::start_with_bus(config, nats(&stream).await)
        .await
        .expect("the services start on NATS");

    let bff_config = MallConfig {
        data_dir: dir.path().to_owned(),
        ports: Ports::any(),
        ..MallConfig::default()
    };
    let one = start_bff(&bff_config, urls.clone(), Some(nats(&stream).await))
        .await
        .expect("replica one");
    let two = start_bff(&bff_config, urls.clone(), Some(nats(&stream).await))
        .await
        .expect("replica two");
    common::register(&one.url, one.auth().issuer.clone());
    common::register(&two.url, two.auth().issuer.clone());

    let customer = "replicas@12st.example";
    let mut on_one = Client::connect(&ws_url(&one.url, "/graphql/ws")).await;
    let mut on_two = Client::connect(&ws_url(&two.url, "/graphql/ws")).await;
    on_one.snapshot_of("1", customer).await;
    on_two.snapshot_of("2", customer).await;

    // One order through each replica: both subscribers see both, in order.
    let first = place_order(&one.url, customer).await;
    for client in [&mut on_one, &mut on_two] {
        assert_eq!(order_of(&client.update().await), (first, Value::Null));
        assert_eq!(
            order_of(&client.update().await),
            (first, "DELIVERY_STARTED".into())
        );
    }
    let second = place_order(&two.url, customer).await;
    for client in [&mut on_one, &mut on_two] {
        assert_eq!(order_of(&client.update().await), (second, Value::Null));
        assert_eq!(
            order_of(&client.update().await),
            (second, "DELIVERY_STARTED".into())
        );
    }

    on_one.close().await;
    on_two.close().await;
    one.stop().await;
    two.stop().await;
    services.stop().await;
    NatsBus::connect(NATS, &stream)
        .await
        .expect("NATS")
        .delete_stream()
        .await
        .expect("the test's stream is removed");
}
