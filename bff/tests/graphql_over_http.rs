//! GraphQL over HTTP as the specification says, through the BFF's router: the answer's
//! media type follows `Accept`, GET runs queries (never mutations), malformed requests
//! are a 4xx that says what to send, and a request that cannot be executed has no `data`.
//! The GraphQL Foundation's own audits (`graphql-http`) run against the real binary in the
//! e2e suite (`e2e/graphql-over-http.spec.ts`); these tests pin the same rules in-process,
//! together with the standard introspection query under the default limits.

mod common;

use axum::body::Body;
use common::shop::{Shop, ShopOptions};
use common::TestBff;
use http::{header, Request, StatusCode};
use serde_json::{json, Value};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// The router's answer: status, content type, body as JSON.
async fn send(bff: &TestBff, mut request: Request<Body>) -> (StatusCode, String, Value) {
    if let Some(token) = bff.token() {
        request.headers_mut().insert(
            header::AUTHORIZATION,
            format!("Bearer {token}").parse().expect("header"),
        );
    }
    let response = tower::ServiceExt::oneshot(bff.bff.clone().router(), request)
        .await
        .expect("the router is infallible");
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let allow = response.headers().get(header::ALLOW).cloned();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let mut value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let (Some(allow), Value::Object(map)) = (allow, &mut value) {
        map.insert("(allow)".into(), json!(allow.to_str().unwrap_or("")));
    }
    (status, content_type, value)
}

fn post(body: Value, accept: Option<&str>) -> Request<Body> {
    let mut r = Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
    if let Some(a) = accept {
        r = r.header(header::ACCEPT, a);
    }
    r.body(Body::from(body.to_string())).expect("request")
}

fn get(query_string: &str, accept: &str) -> Request<Body> {
    Request::get(format!("/graphql?{query_string}"))
        .header(header::ACCEPT, accept)
        .body(Body::empty())
        .expect("request")
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn shop_and_bff() -> (Shop, TestBff) {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(shop.config()).await;
    (shop, bff)
}

#[tokio::test]
async fn the_answer_is_in_the_media_type_the_client_accepts() {
    let (_shop, bff) = shop_and_bff().await;
    let query = json!({"query": "{ orders { id } }"});
    for (accept, expected) in [
        (Some("application/json"), "application/json"),
        (Some("*/*"), "application/json"),
        (None, "application/json"),
        (Some(GRAPHQL_RESPONSE), GRAPHQL_RESPONSE),
        (
            Some("application/graphql-response+json, application/json;q=0.9"),
            GRAPHQL_RESPONSE,
        ),
    ] {
        let (status, content_type, r) = send(&bff, post(query.clone(), accept)).await;
        assert_eq!(status, StatusCode::OK, "{accept:?}: {r}");
        assert!(
            content_type.starts_with(expected) && content_type.contains("charset=utf-8"),
            "{accept:?} -> {content_type}"
        );
        assert_eq!(r["data"]["orders"].as_array().map(Vec::len), Some(3));
    }
    let (status, _, r) = send(&bff, post(query, Some("text/html"))).await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE, "{r}");
    assert_eq!(r["errors"][0]["extensions"]["code"], "NOT_ACCEPTABLE");
}

#[tokio::test]
async fn get_runs_queries_with_their_variables() {
    let (_shop, bff) = shop_and_bff().await;
    let q = encode("query One($id: Int!) { order(orderId: $id) { id productName } }");
    let v = encode(r#"{"id": 2}"#);
    let (status, content_type, r) = send(
        &bff,
        get(
            &format!("query={q}&variables={v}&operationName=One"),
            GRAPHQL_RESPONSE,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert!(content_type.starts_with(GRAPHQL_RESPONSE));
    assert_eq!(r["data"]["order"]["id"], json!(2), "{r}");
}

#[tokio::test]
async fn a_mutation_over_get_is_refused_and_changes_nothing() {
    let (shop, bff) = shop_and_bff().await;
    shop.clear_hits();
    let q = encode("mutation { cancelOrder(orderId: 1) { id } }");
    let (status, _, r) = send(&bff, get(&format!("query={q}"), "application/json")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{r}");
    assert_eq!(r["(allow)"], "POST", "{r}");
    assert_eq!(r["errors"][0]["extensions"]["code"], "METHOD_NOT_ALLOWED");
    assert!(
        shop.all().iter().all(|u| u.hits().is_empty()),
        "no upstream was called"
    );
}

#[tokio::test]
async fn malformed_requests_are_a_400_that_says_what_to_send() {
    let (shop, bff) = shop_and_bff().await;
    shop.clear_hits();
    for (body, what) in [
        (json!({}), "query"),
        (json!({"query": 1}), "query"),
        (
            json!({"query": "{ orders { id } }", "variables": "x"}),
            "variables",
        ),
        (
            json!({"query": "{ orders { id } }", "operationName": false}),
            "operationName",
        ),
        (
            json!({"query": "{ orders { id } }", "extensions": ["x"]}),
            "extensions",
        ),
        (json!([{"query": "{ orders { id } }"}]), "object"),
    ] {
        for accept in ["application/json", GRAPHQL_RESPONSE] {
            let (status, _, r) = send(&bff, post(body.clone(), Some(accept))).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body} as {accept}: {r}");
            assert_eq!(r["errors"][0]["extensions"]["code"], "BAD_REQUEST");
            let message = r["errors"][0]["message"].as_str().unwrap_or("");
            assert!(message.contains(what), "{message}");
            assert!(r.get("data").is_none(), "{r}");
        }
    }
    assert!(
        shop.all().iter().all(|u| u.hits().is_empty()),
        "no upstream was called"
    );
}

#[tokio::test]
async fn a_post_that_is_not_json_runs_nothing() {
    // A cross-site HTML form or a `text/plain` fetch cannot set `application/json`
    // without a CORS preflight: such a POST is refused before anything runs.
    let (shop, bff) = shop_and_bff().await;
    shop.clear_hits();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut r = Request::post("/graphql");
        if let Some(t) = content_type {
            r = r.header(header::CONTENT_TYPE, t);
        }
        let body = json!({"query": "mutation { cancelOrder(orderId: 1) { id } }"}).to_string();
        let (status, _, r) = send(&bff, r.body(Body::from(body)).expect("request")).await;
        assert_eq!(
            status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}: {r}"
        );
        assert_eq!(
            r["errors"][0]["extensions"]["code"],
            "UNSUPPORTED_MEDIA_TYPE"
        );
    }
    assert!(
        shop.all().iter().all(|u| u.hits().is_empty()),
        "no upstream was called"
    );
}

#[tokio::test]
async fn a_request_that_cannot_be_executed_has_no_data() {
    let (_shop, bff) = shop_and_bff().await;
    for (query, code) in [
        ("{ orders { id ", "GRAPHQL_PARSE_FAILED"),
        ("{ orders { nope } }", "GRAPHQL_VALIDATION_FAILED"),
        (
            "query($id: Int!) { order(orderId: $id) { id } }",
            "BAD_USER_INPUT",
        ),
    ] {
        let (status, _, r) =
            send(&bff, post(json!({"query": query}), Some(GRAPHQL_RESPONSE))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {r}");
        assert!(
            r.get("data").is_none() && r["errors"][0]["message"].is_string(),
            "{r}"
        );
        assert_eq!(r["errors"][0]["extensions"]["code"], code, "{r}");
        // Legacy clients asking for application/json get a 200, as the specification keeps.
        let (status, _, r) = send(
            &bff,
            post(json!({"query": query}), Some("application/json")),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{query}: {r}");
        assert!(r.get("data").is_none(), "{r}");
    }
}

const INTROSPECTION: &str = include_str!("fixtures/introspection.graphql");

#[tokio::test]
async fn the_standard_introspection_query_is_answered_under_the_default_limits() {
    let (_shop, bff) = shop_and_bff().await;
    let (status, _, r) = send(&bff, post(json!({"query": INTROSPECTION}), None)).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert!(r.get("errors").is_none(), "{r}");
    assert_eq!(r["data"]["__schema"]["queryType"]["name"], "Query");
    let types = r["data"]["__schema"]["types"].as_array().expect("types");
    assert!(
        types.iter().any(|t| t["name"] == "Order"),
        "the shop's types are there"
    );
    // The limit still holds for the caller's own selections.
    let mut deep = String::from("id");
    for _ in 0..11 {
        deep = format!("orders {{ {deep} }}");
    }
    let r = bff.query(&format!("{{ {deep} }}")).await;
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("too deep"),
        "{r}"
    );
}

#[tokio::test]
async fn introspection_can_be_switched_off() {
    let shop = Shop::start(ShopOptions::default()).await;
    let mut config = shop.config();
    config.limits.introspection = false;
    let bff = TestBff::start(config).await;
    let r = bff.query("{ __schema { queryType { name } } }").await;
    let message = r["errors"][0]["message"].as_str().unwrap_or("");
    assert!(message.contains("introspection is switched off"), "{r}");
    assert!(r["data"].is_null(), "{r}");
    let r = bff.query("{ orders { __typename } }").await;
    assert_eq!(r["data"]["orders"][0]["__typename"], "Order", "{r}");
}

/// The specification's ordering: a response's fields come in the order the query asked
/// for them (not sorted), so a client reading the text sees what it wrote.
#[tokio::test]
async fn the_answer_lists_fields_in_the_order_the_query_asks() {
    let (_shop, bff) = shop_and_bff().await;
    let (status, body) = bff
        .post_graphql(
            json!({"query": "{ products(page: 0, size: 1) { totalPages items { name id price } } }"})
                .to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let at = |field: &str| {
        body.find(&format!("\"{field}\""))
            .unwrap_or_else(|| panic!("{field} in {body}"))
    };
    assert!(at("totalPages") < at("items"), "{body}");
    assert!(at("name") < at("id") && at("id") < at("price"), "{body}");
}
