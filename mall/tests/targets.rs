//! Which targets start, and the message when a combination cannot work.

use mall::{start, BusChoice, MallConfig, Ports, Target};
use mall_services::Role;

#[tokio::test]
async fn a_single_role_on_the_embedded_bus_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().expect("dir");
    let config = MallConfig {
        target: Target::Service(Role::Order),
        data_dir: dir.path().to_owned(),
        ports: Ports::any(),
        ..MallConfig::default()
    };
    let err = start(config).await.err().expect("refused");
    let message = err.to_string();
    assert!(message.contains("--target all"), "{message}");
    assert!(message.contains("--bus nats://"), "{message}");
}

#[tokio::test]
async fn all_runs_every_service_and_the_bff_in_front_of_them() {
    let dir = tempfile::tempdir().expect("dir");
    let config = MallConfig {
        data_dir: dir.path().to_owned(),
        ports: Ports::any(),
        bus: BusChoice::Embedded,
        ..MallConfig::default()
    };
    let mall = start(config).await.expect("starts");
    let http = reqwest::Client::new();
    let services = mall.services.as_ref().expect("services");
    let bff = mall.bff_url.clone().expect("bff");
    for base in [
        &services.urls[Role::Order],
        &services.urls[Role::Delivery],
        &services.urls[Role::Product],
        &services.urls[Role::Mypage],
        &bff,
    ] {
        let r = http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .expect("healthz");
        assert!(r.status().is_success(), "{base} is live");
    }
    // The BFF reaches the services of the same process.
    let r: serde_json::Value = http
        .post(format!("{bff}/graphql"))
        .json(&serde_json::json!({"query": "{ products(page: 0, size: 3) { items { name price } } }"}))
        .send()
        .await
        .expect("graphql")
        .json()
        .await
        .expect("json");
    assert_eq!(r["data"]["products"]["items"][0]["name"], "TV", "{r}");
    let metrics = http
        .get(format!("{bff}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("http_requests_total"),
        "one recorder renders every role's metrics"
    );
    mall.stop().await;
}
