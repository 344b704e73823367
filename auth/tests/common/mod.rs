//! A real `/auth` server on a free port over a real store, for the integration tests.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::{Json, Router};
use mall_auth::http::cookie::CookieSettings;
use mall_auth::http::principal::Principal;
use mall_auth::http::{router, AuthState};
use mall_auth::identity::{Identity, IdentitySettings};
use mall_auth::keys::SigningKey;
use mall_auth::password::PasswordSettings;
use mall_auth::policy::{decide, Action, Decision};
use mall_auth::store::{IdentityStore, StoreLocation};
use mall_auth::token::{TokenIssuer, TokenSettings};
use mall_auth::verifier::Verifier;
use serde_json::{json, Value};

/// Cheap hashing: the tests check behaviour, not cost.
pub fn settings() -> IdentitySettings {
    IdentitySettings {
        password: PasswordSettings {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
        },
        ..IdentitySettings::default()
    }
}

pub struct Server {
    pub url: String,
    pub state: AuthState,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn open_store(location: StoreLocation) -> Arc<dyn IdentityStore> {
    tokio::task::spawn_blocking(move || location.open())
        .await
        .expect("join")
        .expect("store")
}

/// The `/auth` routes plus two routes that stand for the BFF's: one that says who is
/// calling, and a write (placing an order for a customer) that asks the policy and counts
/// the writes it let through.
pub async fn start(store: Arc<dyn IdentityStore>) -> Server {
    start_with(store, None).await
}

/// As [`start`], also accepting bearer tokens of another issuer.
pub async fn start_with(store: Arc<dyn IdentityStore>, extra: Option<Verifier>) -> Server {
    let identity = Identity::new(store.clone(), &settings()).expect("identity");
    let key = tokio::task::spawn_blocking(move || SigningKey::load_or_create(store.as_ref()))
        .await
        .expect("join")
        .expect("key");
    let issuer = TokenIssuer::new(key, TokenSettings::default());
    let mut state = AuthState::new(identity, issuer, CookieSettings::default());
    if let Some(v) = extra {
        state = state.accept_bearer(v);
    }
    let writes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = writes.clone();
    let app =
        router(state.clone()).merge(
            Router::new()
                .route(
                    "/whoami",
                    get(|p: Principal| async move {
                        Json(json!({ "caller": format!("{:?}", p.caller) }))
                    }),
                )
                .route(
                    "/orders",
                    post(move |p: Principal, Json(body): Json<Value>| {
                        let counted = counted.clone();
                        async move {
                            let customer =
                                body["customerId"].as_str().unwrap_or_default().to_owned();
                            match decide(
                                &p.caller,
                                Action::PlaceOrder {
                                    customer: &customer,
                                },
                            ) {
                                Decision::Allow => {
                                    counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                                    (axum::http::StatusCode::CREATED, "placed")
                                }
                                Decision::Unauthenticated => {
                                    (axum::http::StatusCode::UNAUTHORIZED, "sign in")
                                }
                                _ => (axum::http::StatusCode::FORBIDDEN, "forbidden"),
                            }
                        }
                    })
                    .get({
                        let writes = writes.clone();
                        move || async move {
                            writes.load(std::sync::atomic::Ordering::SeqCst).to_string()
                        }
                    }),
                )
                .with_state(state.clone()),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    Server {
        url: format!("http://{addr}"),
        state,
        task,
    }
}

pub async fn start_embedded(dir: &Path) -> Server {
    start(open_store(StoreLocation::Embedded(dir.to_owned())).await).await
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// `name=value` of the `mall_session` Set-Cookie of a response.
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("mall_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

pub async fn sign_up(server: &Server, email: &str, password: &str) -> String {
    let r = client()
        .post(format!("{}/auth/signup", server.url))
        .json(&json!({"email": email, "name": "Jay", "address": "Seoul", "password": password}))
        .send()
        .await
        .expect("signup");
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    session_cookie(&r).expect("cookie")
}
