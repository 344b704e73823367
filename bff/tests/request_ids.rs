//! Request ids over a real socket: every answer carries `x-request-id` (the client's own
//! when well formed, else a new one), GraphQL errors carry it as `extensions.requestId` so a
//! person can quote it, and the log lines written while the request was handled carry it
//! too, so the operator finds what happened: those of its DataLoader batches (run on tasks
//! of their own) included. A WebSocket connection is known by its upgrade's id, which every
//! GraphQL error sent on it carries.

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use common::shop::{Shop, ShopOptions};
use common::ws::{self, next_message, send};
use common::TestBff;
use serde_json::{json, Value};

async fn start() -> (Shop, TestBff, SocketAddr) {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(shop.config()).await;
    let addr = bff.serve().await;
    (shop, bff, addr)
}

fn id_of(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-request-id")
        .expect("x-request-id on the answer")
        .to_str()
        .expect("text")
        .to_owned()
}

/// A generated id: a UUID (8-4-4-4-12 hexadecimal digits).
fn is_uuid(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[tokio::test]
async fn every_answer_carries_a_request_id_of_its_own() {
    let (_shop, _bff, addr) = start().await;
    let client = reqwest::Client::new();
    let mut seen = Vec::new();
    for path in [
        "/healthz",
        "/healthz",
        "/no-such-file",
        "/graphql/assets/nothing.js",
    ] {
        let r = client
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .expect("answer");
        let id = id_of(&r);
        assert!(is_uuid(&id), "{path}: {id}");
        seen.push(id);
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 4, "each request has its own id");
}

#[tokio::test]
async fn a_well_formed_id_is_kept_and_a_malformed_one_replaced() {
    let (_shop, _bff, addr) = start().await;
    let client = reqwest::Client::new();
    let kept = client
        .get(format!("http://{addr}/healthz"))
        .header("x-request-id", "4bf92f3577b34da6a3ce929d0e0e4736")
        .send()
        .await
        .expect("answer");
    assert_eq!(id_of(&kept), "4bf92f3577b34da6a3ce929d0e0e4736");
    for malformed in ["a b", "<script>alert(1)</script>", &"x".repeat(500)] {
        let r = client
            .get(format!("http://{addr}/healthz"))
            .header("x-request-id", malformed)
            .send()
            .await
            .expect("answer");
        assert!(is_uuid(&id_of(&r)), "{malformed} was replaced");
    }
}

/// Log lines written while the tests run.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

/// The log lines of this test binary: one subscriber for every test (each looks for its
/// own request id).
fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let writer = logs.clone();
        tracing::subscriber::set_global_default(
            tracing_subscriber::fmt()
                .with_ansi(false)
                .with_max_level(tracing::Level::INFO)
                .with_writer(move || writer.clone())
                .finish(),
        )
        .expect("the only subscriber of this test binary");
        logs
    })
}

#[tokio::test]
async fn graphql_errors_and_the_log_lines_carry_the_request_id() {
    let logs = logs();
    let (mut shop, bff, addr) = start().await;
    shop.mypage.stop().await;
    let client = reqwest::Client::new();
    let r = client
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(bff.token().expect("a signed-in caller"))
        .header("x-request-id", "quote-me-42")
        .json(&json!({"query": "{ myPage(customerId: \"never-seen@example.com\") { orderId } }"}))
        .send()
        .await
        .expect("answer");
    assert_eq!(id_of(&r), "quote-me-42");
    let body: Value = r.json().await.expect("JSON");
    let errors = body["errors"].as_array().expect("errors");
    assert!(!errors.is_empty(), "{body}");
    for e in errors {
        assert_eq!(e["extensions"]["requestId"], "quote-me-42", "{e}");
    }
    let logged = logs.text();
    let line = logged
        .lines()
        .find(|l| l.contains("quote-me-42"))
        .unwrap_or_else(|| panic!("no log line carries the id:\n{logged}"));
    assert!(line.contains("mypage"), "{line}");

    // A request refused before anything runs carries its (generated) id as well.
    let refused = client
        .post(format!("http://{addr}/graphql"))
        .header("content-type", "text/plain")
        .body("{ products { items { id } } }")
        .send()
        .await
        .expect("answer");
    assert_eq!(refused.status(), 415);
    let id = id_of(&refused);
    let body: Value = refused.json().await.expect("JSON");
    assert_eq!(body["errors"][0]["extensions"]["requestId"], id.as_str());
}

#[tokio::test]
async fn the_log_lines_of_a_dataloader_batch_carry_the_request_id() {
    let logs = logs();
    let (mut shop, bff, addr) = start().await;
    shop.product.stop().await;
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(bff.token().expect("a signed-in caller"))
        .header("x-request-id", "batch-of-products-7")
        .json(&json!({"query": "{ orders { id product { name } } }"}))
        .send()
        .await
        .expect("answer");
    let body: Value = r.json().await.expect("JSON");
    // The orders came; their products could not (the product service is down).
    assert!(body["data"]["orders"].is_array(), "{body}");
    assert!(body["data"]["orders"][0]["product"].is_null(), "{body}");
    // The products are read in one batch, on the DataLoader's own task: the failure it
    // logged there carries the request's id.
    let logged = logs.text();
    let failures: Vec<&str> = logged
        .lines()
        .filter(|l| l.contains("upstream=product") && l.contains("upstream call failed"))
        .collect();
    assert!(
        !failures.is_empty(),
        "the failed batch was logged:\n{logged}"
    );
    for line in failures {
        assert!(line.contains("batch-of-products-7"), "{line}");
    }
}

/// The GraphQL errors of a `next` (`payload.errors`) or an `error` message (`payload`).
fn errors_of(message: &Value) -> Vec<Value> {
    let errors = match message["type"].as_str() {
        Some("next") => &message["payload"]["errors"],
        _ => &message["payload"],
    };
    errors.as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn errors_sent_on_a_websocket_carry_the_connections_request_id() {
    let (_shop, bff, addr) = start().await;
    let mut request = ws::request(addr);
    request
        .headers_mut()
        .insert("x-request-id", "socket-quote-me-3".parse().expect("header"));
    let (mut ws, upgraded) = tokio_tungstenite::connect_async(request)
        .await
        .expect("WebSocket handshake");
    assert_eq!(upgraded.headers()["x-request-id"], "socket-quote-me-3");
    send(
        &mut ws,
        json!({"type": "connection_init", "payload": bff.init_payload()}),
    )
    .await;
    assert_eq!(next_message(&mut ws).await["type"], "connection_ack");

    // Refused before it runs (it does not validate).
    send(
        &mut ws,
        json!({"id": "1", "type": "subscribe", "payload": {"query": "{ noSuchField }"}}),
    )
    .await;
    let refused = next_message(&mut ws).await;
    let errors = errors_of(&refused);
    assert!(!errors.is_empty(), "{refused:#}");
    for e in errors {
        assert_eq!(e["extensions"]["requestId"], "socket-quote-me-3", "{e}");
        // With the stable code an HTTP answer gives it.
        assert_eq!(e["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED", "{e}");
    }

    // Failed while running (this BFF has no live feed): a `next` with errors.
    send(
        &mut ws,
        json!({"id": "2", "type": "subscribe", "payload": {"query":
            "subscription { myPage(customerId: \"1@uengine.org\") { kind } }"}}),
    )
    .await;
    let failed = loop {
        let m = next_message(&mut ws).await;
        if m["id"] == "2" && m["type"] != "complete" {
            break m;
        }
    };
    let errors = errors_of(&failed);
    assert!(!errors.is_empty(), "{failed:#}");
    for e in errors {
        assert_eq!(e["extensions"]["requestId"], "socket-quote-me-3", "{e}");
    }
}
