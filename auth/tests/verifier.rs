//! A service checking the BFF's tokens with the keys it fetches from the BFF's
//! `/auth/jwks.json`, over real sockets.

mod common;

use std::time::Duration;

use common::start_embedded;
use mall_auth::policy::Caller;
use mall_auth::token::{Expectations, TokenError, DEFAULT_ISSUER};
use mall_auth::verifier::{JwksSettings, Verifier};

fn order_service_verifier(bff: &str) -> Verifier {
    Verifier::remote(
        format!("{bff}/auth/jwks.json"),
        reqwest::Client::new(),
        JwksSettings::default(),
        Expectations::bff(DEFAULT_ISSUER, "order"),
    )
}

#[tokio::test]
async fn a_service_accepts_the_bffs_token_for_it_and_nothing_else() {
    let dir = tempfile::tempdir().expect("dir");
    let bff = start_embedded(dir.path()).await;
    let verifier = order_service_verifier(&bff.url);
    let c1 = Caller::Customer {
        id: "1@uengine.org".into(),
    };

    let token = bff
        .state
        .issuer
        .for_service(&c1, "order")
        .expect("sign")
        .expect("token");
    let verified = verifier.verify(&token).await.expect("accepted");
    assert_eq!(verified.caller, c1);

    let for_delivery = bff
        .state
        .issuer
        .for_service(&c1, "delivery")
        .expect("sign")
        .expect("token");
    assert!(matches!(
        verifier.verify(&for_delivery).await,
        Err(TokenError::Refused(_))
    ));

    // A token signed by another BFF (another key) is refused, even after fetching again.
    let other_dir = tempfile::tempdir().expect("dir");
    let other = start_embedded(other_dir.path()).await;
    let foreign = other
        .state
        .issuer
        .for_service(&c1, "order")
        .expect("sign")
        .expect("token");
    assert!(matches!(
        verifier.verify(&foreign).await,
        Err(TokenError::Refused(_))
    ));
}

#[tokio::test]
async fn keys_are_cached_and_an_unreachable_issuer_is_reported() {
    let dir = tempfile::tempdir().expect("dir");
    let bff = start_embedded(dir.path()).await;
    let verifier = order_service_verifier(&bff.url);
    let token = bff
        .state
        .issuer
        .for_service(
            &Caller::Staff {
                id: "s@uengine.org".into(),
            },
            "order",
        )
        .expect("sign")
        .expect("token");
    verifier.verify(&token).await.expect("accepted");

    // The BFF goes away: the cached keys still check its tokens.
    let url = bff.url.clone();
    drop(bff);
    tokio::time::sleep(Duration::from_millis(50)).await;
    verifier
        .verify(&token)
        .await
        .expect("still accepted from the cache");

    // A verifier that never had the keys says where it tried.
    let cold = order_service_verifier(&url);
    match cold.verify(&token).await {
        Err(TokenError::Keys { url: at, .. }) => assert!(at.ends_with("/auth/jwks.json")),
        other => panic!("expected a key fetch error, got {other:?}"),
    }
}

/// A stand-in for the order service: it asks the policy about the caller its token names.
async fn start_order_service(verifier: Verifier) -> String {
    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    use axum::routing::get;
    use mall_auth::http::service::ServiceCaller;
    use mall_auth::policy::{decide, Action};

    async fn order(
        State(_): State<Verifier>,
        ServiceCaller(caller): ServiceCaller,
        Path(owner): Path<String>,
    ) -> StatusCode {
        let d = decide(&caller, Action::ReadOrder { owner: &owner });
        match d.http_status() {
            None => StatusCode::OK,
            Some(s) => StatusCode::from_u16(s).expect("a status"),
        }
    }

    let app = axum::Router::new()
        .route("/orders-of/{owner}", get(order))
        .with_state(verifier);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_service_reached_directly_is_not_an_open_door() {
    let dir = tempfile::tempdir().expect("dir");
    let bff = start_embedded(dir.path()).await;
    let order = start_order_service(order_service_verifier(&bff.url)).await;
    let c1 = Caller::Customer {
        id: "1@uengine.org".into(),
    };
    let token = bff
        .state
        .issuer
        .for_service(&c1, "order")
        .expect("sign")
        .expect("token");
    let get = |path: &str, token: Option<&str>| {
        let mut r = reqwest::Client::new().get(format!("{order}{path}"));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        async move { r.send().await.expect("get").status().as_u16() }
    };
    assert_eq!(get("/orders-of/1@uengine.org", Some(&token)).await, 200);
    assert_eq!(get("/orders-of/2@uengine.org", Some(&token)).await, 404);
    assert_eq!(get("/orders-of/1@uengine.org", None).await, 401);
    assert_eq!(get("/orders-of/1@uengine.org", Some("forged")).await, 401);
}
