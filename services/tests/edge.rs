//! The services' edge under hostile input: a wrong method is a 405 with `Allow`, an
//! oversized body a 413, whether it announces its length or not, both in the one problem
//! shape every other 4xx has; text fields refuse bidirectional overrides and zero-width
//! characters as they refuse control characters.

mod common;

use common::{start, start_in};
use mall_services::Role;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Checks the RFC 9457 shape every error of the services has.
fn assert_problem(status: u16, content_type: &str, body: &str, what: &str) -> Value {
    assert_eq!(content_type, "application/problem+json", "{what}: {body}");
    let p: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"));
    assert_eq!(p["status"], status, "{what}");
    assert_eq!(p["type"], "about:blank", "{what}");
    assert!(p["title"].is_string(), "{what}");
    assert!(
        !p["detail"].as_str().unwrap_or_default().is_empty(),
        "{what}"
    );
    p
}

#[tokio::test]
async fn a_wrong_method_is_a_405_with_allow() {
    let mall = start().await;
    let u = &mall.system.urls;
    for (method, url, allow) in [
        ("PUT", format!("{}/orders", u[Role::Order]), "GET,HEAD,POST"),
        (
            "POST",
            format!("{}/orders/1", u[Role::Order]),
            "GET,HEAD,DELETE",
        ),
        (
            "DELETE",
            format!("{}/deliveries/1", u[Role::Delivery]),
            "GET,HEAD,PATCH",
        ),
        (
            "PATCH",
            format!("{}/products", u[Role::Product]),
            "GET,HEAD,POST",
        ),
        ("POST", format!("{}/myPages", u[Role::Mypage]), "GET,HEAD"),
    ] {
        let r = mall
            .http
            .request(method.parse().expect("method"), &url)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 405, "{method} {url}");
        assert_eq!(r.headers()["allow"], allow, "{method} {url}");
        let ct = r.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .to_owned();
        let p = assert_problem(405, &ct, &r.text().await.expect("body"), &url);
        assert!(p["detail"].as_str().expect("detail").contains("Allow"));
    }
    mall.system.stop().await;
}

/// Sends `head` then `body` on a raw connection and reads the whole answer.
async fn raw(addr: &str, head: String, body: &[u8]) -> (u16, String, String) {
    let host = addr.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(host).await.expect("connect");
    s.write_all(head.as_bytes()).await.expect("head");
    // The server may answer and close before reading it all; that is its right.
    let _ = s.write_all(body).await;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response");
    let status = head[9..12].parse().expect("status");
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, content_type, body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

#[tokio::test]
async fn an_oversized_body_is_a_413_problem_with_or_without_content_length() {
    let mall = start().await;
    let base = mall.system.urls[Role::Order].to_owned();
    let big = format!("{{\"customerName\":\"{}\"}}", "x".repeat(200_000));

    let head = format!(
        "POST /orders HTTP/1.1\r\nhost: mall\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        big.len()
    );
    let (status, ct, body) = raw(&base, head, big.as_bytes()).await;
    assert_eq!(status, 413, "with Content-Length");
    let p = assert_problem(413, &ct, &body, "with Content-Length");
    assert!(p["detail"].as_str().expect("detail").contains("64 KiB"));

    let mut chunked = Vec::new();
    for chunk in big.as_bytes().chunks(8192) {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let head = "POST /orders HTTP/1.1\r\nhost: mall\r\ncontent-type: application/json\r\n\
                transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
        .to_owned();
    let (status, ct, body) = raw(&base, head, &chunked).await;
    assert_eq!(status, 413, "chunked");
    let p = assert_problem(413, &ct, &body, "chunked");
    assert!(p["detail"].as_str().expect("detail").contains("64 KiB"));
    mall.system.stop().await;
}

#[tokio::test]
async fn every_client_error_has_the_problem_shape() {
    let mall = start().await;
    let u = &mall.system.urls;
    for (method, url, body, status) in [
        // axum's own path rejection (not UTF-8 once decoded)
        ("GET", format!("{}/orders/%FF", u[Role::Order]), None, 400),
        ("GET", format!("{}/nowhere", u[Role::Product]), None, 404),
        (
            "GET",
            format!("{}/products/search/nope", u[Role::Product]),
            None,
            404,
        ),
        (
            "POST",
            format!("{}/orders", u[Role::Order]),
            Some(("text/plain", "hello")),
            415,
        ),
        (
            "PATCH",
            format!("{}/deliveries/1", u[Role::Delivery]),
            Some(("application/json", "[")),
            400,
        ),
        ("TEAPOT", format!("{}/orders", u[Role::Order]), None, 405),
    ] {
        let mut req = mall.http.request(method.parse().expect("method"), &url);
        if let Some((ct, b)) = body {
            req = req.header("content-type", ct).body(b);
        }
        let r = req.send().await.expect("request");
        assert_eq!(r.status().as_u16(), status, "{method} {url}");
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().expect("ascii").to_owned())
            .unwrap_or_default();
        assert_problem(status, &ct, &r.text().await.expect("body"), &url);
    }
    mall.system.stop().await;
}

#[tokio::test]
async fn text_fields_refuse_bidi_overrides_and_zero_width_characters() {
    let mall = start().await;
    let u = mall.system.urls.clone();
    let before = mall.snapshot().await;
    for sneaky in [
        "Jay\u{202E}gnp.exe",   // right-to-left override
        "Jay\u{2066}x\u{2069}", // isolate
        "J\u{200B}ay",          // zero-width space
        "Ja\u{200D}y",          // zero-width joiner
        "\u{FEFF}Jay",          // byte-order mark
        "Jay\u{200F}",          // right-to-left mark
    ] {
        for field in ["customerName", "customerAddr", "customerId"] {
            let mut order = json!({"productId": 1, "quantity": 1, "customerId": "c",
                                   "customerName": "n", "customerAddr": "a"});
            order[field] = json!(sneaky);
            let r = mall
                .http
                .post(format!("{}/orders", u[Role::Order]))
                .json(&order)
                .send()
                .await
                .expect("request");
            assert_eq!(r.status(), 400, "{field} = {sneaky:?}");
            let ct = r.headers()["content-type"]
                .to_str()
                .expect("ascii")
                .to_owned();
            let p = assert_problem(400, &ct, &r.text().await.expect("body"), field);
            let detail = p["detail"].as_str().expect("detail");
            assert!(
                detail.contains(field) && detail.contains("invisible"),
                "{detail}"
            );
        }
        let r = mall
            .http
            .post(format!("{}/products", u[Role::Product]))
            .json(&json!({"name": sneaky, "price": 1}))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 400, "product name {sneaky:?}");
        let search = url::form_urlencoded::byte_serialize(sneaky.as_bytes()).collect::<String>();
        let (status, _) = mall
            .get(&format!(
                "{}/orders/search/findByCustomerId?customerId={search}",
                u[Role::Order]
            ))
            .await;
        assert_eq!(status, 400, "search by {sneaky:?}");
    }
    // Scripts that are written right to left stay welcome.
    let r = mall
        .http
        .post(format!("{}/products", u[Role::Product]))
        .json(&json!({"name": "كاميرا", "price": 1}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 201, "Arabic text is fine");
    let after = mall.snapshot().await;
    assert_eq!(before["docs"][0], after["docs"][0], "no order was placed");
    mall.system.stop().await;
}

#[tokio::test]
async fn not_ready_is_a_problem_that_keeps_its_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mall = start_in(dir, |c| c.paused_consumers = vec![Role::Delivery]).await;
    let r = mall
        .http
        .get(format!("{}/readyz", mall.system.urls[Role::Delivery]))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 503);
    let ct = r.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let p = assert_problem(503, &ct, &r.text().await.expect("body"), "readyz");
    assert!(
        p["detail"]
            .as_str()
            .expect("detail")
            .contains("catching up"),
        "{p}"
    );
    mall.system.stop().await;
}
