//! What one WebSocket client can hold is bounded: a connection that never sends
//! `connection_init` is closed at the init deadline however many `pong`s it sends, a
//! connection runs at most `max_subscriptions_per_connection` operations at a time, a
//! signed-in session holds at most `max_connections_per_session` connections (one more is
//! closed with 1008 and a reason that names the setting), and the BFF holds at most
//! `max_connections` connections.
//!
//! Real sockets: the BFF's router served on `127.0.0.1:0`, a fake shop behind it, and a
//! graphql-transport-ws client speaking over tokio-tungstenite.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::shop::{customer_of, Shop, ShopOptions};
use common::ws::{connect, initialised, next_message, send, Ws};
use common::TestBff;
use futures::stream::{self, BoxStream};
use futures::{SinkExt, StreamExt};
use mall_bff::live::{LiveFeed, LiveItem};
use mall_bff::BffConfig;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// A feed that never changes: a subscription stays open after its snapshot.
struct QuietFeed;

impl LiveFeed for QuietFeed {
    fn subscribe(&self, _customer_id: &str) -> BoxStream<'static, LiveItem> {
        stream::pending().boxed()
    }
}

async fn start(config: impl FnOnce(&mut BffConfig)) -> (Shop, TestBff, SocketAddr) {
    let shop = Shop::start(ShopOptions::default()).await;
    let mut c = shop.config();
    config(&mut c);
    let mut bff = TestBff::start(c).await;
    bff.bff = bff.bff.clone().with_live_feed(Arc::new(QuietFeed));
    let addr = bff.serve().await;
    (shop, bff, addr)
}

fn subscribe(id: &str) -> Value {
    json!({"id": id, "type": "subscribe", "payload": {
        "query": "subscription($c: String!) { myPage(customerId: $c) { kind rows { orderId } } }",
        "variables": {"c": customer_of(1)}}})
}

/// Subscribes and waits for the snapshot (`next` for `id`).
async fn subscribed(ws: &mut Ws, id: &str) {
    send(ws, subscribe(id)).await;
    let m = next_message(ws).await;
    assert_eq!(
        (m["type"].as_str(), m["id"].as_str()),
        (Some("next"), Some(id)),
        "{m:#}"
    );
    assert!(m["payload"]["errors"].is_null(), "{m:#}");
}

#[tokio::test]
async fn a_socket_that_sends_pongs_but_never_initialises_is_closed_at_the_init_deadline() {
    let deadline = Duration::from_millis(400);
    let (_shop, _bff, addr) = start(|c| {
        c.subscriptions.init_timeout = deadline;
        c.subscriptions.ping_interval = Duration::from_secs(600);
    })
    .await;
    // Taken before the handshake: the server's deadline starts at its end.
    let opened = std::time::Instant::now();
    let mut ws = connect(addr).await.expect("WebSocket handshake");
    let give_up = tokio::time::sleep(Duration::from_secs(5));
    tokio::pin!(give_up);
    // A pong well inside the idle timeout, again and again (the repro, faster).
    let mut pongs = tokio::time::interval(Duration::from_millis(50));
    let frame = loop {
        tokio::select! {
            _ = pongs.tick() => {
                if ws.send(Message::Text(json!({"type": "pong"}).to_string().into())).await.is_err() {
                    // The server closed; the close frame is still to be read.
                    pongs.reset_after(Duration::from_secs(600));
                }
            }
            m = ws.next() => match m {
                Some(Ok(Message::Close(frame))) => break frame,
                Some(Ok(_)) => {}
                other => panic!("expected a close frame, got {other:?}"),
            },
            _ = &mut give_up => {
                panic!("still open {:?} after a {deadline:?} init deadline", opened.elapsed())
            }
        }
    };
    let frame = frame.expect("a close frame with a code");
    assert_eq!(frame.code, CloseCode::from(4408));
    assert_eq!(frame.reason.as_str(), "Connection initialisation timeout");
    assert!(opened.elapsed() >= deadline, "closed before the deadline");
}

#[tokio::test]
async fn an_initialised_connection_outlives_the_init_deadline() {
    let (_shop, bff, addr) = start(|c| {
        c.subscriptions.init_timeout = Duration::from_millis(200);
    })
    .await;
    let mut ws = initialised(addr, bff.init_payload()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    subscribed(&mut ws, "1").await;
}

/// An idle connection keeps a small read buffer (half a kilobyte); a client message longer
/// than that is still read whole.
#[tokio::test]
async fn messages_longer_than_the_read_buffer_are_read_whole() {
    let (_shop, bff, addr) = start(|_| {}).await;
    let mut payload = bff.init_payload();
    payload["client"] = json!("x".repeat(6_000));
    let mut ws = initialised(addr, payload).await;
    let padding = format!("# {}\n", "y".repeat(4_000));
    send(
        &mut ws,
        json!({"id": "1", "type": "subscribe", "payload": {
            "query": format!("{padding}subscription($c: String!) {{ myPage(customerId: $c) {{ kind }} }}"),
            "variables": {"c": customer_of(1)}}}),
    )
    .await;
    let m = next_message(&mut ws).await;
    assert_eq!(m["type"], "next", "{m:#}");
    assert_eq!(m["payload"]["data"]["myPage"]["kind"], "SNAPSHOT", "{m:#}");
}

#[tokio::test]
async fn the_21st_subscription_is_refused_and_the_connection_stays_open() {
    let (_shop, bff, addr) = start(|_| {}).await;
    assert_eq!(
        BffConfig::default()
            .subscriptions
            .max_subscriptions_per_connection,
        20
    );
    let mut ws = initialised(addr, bff.init_payload()).await;
    for i in 1..=20 {
        subscribed(&mut ws, &i.to_string()).await;
    }
    send(&mut ws, subscribe("21")).await;
    let refused = next_message(&mut ws).await;
    assert_eq!(refused["type"], "error", "{refused:#}");
    assert_eq!(refused["id"], "21", "{refused:#}");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"], "TOO_MANY_SUBSCRIPTIONS",
        "{refused:#}"
    );
    let message = refused["payload"][0]["message"].as_str().expect("message");
    assert!(
        message.contains("max_subscriptions_per_connection"),
        "{message}"
    );

    // Still open: completing one frees its slot for another.
    send(&mut ws, json!({"id": "3", "type": "complete"})).await;
    let done = next_message(&mut ws).await;
    assert_eq!(
        (done["type"].as_str(), done["id"].as_str()),
        (Some("complete"), Some("3"))
    );
    subscribed(&mut ws, "22").await;
    send(&mut ws, subscribe("23")).await;
    let refused = next_message(&mut ws).await;
    assert_eq!(
        (refused["type"].as_str(), refused["id"].as_str()),
        (Some("error"), Some("23"))
    );
}

#[tokio::test]
async fn past_the_connection_cap_the_upgrade_is_refused_with_503() {
    let (_shop, bff, addr) = start(|c| c.subscriptions.max_connections = 2).await;
    let first = initialised(addr, bff.init_payload()).await;
    let _second = initialised(addr, bff.init_payload()).await;
    match connect(addr).await {
        Err(WsError::Http(response)) => {
            assert_eq!(response.status(), 503);
            let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default())
                .into_owned();
            assert!(body.contains("max_connections"), "{body}");
        }
        Ok(_) => panic!("a third connection was accepted past a cap of 2"),
        Err(e) => panic!("expected a 503, got {e}"),
    }
    // A closed connection gives its slot back.
    drop(first);
    common::eventually("a slot is free again", || async {
        connect(addr).await.ok().map(|_| ())
    })
    .await;
}

/// Signs a new account up through the BFF; its session cookie (`mall_session=…`).
async fn signed_up(addr: SocketAddr, email: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/auth/signup"))
        .json(&json!({"email": email, "name": "Jay", "address": "Seoul",
                      "password": "correct horse battery staple"}))
        .send()
        .await
        .expect("the BFF answers");
    assert_eq!(r.status(), 201, "signed up");
    r.headers()["set-cookie"]
        .to_str()
        .expect("text")
        .split(';')
        .next()
        .expect("the cookie's pair")
        .to_owned()
}

/// A socket opened with the session `cookie` that sent `connection_init`: `Ok` once
/// acknowledged, else the close frame it got instead.
async fn by_cookie(
    addr: SocketAddr,
    cookie: &str,
) -> Result<Ws, Option<tokio_tungstenite::tungstenite::protocol::CloseFrame>> {
    let mut request = common::ws::request(addr);
    let headers = request.headers_mut();
    headers.insert("cookie", cookie.parse().expect("header"));
    headers.insert("origin", format!("http://{addr}").parse().expect("header"));
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("WebSocket handshake");
    send(&mut ws, json!({"type": "connection_init", "payload": {}})).await;
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("an answer to connection_init within 5 s");
        match m {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).expect("JSON");
                if v["type"] == "connection_ack" {
                    return Ok(ws);
                }
            }
            Some(Ok(Message::Close(frame))) => return Err(frame),
            Some(Ok(_)) => {}
            other => panic!("expected an ack or a close, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_sessions_connection_past_its_cap_is_closed_with_a_reason() {
    let (_shop, _bff, addr) = start(|c| c.subscriptions.max_connections_per_session = 2).await;
    let mine = signed_up(addr, "many-tabs@example.com").await;
    let first = by_cookie(addr, &mine).await.expect("the first connection");
    let _second = by_cookie(addr, &mine).await.expect("the second connection");
    let frame = by_cookie(addr, &mine)
        .await
        .expect_err("a third connection of the session is refused")
        .expect("a close frame with a code");
    assert_eq!(frame.code, CloseCode::Policy, "1008: {frame:?}");
    assert!(
        frame
            .reason
            .as_str()
            .contains("max_connections_per_session"),
        "{frame:?}"
    );

    // Another person's session has its own connections.
    let theirs = signed_up(addr, "one-tab@example.com").await;
    let _other = by_cookie(addr, &theirs)
        .await
        .expect("another session is served");

    // A closed connection gives its session's slot back.
    drop(first);
    common::eventually("the session's slot is free again", || async {
        by_cookie(addr, &mine).await.ok().map(|_| ())
    })
    .await;
}
