//! The 12st mall GraphQL BFF: the browser's single entry point. It aggregates the HAL REST
//! domain services (product, order, delivery, mypage) by following their `_links` from their
//! root URLs, protects each upstream with a timeout, a circuit breaker and budgeted retries,
//! and answers partial data with typed errors (or last-known-good copies marked stale) when
//! an upstream fails.
//!
//! # Embedding
//!
//! ```no_run
//! # async fn run() -> Result<(), mall_bff::BffError> {
//! let config = mall_bff::BffConfig::default(); // or BffConfig::load(Some(text), std::env::vars())?
//! // Accounts, sessions and the key that signs upstream tokens: SQLite under `data/`.
//! let store = mall_auth::store::StoreLocation::Embedded("data".into());
//! let auth = mall_auth::http::AuthState::open(&store, &Default::default(), "http://127.0.0.1:8088")
//!     .expect("identity store");
//! let router: axum::Router = mall_bff::app(config, auth).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8088").await.expect("port");
//! // The peer's address keys the rate limits of anonymous callers (`rate_limit`).
//! let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
//! axum::serve(listener, service).await.expect("serve");
//! # Ok(()) }
//! ```
//!
//! The router serves `POST /graphql` (queries and mutations), `GET /graphql` (GraphiQL, from
//! local files; with a WebSocket upgrade, subscriptions), `GET /graphql/ws` (subscriptions,
//! graphql-transport-ws), `/healthz`, `/readyz` (ready once every upstream's root document was read),
//! `/metrics` (Prometheus text), and the shop's files of `static_dir` as its fallback. A
//! program with its own Prometheus recorder uses [`Bff::new_with_metrics`] and
//! [`Bff::router`] instead of [`app`], so that one recorder serves the whole process. The `myPage` subscription needs a feed of my-page
//! changes ([`live::LiveFeed`], given with [`Bff::with_live_feed`]); without one it answers
//! SUBSCRIPTIONS_UNAVAILABLE.
//!
//! # Modules
//!
//! - [`config`]: [`BffConfig`], one serde tree (`all` plus per-upstream overrides), layered
//!   from defaults, a file and the environment by figment
//! - [`setting_list`]: list settings, from an array or a comma-separated variable
//! - [`upstream`]: the upstream clients: HAL documents, link templates, the tower stack
//! - [`resilience`]: circuit breaker, retry policy and metrics layers
//! - [`stale`]: last-known-good copies
//! - [`byte_bounded`]: caches bounded in bytes (stale copies, parsed documents, rendered changes)
//! - [`model`]: the plain data types and their reading from HAL items (no GraphQL)
//! - [`gateway`]: the operations the schema needs, one part per upstream, and the batch loader
//! - [`live`]: the live my-page: the feed port and the SNAPSHOT-then-CHANGE stream
//! - [`schema`]: the GraphQL schema (no HTTP in it), DataLoaders, stale marks
//! - [`error`]: [`BffError`], the one error enum with `extension_code()`
//! - [`graphiql`]: GraphiQL served offline
//! - [`server`]: the axum wiring
//! - [`rate_limit`]: requests per caller and route (429 with `Retry-After`)
//! - [`request_id`]: `x-request-id` on every answer, its log lines and its GraphQL errors
//! - [`websocket`]: subscriptions over WebSocket (graphql-transport-ws, pings, slow readers)
//! - [`websocket_settings`]: their settings (`[subscriptions]`)
//! - [`static_files`]: the shop's files (shell, manifest, wasm bundles)
//! - [`fuzz_targets`]: the properties the cargo-fuzz targets of `fuzz/` check (HAL documents,
//!   link templates, the GraphQL request envelope, the idempotency key)

pub mod byte_bounded;
pub mod config;
pub mod error;
pub mod fuzz_targets;
pub mod gateway;
pub mod graphiql;
pub mod graphql_http;
pub mod live;
pub mod model;
pub mod rate_limit;
pub mod request_context;
pub mod request_id;
pub mod resilience;
pub mod schema;
pub mod security_headers;
pub mod server;
pub mod setting_list;
pub mod socket_auth;
pub mod stale;
pub mod static_files;
pub mod upstream;
pub mod websocket;
pub mod websocket_settings;

pub use config::BffConfig;
pub use error::BffError;
pub use server::Bff;

/// Builds the BFF from `config` and returns its router. Never fails because an upstream is
/// down (the BFF starts unready and keeps trying); fails on an invalid configuration.
pub async fn app(
    config: BffConfig,
    auth: mall_auth::http::AuthState,
) -> Result<axum::Router, BffError> {
    Ok(Bff::new(config, auth).await?.router())
}
