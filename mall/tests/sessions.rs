//! How long a sign-in lasts, over real sockets (issue: sign-in): a session cookie outlives the
//! BFF that issued it (sessions are kept in the identity store, not in the process) until it
//! is signed out, and a subscription signed in by a bearer token ends with the token.

mod common;

use std::time::Duration;

use common::{customer, graphql_by_cookie, mall, ws_url, Client, Seen};
use mall::start_bff;
use mall_auth::http::BFF_AUDIENCE;
use reqwest::StatusCode;
use serde_json::{json, Value};

const EMAIL: &str = "stays@12st.example";

const MY_ORDERS: &str = "{ orders { id customerId } }";

/// `GET /auth/me` with this cookie: its status and body.
async fn me(http: &reqwest::Client, bff: &str, cookie: &str) -> (StatusCode, Value) {
    let r = http
        .get(format!("{bff}/auth/me"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("me");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_session_outlives_a_bff_restart_until_it_is_signed_out() {
    let (mall, dir) = mall().await;
    let services = mall.services.as_ref().expect("services");
    let config = common::replica_config(&mall, dir.path());
    let http = reqwest::Client::new();
    let first = start_bff(&config, services.urls.clone(), None)
        .await
        .expect("a BFF");
    let cookie = common::sign_up(&first.url, EMAIL, "Stays").await.cookie;
    let placed = graphql_by_cookie(
        &first.url,
        &cookie,
        "mutation { placeOrder(input: {productId: 1, quantity: 1, customerName: \"Stays\", \
         customerAddr: \"Seoul\"}) { id customerId } }",
        json!({}),
    )
    .await;
    let order = placed["data"]["placeOrder"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("an order: {placed}"));
    first.stop().await;

    // Another BFF on the same store: the browser's cookie still signs it in.
    let second = start_bff(&config, services.urls.clone(), None)
        .await
        .expect("the BFF again");
    let (status, profile) = me(&http, &second.url, &cookie).await;
    assert_eq!(status, StatusCode::OK, "{profile}");
    assert_eq!(profile["customerId"], EMAIL);
    assert_eq!(profile["name"], "Stays");
    let orders = graphql_by_cookie(&second.url, &cookie, MY_ORDERS, json!({})).await;
    assert_eq!(
        orders["data"]["orders"],
        json!([{"id": order, "customerId": EMAIL}]),
        "{orders}"
    );

    // Signed out there, the cookie opens nothing, there nor on the BFF after it.
    let out = http
        .post(format!("{}/auth/logout", second.url))
        .header("cookie", &cookie)
        .header("content-type", "application/json")
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        me(&http, &second.url, &cookie).await.0,
        StatusCode::UNAUTHORIZED
    );
    second.stop().await;
    let third = start_bff(&config, services.urls.clone(), None)
        .await
        .expect("the BFF a third time");
    assert_eq!(
        me(&http, &third.url, &cookie).await.0,
        StatusCode::UNAUTHORIZED
    );
    let refused = graphql_by_cookie(&third.url, &cookie, MY_ORDERS, json!({})).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{refused}"
    );
    third.stop().await;
    mall.stop().await;
}

#[tokio::test]
async fn a_subscription_signed_in_by_a_bearer_token_ends_when_the_token_expires() {
    let (mall, _dir) = mall().await;
    let bff = mall.bff_url.clone().expect("bff");
    let who = "short@12st.example";
    // Long enough for the snapshot below on a busy machine, short for a test.
    let token = common::token_lasting(&bff, &customer(who), BFF_AUDIENCE, Duration::from_secs(10));
    let mut c = Client::open(&ws_url(&bff, "/graphql/ws")).await;
    c.send(json!({"type": "connection_init",
                  "payload": {"Authorization": format!("Bearer {token}")}}))
        .await;
    match c.next().await {
        Seen::Other(m) if m["type"] == "connection_ack" => {}
        other => panic!("expected connection_ack, got {other:?}"),
    }
    // While the token lives, the connection serves its customer.
    c.snapshot_of("1", who).await;
    let closed = loop {
        match c.next_within(Duration::from_secs(120)).await {
            Some(Seen::Closed(closed)) => break closed,
            Some(_) => continue,
            None => panic!("the socket outlived its token by two minutes"),
        }
    };
    let (code, reason) = closed.expect("a close frame");
    assert_eq!(code, 4403, "{reason}");
    assert!(reason.contains("expired"), "{reason}");
    mall.stop().await;
}
