//! What every 12st mall micro-frontend shares, compiled into each bundle separately (no shared
//! Rust statics cross a bundle boundary: components meet only through the DOM).
//!
//! - [`contract`]: the mount contract version and the context the shell passes to `mount`
//! - [`mount`]: mounting a leptos view into the host's shadow root, and [`export_component!`]
//!   which exports `mount`, `contractVersion` and the handle from a component crate
//! - [`events`]: the `mall:*` CustomEvent channel on `window` (schema/events.md)
//! - [`failure`]: the panic hook that reports `mall:component-failed`
//! - [`graphql`]: the typed GraphQL HTTP client (queries checked by graphql_client at compile time);
//!   an `UNAUTHENTICATED` answer announces `mall:session-ended`
//! - [`subscription`]: a graphql-transport-ws client that reconnects with backoff, and stops
//!   (announcing `mall:session-ended`) when the BFF closes it for the session's end
//! - [`remote`]: remote data in signals, refreshed on events, polled while the live link is down
//! - [`customer`]: the customer a view shows (the signed-in one)
//! - [`mypage`]: the customer's my-page rows, live (subscription, else polling)
//! - [`ids`]: idempotency keys
//! - [`js`]: serde to and from plain JavaScript values (JSON through the browser)
//! - [`style`]: the base style every component puts in its shadow root

pub mod contract;
pub mod customer;
pub mod events;
pub mod failure;
pub mod graphql;
pub mod ids;
pub mod js;
pub mod mount;
pub mod mypage;
pub mod remote;
pub mod style;
pub mod subscription;
#[cfg(feature = "test-hooks")]
pub mod test_hooks;

pub use contract::{MountContext, CONTRACT_VERSION};
pub use send_wrapper::SendWrapper;

/// Re-exported so [`export_component!`] expands in crates that name them differently.
#[doc(hidden)]
pub mod __private {
    pub use wasm_bindgen;
    pub use web_sys;
}
