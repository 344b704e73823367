//! One failing upstream nulls one field, never the whole answer: with the delivery service
//! stopped or hanging, the Composite query still returns every order, with `delivery: null`
//! and a typed error naming the upstream; after enough failures the circuit opens and
//! answers at once, and a half-open probe closes it when the service is back.
//!
//! The tests run on paused tokio time: the hanging upstream parks its request on a
//! `Notify`, so the runtime goes idle and the clock auto-advances to the BFF's timeout
//! instead of the test waiting for it; the breaker reads tokio's clock, so its cool-down is
//! skipped with `tokio::time::advance`. The cool-down is an hour because the paused clock
//! also jumps ahead whenever the runtime idles between real socket events (up to the next
//! timer of the HTTP stack, about a minute): an hour only passes when the test says so.

mod common;

use std::time::Duration;

use common::shop::{Shop, ShopOptions};
use common::upstream::Mode;
use common::{codes, errors, TestBff};
use mall_bff::config::{BreakerSettings, StaleSettings, UpstreamOverride};
use mall_bff::upstream::Upstream;
use mall_bff::BffConfig;
use serde_json::Value;

const COMPOSITE: &str = "query Composite { orders { quantity customerId state product { price name } delivery { deliveryAddress } } }";
const TIMEOUT: Duration = Duration::from_secs(2);
const COOL_DOWN: Duration = Duration::from_secs(3600);
const THRESHOLD: u32 = 3;

/// The delivery upstream: 2 s timeout, opens after 3 failures in a row, an hour's cool-down,
/// no stale copies (so the failures show).
fn config(shop: &Shop) -> BffConfig {
    let mut config = shop.config();
    config.resilience.upstreams.insert(
        Upstream::Delivery,
        UpstreamOverride {
            timeout: Some(TIMEOUT),
            breaker: Some(BreakerSettings {
                consecutive_failures: THRESHOLD,
                cool_down: COOL_DOWN,
                ..BreakerSettings::default()
            }),
            stale: Some(StaleSettings {
                enabled: false,
                ..StaleSettings::default()
            }),
            ..UpstreamOverride::default()
        },
    );
    config
}

/// Asserts every order is there with its product and a null delivery, and one error per
/// delivery field, each with `code` and naming the delivery upstream.
fn assert_orders_without_deliveries(r: &Value, code: &str) {
    let orders = r["data"]["orders"].as_array().expect("orders answered");
    assert_eq!(orders.len(), 3, "{r:#}");
    for o in orders {
        assert_eq!(o.get("delivery"), Some(&Value::Null), "{o}");
        assert!(o["product"]["name"].is_string(), "{o}");
    }
    assert_eq!(codes(r), vec![code; 3], "{r:#}");
    for e in errors(r) {
        assert_eq!(e["extensions"]["upstream"], "delivery", "{e}");
        assert!(
            e["message"].as_str().unwrap_or("").contains("delivery"),
            "the message names the upstream: {e}"
        );
        assert_eq!(e["path"][2], "delivery", "{e}");
    }
}

async fn circuit_state(bff: &TestBff, upstream: &str) -> String {
    let r = bff.query("{ upstreams { name state } }").await;
    r["data"]["upstreams"]
        .as_array()
        .expect("upstreams")
        .iter()
        .find(|u| u["name"] == upstream)
        .map(|u| u["state"].as_str().unwrap_or("").to_owned())
        .expect("the upstream is listed")
}

#[tokio::test(start_paused = true)]
async fn a_stopped_delivery_service_nulls_only_the_deliveries() {
    let mut shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(config(&shop)).await;
    shop.delivery.stop().await;

    let r = bff.query(COMPOSITE).await;
    assert_orders_without_deliveries(&r, "UPSTREAM_UNAVAILABLE");
}

#[tokio::test(start_paused = true)]
async fn a_hanging_delivery_service_times_out_and_nulls_only_the_deliveries() {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(config(&shop)).await;
    shop.delivery.set_mode(Mode::Hang);

    let started = tokio::time::Instant::now();
    let r = bff.query(COMPOSITE).await;
    assert_orders_without_deliveries(&r, "UPSTREAM_TIMEOUT");
    assert!(
        started.elapsed() >= TIMEOUT,
        "the answer waited for the timeout"
    );
    assert!(!shop.delivery.hits().is_empty(), "the upstream was called");
}

#[tokio::test(start_paused = true)]
async fn a_hanging_upstream_costs_one_timeout_not_one_per_retry() {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(config(&shop)).await;
    shop.delivery.set_mode(Mode::Hang);
    shop.clear_hits();

    let r = bff.query(COMPOSITE).await;
    assert_orders_without_deliveries(&r, "UPSTREAM_TIMEOUT");
    // The timeout bounds the whole call: the attempt that hung used it up, so no retry
    // (each of which would have waited a timeout of its own) was sent.
    assert_eq!(
        shop.delivery.hits().len(),
        1,
        "one request for the page's deliveries, not retried: {:?}",
        shop.delivery.hits()
    );
}

#[tokio::test(start_paused = true)]
async fn after_the_threshold_the_circuit_opens_and_answers_at_once() {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(config(&shop)).await;
    shop.delivery.set_mode(Mode::Hang);
    for _ in 0..THRESHOLD {
        let r = bff.query(COMPOSITE).await;
        assert_orders_without_deliveries(&r, "UPSTREAM_TIMEOUT");
    }
    assert_eq!(circuit_state(&bff, "delivery").await, "OPEN");
    let calls = shop.delivery.hits().len();

    let r = bff.query(COMPOSITE).await;
    assert_orders_without_deliveries(&r, "CIRCUIT_OPEN");
    // Nothing was sent, so there was nothing to wait for (and the hanging upstream would
    // have made it a timeout).
    assert_eq!(
        shop.delivery.hits().len(),
        calls,
        "an open circuit calls nobody"
    );
    assert_eq!(circuit_state(&bff, "product").await, "CLOSED");
}

#[tokio::test(start_paused = true)]
async fn a_half_open_probe_closes_the_circuit_once_the_service_is_back() {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(config(&shop)).await;
    shop.delivery.set_mode(Mode::Unavailable);
    for _ in 0..THRESHOLD {
        bff.query(COMPOSITE).await;
    }
    assert_eq!(circuit_state(&bff, "delivery").await, "OPEN");

    shop.delivery.set_mode(Mode::Up);
    let r = bff.query(COMPOSITE).await;
    assert_eq!(codes(&r), vec!["CIRCUIT_OPEN"; 3], "still cooling down");
    tokio::time::advance(COOL_DOWN).await;
    assert_eq!(circuit_state(&bff, "delivery").await, "HALF_OPEN");

    let r = bff.query(COMPOSITE).await;
    assert!(errors(&r).is_empty(), "{r:#}");
    assert_eq!(
        r["data"]["orders"][0]["delivery"]["deliveryAddress"],
        "Seoul 1"
    );
    assert_eq!(circuit_state(&bff, "delivery").await, "CLOSED");
}

#[tokio::test(start_paused = true)]
async fn a_failed_probe_opens_the_circuit_for_another_cool_down() {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(config(&shop)).await;
    shop.delivery.set_mode(Mode::Unavailable);
    for _ in 0..THRESHOLD {
        bff.query(COMPOSITE).await;
    }
    tokio::time::advance(COOL_DOWN).await;

    let r = bff.query(COMPOSITE).await;
    assert_eq!(codes(&r), vec!["UPSTREAM_UNAVAILABLE"; 3], "{r:#}");
    assert_eq!(circuit_state(&bff, "delivery").await, "OPEN");
}
