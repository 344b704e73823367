//! What one request may ask, and the operations endpoints: a too-deep query and an
//! oversized body are refused with a clear error; `/metrics` shows per-upstream request
//! counts and circuit states; `/readyz` is ready only once every root document was read.

mod common;

use common::shop::{Shop, ShopOptions};
use common::upstream::FakeUpstream;
use common::{assert_no_errors, config_for, eventually, TestBff};
use http::StatusCode;
use mall_bff::upstream::Upstream;
use serde_json::{json, Value};

#[tokio::test]
async fn a_too_deep_query_is_refused_before_anything_is_fetched() {
    let shop = Shop::start(ShopOptions::default()).await;
    let mut config = shop.config();
    config.limits.max_depth = 2;
    let bff = TestBff::start(config).await;
    shop.clear_hits();

    let r = bff.query("{ orders { product { name } } }").await;
    let message = r["errors"][0]["message"].as_str().unwrap_or("");
    assert!(message.contains("too deep"), "{r:#}");
    assert!(r["data"].is_null(), "{r:#}");
    assert!(
        shop.all().iter().all(|u| u.hits().is_empty()),
        "nothing was fetched"
    );
}

#[tokio::test]
async fn a_query_within_the_depth_limit_is_answered() {
    let shop = Shop::start(ShopOptions::default()).await;
    let mut config = shop.config();
    config.limits.max_depth = 3;
    let bff = TestBff::start(config).await;
    assert_no_errors(&bff.query("{ orders { product { name } } }").await);
}

/// A BFF that accepts bodies of at most 1024 bytes (and the shop behind it, kept alive).
async fn bff_with_a_1024_byte_limit() -> (Shop, TestBff) {
    let shop = Shop::start(ShopOptions::default()).await;
    let mut config = shop.config();
    config.limits.max_body_bytes = 1024;
    let bff = TestBff::start(config).await;
    (shop, bff)
}

/// A valid query padded to over 2 kB.
fn oversized_query() -> String {
    let padding = " ".repeat(2048);
    json!({"query": format!("{{ orders {{ id }} {padding} }}")}).to_string()
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    let (_shop, bff) = bff_with_a_1024_byte_limit().await;
    let body = oversized_query();

    let (status, text) = bff.post_graphql(body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{text}");
    assert!(!text.is_empty(), "the refusal says why");
}

#[tokio::test]
async fn an_oversized_body_without_a_length_is_refused_with_413_too() {
    let (_shop, bff) = bff_with_a_1024_byte_limit().await;
    let body = oversized_query();
    let chunks: Vec<Result<String, std::io::Error>> = vec![Ok(body)];
    let (status, text) = bff
        .http(
            http::Request::post("/graphql")
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(axum::body::Body::from_stream(futures::stream::iter(chunks)))
                .expect("request"),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{text}");
    let r: Value = serde_json::from_str(&text).expect("a GraphQL error document");
    assert_eq!(
        r["errors"][0]["extensions"]["code"], "PAYLOAD_TOO_LARGE",
        "{r:#}"
    );
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("1024 bytes"),
        "{r:#}"
    );
}

#[tokio::test]
async fn a_body_that_is_not_graphql_is_refused_with_what_to_send() {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(shop.config()).await;
    let (status, text) = bff.post_graphql("{\"quer\": 1".to_owned()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    let r: Value = serde_json::from_str(&text).expect("a GraphQL error document");
    assert_eq!(r["errors"][0]["extensions"]["code"], "BAD_REQUEST", "{r:#}");
}

#[tokio::test]
async fn a_body_within_the_limit_is_answered() {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(shop.config()).await;
    let body = json!({"query": "{ orders { id } }"}).to_string();
    let (status, text) = bff.post_graphql(body).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let r: Value = serde_json::from_str(&text).expect("JSON");
    assert_no_errors(&r);
    assert_eq!(r["data"]["orders"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn metrics_show_requests_and_circuit_state_per_upstream() {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(shop.config()).await;
    assert_no_errors(
        &bff.query("{ orders { product { name } delivery { id } } }")
            .await,
    );

    let (status, text) = bff.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    for upstream in ["product", "order", "delivery", "mypage"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("bff_upstream_requests_total{")
                    && l.contains(&format!("upstream=\"{upstream}\""))
                    && l.contains("outcome=\"ok\"")),
            "no request count for {upstream}:\n{text}"
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with("bff_upstream_circuit_state{")
                    && l.contains(&format!("upstream=\"{upstream}\""))),
            "no circuit state for {upstream}:\n{text}"
        );
    }
}

#[tokio::test]
async fn readyz_waits_for_every_root_document() {
    let shop = Shop::start(ShopOptions::default()).await;
    // The mypage service is not there yet: its port is reserved, then freed.
    let (listener, mypage_url) = FakeUpstream::bind().await;
    let addr = listener.local_addr().expect("address");
    drop(listener);
    let mut config = shop.config();
    *config.urls.get_mut(Upstream::Mypage) = mypage_url;
    let bff = TestBff::start(config).await;

    let (status, text) = bff.get("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{text}");
    assert!(text.contains("mypage"), "names what is missing: {text}");
    assert!(!text.contains("order"), "{text}");

    // The mypage service comes up on its port; the BFF finds it on its own.
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .expect("the port is free");
    let _mypage = FakeUpstream::serve(
        listener,
        std::sync::Arc::new(|_: &str, path: &str| {
            (path == "/").then(|| {
                (
                    StatusCode::OK,
                    json!({"_links": {"myPages": {"href": "/myPages{?page,size,sort}", "templated": true}}})
                        .to_string(),
                )
            })
        }),
    );
    eventually("the BFF is ready", || async {
        (bff.get("/readyz").await.0 == StatusCode::OK).then_some(())
    })
    .await;
}

#[tokio::test]
async fn readyz_is_ready_when_every_upstream_answered_its_root() {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(config_for(
        Upstream::ALL
            .into_iter()
            .zip(shop.all())
            .map(|(u, s)| (u, s.url.clone())),
    ))
    .await;
    let (status, _) = bff.get("/readyz").await;
    assert_eq!(status, StatusCode::OK);
}
