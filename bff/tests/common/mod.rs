//! Shared helpers of the BFF's integration tests: the BFF built in-process against real
//! HTTP upstreams on `127.0.0.1:0` (the real domain services, or small axum upstreams
//! serving HAL documents), and ways to query it.

#![allow(dead_code)]

pub mod shop;
pub mod upstream;
pub mod ws;

use mall_services::Role;
use std::future::Future;
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use http::{Request, StatusCode};
use mall_auth::http::principal::{Principal, Via};
use mall_auth::http::{AuthState, BFF_AUDIENCE};
use mall_auth::policy::Caller;
use mall_auth::store::StoreLocation;
use mall_bff::request_context::RequestContext;
use mall_bff::upstream::Upstream;
use mall_bff::{Bff, BffConfig};
use mall_services::{System, SystemConfig};
use serde_json::{json, Value};
use tower::ServiceExt;

/// The four real domain services on free ports, with their data in a temporary directory.
pub struct Services {
    pub system: System,
    pub dir: tempfile::TempDir,
}

impl Services {
    pub async fn start() -> Services {
        let dir = tempfile::tempdir().expect("temp dir");
        let system = System::start(SystemConfig::ephemeral(dir.path()))
            .await
            .expect("services start");
        Services { system, dir }
    }

    /// A BFF configuration pointing at these services.
    pub fn config(&self) -> BffConfig {
        let u = &self.system.urls;
        config_for([
            (Upstream::Product, u[Role::Product].clone()),
            (Upstream::Order, u[Role::Order].clone()),
            (Upstream::Delivery, u[Role::Delivery].clone()),
            (Upstream::Mypage, u[Role::Mypage].clone()),
        ])
    }
}

/// A configuration with these root URLs; GraphiQL and the static files point nowhere (the
/// tests do not need them).
pub fn config_for(urls: impl IntoIterator<Item = (Upstream, String)>) -> BffConfig {
    let mut config = BffConfig {
        node_modules: Some("does-not-exist".into()),
        static_dir: "does-not-exist".into(),
        discovery_interval: Duration::from_millis(20),
        ..BffConfig::default()
    };
    for (u, url) in urls {
        *config.urls.get_mut(u) = url;
    }
    config
}

/// A BFF built in-process: GraphQL is executed on its schema, HTTP requests go through its
/// router without a socket; its upstream calls are real HTTP.
pub struct TestBff {
    pub bff: Bff,
    router: Router,
    /// Who the queries and HTTP requests of the test are sent as (staff unless changed).
    caller: std::sync::Mutex<Caller>,
    _identity: tempfile::TempDir,
}

/// The staff member the tests act as by default.
pub const STAFF: &str = "staff@test.example";

impl TestBff {
    pub async fn start(config: BffConfig) -> TestBff {
        let dir = tempfile::tempdir().expect("temp dir");
        let auth = AuthState::open(
            &StoreLocation::Embedded(dir.path().to_owned()),
            &config.auth,
            "http://127.0.0.1:8088",
        )
        .expect("identity store");
        let bff = Bff::new(config, auth).await.expect("valid BFF config");
        let router = bff.clone().router();
        TestBff {
            bff,
            router,
            caller: std::sync::Mutex::new(Caller::Staff { id: STAFF.into() }),
            _identity: dir,
        }
    }

    /// Acts as this caller from now on.
    pub fn act_as(&self, caller: Caller) {
        *self.caller.lock().expect("caller") = caller;
    }

    /// Acts as the customer `id` from now on.
    pub fn as_customer(&self, id: &str) -> &TestBff {
        self.act_as(Caller::Customer { id: id.into() });
        self
    }

    fn caller(&self) -> Caller {
        self.caller.lock().expect("caller").clone()
    }

    /// The `connection_init` payload that signs a WebSocket in as the current caller.
    pub fn init_payload(&self) -> Value {
        match self.token() {
            Some(t) => json!({"Authorization": format!("Bearer {t}")}),
            None => json!({}),
        }
    }

    /// A bearer token for the current caller, as `mall token` makes them.
    pub fn token(&self) -> Option<String> {
        let caller = self.caller();
        let id = caller.id()?.to_owned();
        Some(
            self.bff
                .auth()
                .issuer
                .sign(
                    &id,
                    caller.roles(),
                    BFF_AUDIENCE,
                    std::time::Duration::from_secs(3600),
                )
                .expect("token"),
        )
    }

    /// Executes a query (or mutation) and answers the response as JSON
    /// (`data`, `errors`, `extensions`).
    pub async fn query(&self, query: &str) -> Value {
        self.query_with(query, json!({})).await
    }

    pub async fn query_with(&self, query: &str, variables: Value) -> Value {
        let request = async_graphql::Request::new(query)
            .variables(async_graphql::Variables::from_json(variables));
        let context = RequestContext::new(Principal {
            caller: self.caller(),
            via: Via::Bearer,
        });
        let response =
            mall_bff::schema::execute(&self.bff.schema, &self.bff.gateway, context, request).await;
        let response = serde_json::to_value(&response).expect("a response is JSON");
        assert_tells_nothing_internal(&response.to_string());
        response
    }

    /// Serves the BFF's router on a real socket on `127.0.0.1:0` (with the peer's address,
    /// which keys the rate limits) and answers where.
    pub async fn serve(&self) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let router = self.bff.clone().router();
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
        });
        addr
    }

    /// Sends an HTTP request through the router; the status and the body as text.
    pub async fn http(&self, mut request: Request<Body>) -> (StatusCode, String) {
        if let Some(token) = self.token() {
            if !request.headers().contains_key(http::header::AUTHORIZATION) {
                request.headers_mut().insert(
                    http::header::AUTHORIZATION,
                    format!("Bearer {token}").parse().expect("header"),
                );
            }
        }
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let body = String::from_utf8_lossy(&body).into_owned();
        if status.is_client_error() || status.is_server_error() || body.contains("\"errors\"") {
            assert_tells_nothing_internal(&body);
        }
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        self.http(Request::get(path).body(Body::empty()).expect("request"))
            .await
    }

    /// POSTs a GraphQL request body to `/graphql`.
    pub async fn post_graphql(&self, body: String) -> (StatusCode, String) {
        self.http(
            Request::post("/graphql")
                .header(http::header::CONTENT_TYPE, "application/json")
                .header(http::header::CONTENT_LENGTH, body.len())
                .body(Body::from(body))
                .expect("request"),
        )
        .await
    }
}

/// The `errors` of a response (empty when there are none).
/// Every answer the tests get through [`TestBff`] is checked here: an error a client reads
/// never carries an upstream's address or URL (they are all on 127.0.0.1 in the tests) nor
/// a path of the machine the BFF runs on.
pub fn assert_tells_nothing_internal(body: &str) {
    for leak in ["127.0.0.1", "http://", "https://", "/src/", ".rs:"] {
        assert!(
            !body.contains(leak),
            "a client-facing answer shows {leak:?}: {body}"
        );
    }
}

pub fn errors(response: &Value) -> Vec<Value> {
    response["errors"].as_array().cloned().unwrap_or_default()
}

/// Fails with the errors when the response has any.
pub fn assert_no_errors(response: &Value) {
    assert!(
        errors(response).is_empty(),
        "unexpected errors: {:#}",
        response["errors"]
    );
}

/// The `extensions.code` of every error.
pub fn codes(response: &Value) -> Vec<String> {
    errors(response)
        .iter()
        .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// Polls `check` until it answers `Some`, failing after 20 s (a bound that only stops a
/// broken build from hanging; the awaited I/O takes milliseconds).
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
