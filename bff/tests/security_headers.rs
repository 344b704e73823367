//! Every answer of the BFF carries the headers that keep it from being framed, sniffed,
//! running injected script or leaking its URLs: the shop's files, GraphiQL, the GraphQL API
//! (answers and refusals) and the operations endpoints.

mod common;

use axum::body::Body;
use common::shop::{Shop, ShopOptions};
use common::TestBff;
use http::{header, Request};
use tower::ServiceExt;

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(shop.config()).await;
    let requests = [
        Request::get("/").body(Body::empty()),
        Request::get("/graphql").body(Body::empty()),
        Request::get("/graphql/assets/nope.js").body(Body::empty()),
        Request::post("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"query":"{ orders { id } }"}"#)),
        Request::post("/graphql")
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from("{}")),
        Request::get("/healthz").body(Body::empty()),
        Request::get("/metrics").body(Body::empty()),
    ];
    for request in requests {
        let request = request.expect("request");
        let what = format!("{} {}", request.method(), request.uri());
        let response = bff
            .bff
            .clone()
            .router()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let h = response.headers();
        for (name, value) in mall_bff::security_headers::HEADERS {
            if name == header::CONTENT_SECURITY_POLICY {
                let policy = h.get(&name).and_then(|v| v.to_str().ok()).unwrap_or("");
                assert_strict(policy, &what);
                continue;
            }
            assert_eq!(
                h.get(&name).and_then(|v| v.to_str().ok()),
                Some(value),
                "{what}: {name}"
            );
        }
    }
}

/// A strict script policy: scripts of the origin, wasm, and inline scripts only by hash; no
/// eval, no inline script by default, no plugins, never framed.
fn assert_strict(policy: &str, what: &str) {
    let directive = |name: &str| {
        policy
            .split(';')
            .map(str::trim)
            .find_map(|d| d.strip_prefix(name).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| panic!("{what}: no {name} in {policy:?}"))
    };
    let script = directive("script-src");
    for source in script.split_whitespace() {
        assert!(
            ["'self'", "'wasm-unsafe-eval'"].contains(&source) || source.starts_with("'sha256-"),
            "{what}: script-src allows {source} ({policy:?})"
        );
    }
    assert!(script.contains("'self'"), "{what}: {policy:?}");
    assert_eq!(directive("object-src"), "'none'", "{what}");
    assert_eq!(directive("frame-ancestors"), "'none'", "{what}");
}
