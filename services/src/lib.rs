//! The 12st mall domain services: product, order, delivery and mypage as HAL REST services
//! in the style of Spring Data REST, wired only by domain events.
//!
//! Ports and adapters:
//! - [`event`]: the events in the course's wire form
//! - [`store`]: the storage port (documents + outbox + processed ledger in one transaction),
//!   [`store::sqlite`] the embedded adapter, [`store::postgres`] the scale-out one
//! - [`bus`]: the event-bus port (ordered durable log), [`bus::embedded`] the embedded adapter,
//!   [`bus::nats`] NATS JetStream for scale-out
//! - [`relay`]: the transactional outbox relay; [`consumer`]: idempotent durable consumers
//! - [`retention`]: how long the stores keep idempotency records, and their pruning
//!
//! The domain, one module per service, each with its policies and its [`axum`] router:
//! [`product`], [`order`], [`delivery`], [`mypage`] (the CQRS projection, rebuildable from
//! the log).
//!
//! Who may call: [`access`] (the BFF's tokens checked, the shop's policy asked).
//!
//! HTTP commons: [`hal`] (documents, paging), [`resource`] (the Spring Data REST shape of a
//! collection), [`problem`] (RFC 9457 errors), [`ops`] (`/healthz`, `/readyz`, `/metrics`),
//! [`openapi`] (each service's OpenAPI 3.1 document at `/v3/api-docs`).
//! [`system`] starts any set of roles in one process.
//!
//! [`fuzz_targets`]: the properties the cargo-fuzz targets of `fuzz/` check (events off the
//! bus, the idempotency key).

pub mod access;
pub mod bus;
pub mod consumer;
pub mod context;
pub mod delivery;
pub mod domain_error;
pub mod event;
pub mod fuzz_targets;
pub mod hal;
pub mod mypage;
pub mod openapi;
pub mod ops;
pub mod order;
pub mod problem;
pub mod product;
pub mod relay;
pub mod resource;
pub mod retention;
pub mod role;
pub mod store;
pub mod system;
pub mod urls;

pub use role::Role;
pub use system::{Database, System, SystemConfig};
pub use urls::Urls;
