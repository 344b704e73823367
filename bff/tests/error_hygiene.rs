//! What a client reads in an error is for the client: a stable code and a short message.
//! Upstream URLs, upstream bodies and transport errors go to the BFF's log, never into a
//! response, on every error path an upstream can cause: stopped, 5xx with a body, hung,
//! answering something that is not JSON, answering 404 for an item.
//!
//! Real sockets: fake upstreams on `127.0.0.1:0` (the shop's, or one product service that
//! misbehaves), the BFF calling them over HTTP.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::shop::{Shop, ShopOptions};
use common::upstream::{FakeUpstream, Mode, Responder};
use common::{codes, errors, TestBff};
use http::StatusCode;
use mall_bff::config::UpstreamOverride;
use mall_bff::upstream::Upstream;
use mall_bff::BffConfig;
use serde_json::{json, Value};

/// Text an upstream's body carries that must never reach a client.
const SECRET: &str = "SECRET-UPSTREAM-BODY at http://db.internal:5432/mall";

/// Fails when the response quotes an upstream: a URL, an address, or the upstream's body.
fn assert_clean(response: &Value, expected_code: &str) {
    assert!(
        !errors(response).is_empty(),
        "the error path was hit: {response:#}"
    );
    assert!(
        codes(response).iter().all(|c| c == expected_code),
        "{response:#}"
    );
    let text = response["errors"].to_string();
    for leak in [
        "http://",
        "127.0.0.1",
        "SECRET",
        "db.internal",
        "error sending request",
    ] {
        assert!(!text.contains(leak), "`{leak}` reached the client: {text}");
    }
}

/// A product service whose root document is fine and whose catalogue answers `status` with
/// `body`.
async fn product_answering(status: StatusCode, body: &'static str) -> FakeUpstream {
    let (listener, url) = FakeUpstream::bind().await;
    let root = json!({"_links": {
        "products": {"href": format!("{url}/products{{?page,size,sort}}"), "templated": true}}})
    .to_string();
    let responder: Responder = Arc::new(move |_method, path| {
        if path == "/" {
            Some((StatusCode::OK, root.clone()))
        } else {
            Some((status, body.to_owned()))
        }
    });
    FakeUpstream::serve(listener, responder)
}

async fn bff_with_product(shop: &Shop, product: &FakeUpstream) -> TestBff {
    let mut config = shop.config();
    *config.urls.get_mut(Upstream::Product) = product.url.clone();
    TestBff::start(config).await
}

const PRODUCTS: &str = "{ products(page: 0, size: 5) { items { id name } } }";

#[tokio::test]
async fn a_5xx_body_is_not_shown_to_clients() {
    let shop = Shop::start(ShopOptions::default()).await;
    let product = product_answering(StatusCode::INTERNAL_SERVER_ERROR, SECRET).await;
    let bff = bff_with_product(&shop, &product).await;
    let r = bff.query(PRODUCTS).await;
    assert_clean(&r, "UPSTREAM_UNAVAILABLE");
    let message = errors(&r)[0]["message"].as_str().unwrap_or("").to_owned();
    assert!(
        message.contains("500"),
        "the status is worth saying: {message}"
    );
}

#[tokio::test]
async fn an_answer_that_is_not_json_is_not_quoted() {
    let shop = Shop::start(ShopOptions::default()).await;
    let product = product_answering(
        StatusCode::OK,
        "<html>SECRET-UPSTREAM-BODY http://db.internal/</html>",
    )
    .await;
    let bff = bff_with_product(&shop, &product).await;
    let r = bff.query(PRODUCTS).await;
    assert_clean(&r, "UPSTREAM_UNAVAILABLE");
}

#[tokio::test]
async fn a_stopped_upstream_is_not_named_by_its_address() {
    let mut shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(shop.config()).await;
    // Read once so the root document is known, then stop the service.
    assert!(errors(&bff.query(PRODUCTS).await).is_empty());
    shop.product.stop().await;
    let r = bff
        .query("{ products(page: 1, size: 5) { items { id } } }")
        .await;
    assert_clean(&r, "UPSTREAM_UNAVAILABLE");
}

#[tokio::test]
async fn a_hung_upstream_is_not_named_by_its_address() {
    let shop = Shop::start(ShopOptions::default()).await;
    let mut config: BffConfig = shop.config();
    config.resilience.upstreams.insert(
        Upstream::Product,
        UpstreamOverride {
            timeout: Some(Duration::from_millis(200)),
            ..UpstreamOverride::default()
        },
    );
    let bff = TestBff::start(config).await;
    shop.product.set_mode(Mode::Hang);
    let r = bff.query(PRODUCTS).await;
    assert_clean(&r, "UPSTREAM_TIMEOUT");
    shop.product.set_mode(Mode::Up);
}

#[tokio::test]
async fn a_missing_item_is_named_by_what_was_asked_not_by_its_url() {
    // Without batch searches an item is read at `<collection>/<id>`: its 404 must not
    // show that URL.
    let shop = Shop::start(ShopOptions {
        batch: false,
        ..ShopOptions::default()
    })
    .await;
    let bff = TestBff::start(shop.config()).await;
    let r = bff.query("{ product(productId: 999) { id } }").await;
    assert_clean(&r, "NOT_FOUND");
    let message = errors(&r)[0]["message"].as_str().unwrap_or("").to_owned();
    assert!(
        message.contains("999"),
        "says what was not found: {message}"
    );
}
