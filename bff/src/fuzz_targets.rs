//! What the cargo-fuzz targets (the `fuzz/` crate, run by `cargo xtask fuzz`) check on the
//! bytes the BFF reads from outside, one function per target. Each function is the whole
//! property: it returns normally for any input and panics when a parser panics or an
//! invariant breaks. `tests/fuzz_regressions.rs` feeds every input kept under
//! `fuzz/regressions/<target>/` to the same function on the stable toolchain.
//!
//! - [`hal_document`]: an upstream's answer, read as the client and the model read it;
//! - [`link_template`]: a link's href, resolved and expanded as the client follows it;
//! - [`graphql_request`]: the GraphQL over HTTP envelope (POST body, GET query string,
//!   `Accept`);
//! - [`idempotency_key`]: the `idempotencyKey` argument, as the BFF passes it on.

use axum::http::{header, HeaderMap, HeaderValue};
use serde_json::Value;

use crate::gateway::order::key_header;
use crate::graphql_http::{is_query, read_get, read_post_body, MediaType};
use crate::model::{from_body, items_of, Delivery, MyPageRow, Order, Product};
use crate::upstream::hal::{self, Document, Link, Var};
use crate::upstream::Upstream;

/// The URL the fuzzed documents are taken to come from.
const BASE: &str = "http://127.0.0.1:8081/orders?page=0&size=20";

/// The variables the BFF expands link templates with.
fn vars(value: &str) -> Vec<(&'static str, Var)> {
    vec![
        ("customerId", Var::One(value.to_owned())),
        ("page", Var::One("0".into())),
        ("size", Var::One("1000".into())),
        (
            "ids",
            Var::List(value.split(',').map(str::to_owned).collect()),
        ),
    ]
}

/// An upstream's HAL document: its links, page block, embedded items as every model reads
/// them, and the whole document as each model. Nothing panics; every link expands or is
/// refused.
pub fn hal_document(data: &[u8]) {
    let Ok(doc) = Document::parse(data) else {
        return;
    };
    let links = doc.links(BASE);
    for (rel, link) in &links.0 {
        let _ = link.expand(&[]);
        let _ = link.expand(&vars("1"));
        let _ = link.has_var(rel);
    }
    let _ = doc.is_collection();
    let _ = doc.page();
    let orders = items_of::<Order>(Upstream::Order, &doc, "orders").unwrap_or_default();
    let deliveries =
        items_of::<Delivery>(Upstream::Delivery, &doc, "deliveries").unwrap_or_default();
    let products = items_of::<Product>(Upstream::Product, &doc, "products").unwrap_or_default();
    let rows = items_of::<MyPageRow>(Upstream::Mypage, &doc, "myPages").unwrap_or_default();
    let orders = orders
        .into_iter()
        .chain(from_body(Upstream::Order, data).ok());
    for order in orders {
        let _ = order.status();
        let _ = order.link("self");
        let _ = order.link("product");
        let _ = order.link("delivery");
    }
    let deliveries = deliveries
        .into_iter()
        .chain(from_body(Upstream::Delivery, data).ok());
    for delivery in deliveries {
        let _ = delivery.status();
    }
    let _ = (products, from_body::<Product>(Upstream::Product, data));
    let rows = rows
        .into_iter()
        .chain(from_body(Upstream::Mypage, data).ok());
    for row in rows {
        let _ = row.order_status();
        let _ = row.delivery_status();
    }
}

/// A link's href (the input's first line) and a variable's value (the rest). Resolving it
/// keeps an absolute href as it is; a link that is not templated expands to its href; a
/// templated one expands, when it does, to a URI with no expression left.
pub fn link_template(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (href, value) = text.split_once('\n').unwrap_or((text, "1"));
    let resolved = hal::resolve(BASE, href);
    if href.contains("://") {
        assert_eq!(resolved, href, "an absolute href is kept");
    }
    let plain = Link {
        href: resolved.clone(),
        templated: false,
    };
    assert_eq!(
        plain.expand(&vars(value)).as_deref(),
        Ok(resolved.as_str()),
        "a plain link is its href"
    );
    let template = Link {
        href: resolved,
        templated: true,
    };
    let _ = template.has_var("customerId");
    if let Ok(uri) = template.expand(&vars(value)) {
        assert!(
            !uri.contains(['{', '}']),
            "an expanded template holds no expression: {uri:?}"
        );
    }
}

/// A GraphQL request as the three parts of the envelope read it: the bytes as a POST body,
/// as a GET query string and as an `Accept` header. A POST body that is accepted carries its
/// `query` unchanged; a GET request that is accepted runs a query.
pub fn graphql_request(data: &[u8]) {
    if let Ok(request) = read_post_body(data) {
        let body: Value = serde_json::from_slice(data).expect("an accepted body is JSON");
        assert_eq!(
            body.get("query").and_then(Value::as_str),
            Some(request.query.as_str()),
            "the request runs the body's query"
        );
        let _ = is_query(&request);
    }
    if let Ok(query_string) = std::str::from_utf8(data) {
        if let Ok(request) = read_get(query_string) {
            assert!(is_query(&request), "a GET request runs a query only");
        }
    }
    if let Ok(accept) = HeaderValue::from_bytes(data) {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, accept);
        let _ = MediaType::negotiate(&headers);
    }
}

/// The `idempotencyKey` argument as the BFF passes it on: `Some(header bytes)` when it is
/// accepted (the caller then checks the order service accepts the same key unchanged).
pub fn idempotency_key(data: &[u8]) -> Option<Vec<u8>> {
    let key = std::str::from_utf8(data).ok()?;
    let headers = key_header(Some(key)).ok()?;
    let value = headers
        .get("idempotency-key")
        .expect("an accepted key is sent as Idempotency-Key");
    Some(value.as_bytes().to_vec())
}
