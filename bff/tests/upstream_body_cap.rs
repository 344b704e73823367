//! An upstream decides how long its answer is, not how much of it the BFF reads: past the
//! upstream's `max_body_bytes` the read stops, the connection is dropped, and the field
//! fails with UPSTREAM_INVALID.
//!
//! Real sockets: a product service on `127.0.0.1:0` whose catalogue page is an endless
//! chunked body; it counts what it managed to hand to its socket before the BFF hung up.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use common::shop::{Shop, ShopOptions};
use common::{codes, errors, eventually, TestBff};
use mall_bff::config::UpstreamOverride;
use mall_bff::upstream::Upstream;
use serde_json::json;

/// What the endless upstream sent, and whether the BFF closed the connection.
#[derive(Default)]
struct Sent {
    bytes: AtomicU64,
    dropped: AtomicBool,
}

/// Marks the body dropped (the connection closed) when the stream goes away.
struct Endless {
    sent: Arc<Sent>,
}

impl Drop for Endless {
    fn drop(&mut self) {
        self.sent.dropped.store(true, Ordering::SeqCst);
    }
}

const CHUNK: usize = 64 * 1024;

async fn endless_products(State((base, sent)): State<(String, Arc<Sent>)>, uri: Uri) -> Response {
    if uri.path() == "/" {
        return axum::Json(json!({"_links": {
            "products": {"href": format!("{base}/products{{?page,size,sort}}"), "templated": true}}}))
        .into_response();
    }
    // A JSON document that never ends: `{"_embedded": {"products": [` then spaces forever.
    let head = Bytes::from_static(br#"{"_embedded": {"products": ["#);
    let filler = Bytes::from(vec![b' '; CHUNK]);
    let guard = Endless { sent: sent.clone() };
    let body = futures::stream::iter(std::iter::once(head).chain(std::iter::repeat(filler))).map(
        move |chunk| {
            let _keep = &guard;
            guard
                .sent
                .bytes
                .fetch_add(chunk.len() as u64, Ordering::SeqCst);
            Ok::<_, std::convert::Infallible>(chunk)
        },
    );
    Response::builder()
        .header("content-type", "application/hal+json")
        .body(Body::from_stream(body))
        .expect("response")
}

use futures::StreamExt;

#[tokio::test]
async fn an_endless_upstream_answer_costs_at_most_the_cap() {
    let cap: usize = 256 * 1024;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let sent = Arc::new(Sent::default());
    let router = Router::new()
        .fallback(endless_products)
        .with_state((base.clone(), sent.clone()));
    tokio::spawn(async move { axum::serve(listener, router).await });

    let shop = Shop::start(ShopOptions::default()).await;
    let mut config = shop.config();
    *config.urls.get_mut(Upstream::Product) = base;
    config.resilience.upstreams.insert(
        Upstream::Product,
        UpstreamOverride {
            // Long enough that only the cap can end the read.
            timeout: Some(Duration::from_secs(60)),
            max_body_bytes: Some(cap),
            ..UpstreamOverride::default()
        },
    );
    let bff = TestBff::start(config).await;

    let r = bff
        .query("{ products(page: 0, size: 5) { items { id name } } }")
        .await;
    assert_eq!(codes(&r), vec!["UPSTREAM_INVALID"], "{r:#}");
    let message = errors(&r)[0]["message"]
        .as_str()
        .expect("message")
        .to_owned();
    assert!(message.contains("max_body_bytes"), "{message}");
    assert!(!message.contains("http://"), "no upstream URL: {message}");

    // The BFF hung up: the upstream's body is dropped and it stops sending.
    eventually("the upstream's connection is closed", || async {
        sent.dropped.load(Ordering::SeqCst).then_some(())
    })
    .await;
    let total = sent.bytes.load(Ordering::SeqCst);
    // What the BFF read is at most the cap; what the upstream handed to its socket is that
    // plus what the loopback's socket buffers held (a few MiB at most), one attempt only
    // (the same request would get the same answer, so it is not retried). Before the cap
    // the BFF read until its timeout: gigabytes.
    let slack = 16 * 1024 * 1024;
    assert!(
        total <= (cap + slack) as u64,
        "the upstream sent {total} bytes before the BFF hung up (cap {cap})"
    );
}

#[tokio::test]
async fn a_content_length_past_the_cap_is_refused_before_reading() {
    let shop = Shop::start(ShopOptions::default()).await;
    let mut config = shop.config();
    // The fake shop's catalogue page is a few hundred bytes: a cap below it refuses it.
    config.resilience.upstreams.insert(
        Upstream::Product,
        UpstreamOverride {
            max_body_bytes: Some(64),
            ..UpstreamOverride::default()
        },
    );
    let bff = TestBff::start(config).await;
    let r = bff
        .query("{ products(page: 0, size: 5) { items { id name } } }")
        .await;
    assert_eq!(codes(&r), vec!["UPSTREAM_INVALID"], "{r:#}");
    // Other upstreams keep the default cap and answer.
    let r = bff.query("{ orders { id } }").await;
    assert!(errors(&r).is_empty(), "{r:#}");
}
