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
