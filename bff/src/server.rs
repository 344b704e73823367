//! The axum wiring: `/graphql` (POST and GET as GraphQL over HTTP says, GraphiQL for a
//! browser's GET without a query, subscriptions on a WebSocket upgrade), `/graphql/ws` (subscriptions), `/healthz`, `/readyz`, `/metrics`, and the
//! shop's static files as the fallback.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::config::BffConfig;
use crate::gateway::Gateway;
use crate::graphiql::{self, Graphiql};
use crate::graphql_http::{self, MediaType, RequestError};
use crate::live::{Live, LiveFeed};
use crate::request_context::RequestContext;
use crate::schema::{self, BffSchema};
use crate::websocket::{ConnectionSlots, Subscriptions};
use crate::BffError;
use axum::http::Method;
use mall_auth::http::principal;
use mall_auth::http::AuthState;

/// The BFF's parts, built once: the gateway (upstream clients), the schema, GraphiQL's
/// files and the metrics handle.
#[derive(Clone)]
pub struct Bff {
    pub gateway: Arc<Gateway>,
    pub schema: BffSchema,
    graphiql: Graphiql,
    metrics: PrometheusHandle,
    config: Arc<BffConfig>,
    /// The WebSocket connections' slots (`subscriptions.max_connections`, and
    /// `max_connections_per_session`), shared by every upgrade.
    connection_slots: ConnectionSlots,
    /// Set to true to close every subscription connection (shutdown).
    closing: Arc<tokio::sync::watch::Sender<bool>>,
    /// Accounts, sessions and the tokens of upstream calls (DESIGN.md section 8).
    auth: AuthState,
}

impl std::fmt::Debug for Bff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bff").field("config", &self.config).finish()
    }
}

/// A Prometheus recorder for this process, installed as the global recorder on first use:
/// what [`Bff::new`] renders on `/metrics` for a program that has no recorder of its own. A
/// program that has one (the `mall` binary: the services' recorder) builds the BFF with
/// [`Bff::new_with_metrics`] instead, so only one recorder is ever installed.
pub fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!(
                    "another metrics recorder is installed; the BFF's /metrics shows only what its \
                     own handle sees (build it with Bff::new_with_metrics and the program's handle)"
                );
            }
            handle
        })
        .clone()
}

impl Bff {
    /// Builds the BFF and tries to read the upstreams' root documents once; those not read
    /// yet are tried again in the background every `discovery_interval` (until then
    /// `/readyz` answers 503).
    ///
    /// Its `/metrics` renders this crate's process-wide recorder ([`prometheus`]),
    /// installed on first use.
    pub async fn new(config: BffConfig, auth: AuthState) -> Result<Bff, BffError> {
        Bff::new_with_metrics(config, auth, prometheus()).await
    }

    /// As [`Bff::new`], with `/metrics` rendered by `metrics`: the handle of the recorder
    /// the embedding program installed. The BFF installs none of its own then.
    pub async fn new_with_metrics(
        config: BffConfig,
        auth: AuthState,
        metrics: PrometheusHandle,
    ) -> Result<Bff, BffError> {
        let gateway = Arc::new(Gateway::new(&config, Some(auth.issuer.clone()))?);
        let schema = build_schema(&gateway, &config, None);
        let node_modules = config
            .node_modules
            .clone()
            .unwrap_or_else(graphiql::default_node_modules);
        let graphiql = Graphiql::load(&node_modules);
        for (upstream, e) in gateway.discover().await {
            tracing::warn!(%upstream, error = %e, "upstream root document not read yet");
        }
        if !gateway.is_ready() {
            let weak = Arc::downgrade(&gateway);
            let every = config
                .discovery_interval
                .max(std::time::Duration::from_millis(10));
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let Some(gateway) = weak.upgrade() else {
                        return;
                    };
                    if gateway.discover().await.is_empty() {
                        tracing::info!("every upstream root document read");
                        return;
                    }
                }
            });
        }
        Ok(Bff {
            gateway,
            schema,
            graphiql,
            metrics,
            connection_slots: ConnectionSlots::new(&config.subscriptions),
            config: Arc::new(config),
            closing: Arc::new(tokio::sync::watch::channel(false).0),
            auth,
        })
    }

    /// Feeds the `myPage` subscription from `feed` (one bus subscription for the whole
    /// process). Without a feed the subscription answers SUBSCRIPTIONS_UNAVAILABLE.
    pub fn with_live_feed(mut self, feed: Arc<dyn LiveFeed>) -> Bff {
        self.schema = build_schema(&self.gateway, &self.config, Some(feed));
        self
    }

    /// Closes every subscription connection with 1001 (going away) so that clients
    /// reconnect elsewhere, now and for any connection opened later: call it when shutting
    /// down, before the server drains (a graceful shutdown does not wait for upgraded
    /// connections, nor end them).
    pub fn close_subscriptions(&self) {
        self.closing.send_replace(true);
    }

    /// Renders `/metrics` with this handle (the embedding program's recorder).
    pub fn with_metrics(mut self, handle: PrometheusHandle) -> Bff {
        self.metrics = handle;
        self
    }

    /// Who signs in, and how (the `/auth` routes' state).
    pub fn auth(&self) -> &AuthState {
        &self.auth
    }

    /// The router (static files of `config.static_dir` as the fallback).
    pub fn router(self) -> Router {
        self.router_with(Router::new())
    }

    /// The router with `extra` routes merged in (the OpenID Connect sign-in, when an
    /// issuer is configured).
    pub fn router_with(self, extra: Router) -> Router {
        let static_dir = self.config.static_dir.clone();
        let auth = self.auth.clone();
        let auth_routes = mall_auth::http::router(auth.clone());
        let rate_limits = self.config.rate_limits.clone();
        let router = Router::new()
            .route("/graphql", get(graphiql_or_subscriptions).post(graphql))
            .route("/graphql/ws", get(subscriptions))
            .route("/graphql/assets/{file}", get(graphiql_asset))
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics_text))
            // One `Arc` per request instead of a copy of every part's handle.
            .with_state(Arc::new(self))
            .merge(auth_routes)
            .merge(extra)
            .fallback_service(crate::static_files::router(&static_dir, auth));
        let router = crate::rate_limit::apply(router, &rate_limits);
        let router = crate::request_id::apply(router);
        crate::security_headers::apply(router)
    }
}

/// `POST /graphql`: one GraphQL request over HTTP (the body's size limit is enforced
/// while reading it, so it holds with or without a `Content-Length`).
async fn graphql(State(bff): State<Arc<Bff>>, headers: HeaderMap, body: Body) -> Response {
    let Some(media) = MediaType::negotiate(&headers) else {
        return RequestError::NotAcceptable.into_response(None);
    };
    let context = match caller(&bff, &Method::POST, &headers).await {
        Ok(c) => c,
        Err(e) => return e.into_response(Some(media)),
    };
    match graphql_http::read_post(&headers, body, bff.config.limits.max_body_bytes).await {
        Ok(request) => execute(&bff, context, request, media).await,
        Err(e) => e.into_response(Some(media)),
    }
}

/// Who is calling (session cookie or bearer token); a cookie-signed write that a cross-site
/// form could have sent is refused here, before anything runs.
async fn caller(
    bff: &Bff,
    method: &Method,
    headers: &HeaderMap,
) -> Result<RequestContext, RequestError> {
    let limits = &bff.config.limits;
    principal::resolve(&bff.auth, method, headers)
        .await
        .map(|p| {
            RequestContext::limited(p, limits.max_upstream_calls, limits.request_deadline)
                .with_request_id(crate::request_id::current())
        })
        .map_err(RequestError::from)
}

async fn execute(
    bff: &Bff,
    context: RequestContext,
    request: async_graphql::Request,
    media: MediaType,
) -> Response {
    let response = schema::execute(&bff.schema, &bff.gateway, context, request).await;
    graphql_http::into_response(response, media)
}

/// The one place the served schema is built: with the live feed when there is one.
fn build_schema(
    gateway: &Arc<Gateway>,
    config: &BffConfig,
    live: Option<Arc<dyn LiveFeed>>,
) -> BffSchema {
    let mut builder = schema::builder(gateway.clone(), &config.limits);
    if let Some(feed) = live {
        builder = builder.data(Live(feed));
    }
    builder.finish()
}

fn subscriptions_of(bff: &Bff) -> Subscriptions {
    Subscriptions::new(
        bff.schema.clone(),
        bff.gateway.clone(),
        bff.config.subscriptions.clone(),
        bff.connection_slots.clone(),
        bff.closing.subscribe(),
        bff.auth.clone(),
    )
}

/// `GET /graphql`: a WebSocket upgrade is a subscription connection, anything else gets
/// GraphiQL.
async fn graphiql_or_subscriptions(
    State(bff): State<Arc<Bff>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if let Ok(upgrade) = upgrade {
        return subscriptions_of(&bff).upgrade(&headers, upgrade).await;
    }
    let query = query.unwrap_or_default();
    if query.is_empty() {
        return bff.graphiql.page("/graphql");
    }
    let Some(media) = MediaType::negotiate(&headers) else {
        return RequestError::NotAcceptable.into_response(None);
    };
    let context = match caller(&bff, &Method::GET, &headers).await {
        Ok(c) => c,
        Err(e) => return e.into_response(Some(media)),
    };
    match graphql_http::read_get(&query) {
        Ok(request) => execute(&bff, context, request, media).await,
        Err(e) => e.into_response(Some(media)),
    }
}

/// `GET /graphql/ws`: subscription connections only.
async fn subscriptions(
    State(bff): State<Arc<Bff>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match upgrade {
        Ok(upgrade) => subscriptions_of(&bff).upgrade(&headers, upgrade).await,
        Err(_) => (
            StatusCode::UPGRADE_REQUIRED,
            [(header::UPGRADE, "websocket")],
            "this is the GraphQL subscription endpoint: connect with a WebSocket speaking \
             graphql-transport-ws (queries and mutations: POST /graphql)\n",
        )
            .into_response(),
    }
}

async fn graphiql_asset(State(bff): State<Arc<Bff>>, Path(file): Path<String>) -> Response {
    bff.graphiql.asset(&file)
}

async fn readyz(State(bff): State<Arc<Bff>>) -> Response {
    let missing: Vec<&str> = bff
        .gateway
        .clients()
        .iter()
        .filter(|c| !c.is_discovered())
        .map(|c| c.upstream().as_str())
        .collect();
    if missing.is_empty() {
        "ready\n".into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "not ready: root document not read yet from {}\n",
                missing.join(", ")
            ),
        )
            .into_response()
    }
}

async fn metrics_text(State(bff): State<Arc<Bff>>) -> Response {
    for c in bff.gateway.clients() {
        metrics::gauge!("bff_upstream_circuit_state", "upstream" => c.upstream().as_str())
            .set(c.circuit_state().gauge());
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        bff.metrics.render(),
    )
        .into_response()
}
