//! Rate limits over a real socket: a client that bursts past its quota is answered 429 with
//! `Retry-After` and a body that says when to try again, while another client address, or
//! another session from the same address, is served as usual; probes and the shop's files
//! are never limited by the default settings.
//!
//! The BFF is served on `127.0.0.1:0` with the peer's address (`ConnectInfo`); the clients
//! bind `127.0.0.1` and `127.0.0.2` (both loopback on Linux), with loopback not exempt. The
//! quotas refill at one request a minute, so no test depends on how fast it runs.

mod common;

use std::net::{IpAddr, SocketAddr};

use common::shop::{Shop, ShopOptions};
use common::TestBff;
use mall_bff::config::RouteLimit;
use serde_json::{json, Value};

const BURST: u32 = 4;

async fn start() -> (Shop, TestBff, SocketAddr) {
    start_with(|_| {}).await
}

async fn start_with(change: impl FnOnce(&mut mall_bff::BffConfig)) -> (Shop, TestBff, SocketAddr) {
    let shop = Shop::start(ShopOptions::default()).await;
    let mut config = shop.config();
    config.rate_limits.exempt_loopback = false;
    config.rate_limits.graphql = RouteLimit {
        enabled: true,
        burst: BURST,
        per_minute: 1,
    };
    config.rate_limits.auth = RouteLimit {
        enabled: true,
        burst: 1,
        per_minute: 1,
    };
    change(&mut config);
    let bff = TestBff::start(config).await;
    let addr = bff.serve().await;
    (shop, bff, addr)
}

/// A client whose connections come from `from`.
fn client(from: &str) -> reqwest::Client {
    let from: IpAddr = from.parse().expect("an address");
    reqwest::Client::builder()
        .local_address(from)
        .build()
        .expect("client")
}

async fn products(
    client: &reqwest::Client,
    addr: SocketAddr,
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut request = client
        .post(format!("http://{addr}/graphql"))
        .json(&json!({"query": "{ products { items { id } } }"}));
    if let Some(cookie) = cookie {
        request = request.header("cookie", format!("mall_session={cookie}"));
    }
    request.send().await.expect("the BFF answers")
}

#[tokio::test]
async fn a_burst_past_the_quota_is_refused_with_retry_after_and_other_addresses_are_served() {
    let (_shop, _bff, addr) = start().await;
    let first = client("127.0.0.1");
    for i in 0..BURST {
        let r = products(&first, addr, None).await;
        assert_eq!(r.status(), 200, "request {i} is within the burst");
    }
    let refused = products(&first, addr, None).await;
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .expect("text")
        .parse()
        .expect("whole seconds");
    assert!(retry_after >= 1, "{retry_after}");
    assert_eq!(
        refused.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let body: Value = refused.json().await.expect("JSON");
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    let message = body["errors"][0]["message"].as_str().expect("message");
    assert!(message.contains("try again in"), "{message}");

    let other = client("127.0.0.2");
    let served = products(&other, addr, None).await;
    assert_eq!(served.status(), 200, "another address has its own quota");
    let body: Value = served.json().await.expect("JSON");
    assert!(body["data"]["products"]["items"].is_array(), "{body}");

    let health = first
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .expect("answer");
    assert_eq!(health.status(), 200, "probes are never limited");
    let file = first
        .get(format!("http://{addr}/index.html"))
        .send()
        .await
        .expect("answer");
    assert_ne!(file.status(), 429, "the shop's files are exempt by default");
}

#[tokio::test]
async fn each_session_has_its_own_quota() {
    let (_shop, _bff, addr) = start().await;
    let client = client("127.0.0.1");
    for _ in 0..BURST {
        let r = products(&client, addr, Some("session-one")).await;
        assert_eq!(r.status(), 200);
    }
    let refused = products(&client, addr, Some("session-one")).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let other = products(&client, addr, Some("session-two")).await;
    assert_eq!(
        other.status(),
        200,
        "another session from the same address is served"
    );
    let anonymous = products(&client, addr, None).await;
    assert_eq!(anonymous.status(), 200, "and so is the address itself");
}

#[tokio::test]
async fn auth_routes_answer_a_problem_document() {
    let (_shop, _bff, addr) = start().await;
    let client = client("127.0.0.1");
    let login = || {
        client
            .post(format!("http://{addr}/auth/login"))
            .json(&json!({"email": "a@example.com", "password": "wrong"}))
            .send()
    };
    let first = login().await.expect("answer");
    assert_ne!(first.status(), 429, "within the quota");
    let refused = login().await.expect("answer");
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = refused.json().await.expect("JSON");
    assert_eq!(body["status"], 429);
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("try again in")),
        "{body}"
    );
    // The GraphQL quota is another route's: untouched.
    let served = products(&client, addr, None).await;
    assert_eq!(served.status(), 200);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_quota() {
    // Set as a deployment sets it: from the environment, the ranges separated by commas.
    let (_shop, _bff, addr) = start_with(|c| {
        *c = c
            .clone()
            .with_env([(
                "MALL_BFF__RATE_LIMITS__TRUSTED_PROXIES".to_owned(),
                "10.0.0.0/8, 127.0.0.1/32".to_owned(),
            )])
            .expect("a valid setting");
    })
    .await;
    let proxy = client("127.0.0.1");
    let forwarded = |client_address: &'static str| {
        proxy
            .post(format!("http://{addr}/graphql"))
            .header("x-forwarded-for", client_address)
            .json(&json!({"query": "{ upstreams { name } }"}))
            .send()
    };
    for _ in 0..BURST {
        assert_eq!(forwarded("192.0.2.1").await.expect("answer").status(), 200);
    }
    assert_eq!(forwarded("192.0.2.1").await.expect("answer").status(), 429);
    assert_eq!(
        forwarded("192.0.2.2").await.expect("answer").status(),
        200,
        "another client behind the same proxy is served"
    );

    // A client that is not a trusted proxy cannot pick its address.
    let direct = client("127.0.0.2");
    for i in 0..=BURST {
        let r = direct
            .post(format!("http://{addr}/graphql"))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .json(&json!({"query": "{ upstreams { name } }"}))
            .send()
            .await
            .expect("answer");
        let expected = if i < BURST { 200 } else { 429 };
        assert_eq!(r.status(), expected, "request {i}");
    }
}
