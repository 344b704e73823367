//! Bearer tokens of an external OpenID issuer, found through its discovery document over a
//! real socket. The issuer here is a stand-in serving discovery and JWKS with a key of its
//! own; the test against an independent provider comes with the code flow.

mod common;

use axum::routing::get;
use axum::{Json, Router};
use mall_auth::keys::SigningKey;
use mall_auth::oidc::{OidcError, OidcSettings};
use mall_auth::policy::Caller;
use mall_auth::session::now;
use reqwest::header::AUTHORIZATION;
use serde_json::{json, Value};

/// An issuer on a free port; returns its URL and key.
async fn start_issuer(claimed_issuer: Option<&str>) -> (String, SigningKey) {
    let key = SigningKey::generate().expect("key");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let issuer = claimed_issuer.unwrap_or(&url).to_owned();
    let jwks = serde_json::to_value(key.jwks()).expect("jwks");
    let discovery = json!({"issuer": issuer, "jwks_uri": format!("{url}/jwks")});
    let app = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { Json(discovery) }),
        )
        .route("/jwks", get(move || async move { Json(jwks) }));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (url, key)
}

fn settings(issuer: &str) -> OidcSettings {
    toml_like(json!({
        "issuer": issuer,
        "client_id": "mall",
        "client_secret": "s3cret-value",
        "staff_claim": "groups",
        "staff_values": ["shop-staff"],
    }))
}

fn toml_like(v: Value) -> OidcSettings {
    serde_json::from_value(v).expect("settings")
}

fn id_token(key: &SigningKey, issuer: &str, extra: Value) -> String {
    let mut claims = json!({"iss": issuer, "aud": "mall", "sub": "u-1", "iat": now(), "exp": now() + 300, "email_verified": true});
    for (k, v) in extra.as_object().expect("object") {
        claims[k] = v.clone();
    }
    key.sign_json(&claims).expect("sign")
}

#[tokio::test]
async fn the_bff_accepts_an_openid_issuers_tokens_as_the_same_customer() {
    let (issuer, idp_key) = start_issuer(None).await;
    let settings = settings(&issuer);
    assert!(
        !format!("{settings:?}").contains("s3cret"),
        "Debug redacts the secret"
    );
    let verifier = settings
        .verifier(reqwest::Client::new())
        .await
        .expect("discovered");

    let dir = tempfile::tempdir().expect("dir");
    let store =
        common::open_store(mall_auth::store::StoreLocation::Embedded(dir.path().into())).await;
    let server = common::start_with(store, Some(verifier)).await;

    let whoami = |token: String| {
        let url = format!("{}/whoami", server.url);
        async move {
            let r = common::client()
                .get(url)
                .header(AUTHORIZATION, format!("Bearer {token}"))
                .send()
                .await
                .expect("whoami");
            (r.status().as_u16(), r.text().await.expect("text"))
        }
    };
    let (status, body) = whoami(id_token(
        &idp_key,
        &issuer,
        json!({"email": "1@uengine.org"}),
    ))
    .await;
    assert_eq!(status, 200);
    let c1 = format!(
        "{:?}",
        Caller::Customer {
            id: "1@uengine.org".into()
        }
    );
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("json")["caller"],
        c1
    );
    let (status, body) = whoami(id_token(
        &idp_key,
        &issuer,
        json!({"email": "s@uengine.org", "groups": ["shop-staff"]}),
    ))
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("Staff"), "{body}");

    // Another key under the issuer's name, or no email: refused.
    let other = SigningKey::generate().expect("key");
    assert_eq!(
        whoami(id_token(&other, &issuer, json!({"email": "1@uengine.org"})))
            .await
            .0,
        401
    );
    assert_eq!(whoami(id_token(&idp_key, &issuer, json!({}))).await.0, 401);
}

#[tokio::test]
async fn a_discovery_document_for_another_issuer_is_refused() {
    let (url, _) = start_issuer(Some("https://someone-else.example")).await;
    let err = settings(&url)
        .verifier(reqwest::Client::new())
        .await
        .expect_err("mismatch");
    assert!(matches!(err, OidcError::IssuerMismatch { .. }), "{err}");
    assert!(err.to_string().contains("set `issuer`"), "{err}");

    let err = settings("http://127.0.0.1:9")
        .verifier(reqwest::Client::new())
        .await
        .expect_err("unreachable");
    assert!(
        err.to_string()
            .contains("/.well-known/openid-configuration"),
        "{err}"
    );
}
