//! The mount contract between the shell and a component (DESIGN.md section 7).
//!
//! A component's ES module (what wasm-bindgen emitted) has a default export that initialises its
//! wasm, and exports `mount(host, context) -> handle`, `handle.unmount()` and
//! `contractVersion()`. The shell only mounts a component whose manifest entry and module both
//! declare [`CONTRACT_VERSION`].

use serde::{Deserialize, Serialize};

/// The version of the mount contract this kit implements. Bump it when `mount`, the context or
/// the handle change incompatibly; the shell refuses a component with another version.
pub const CONTRACT_VERSION: u32 = 1;

/// What the shell tells a component when it mounts it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MountContext {
    /// Absolute URL of the BFF's GraphQL HTTP endpoint.
    pub graphql_url: String,
    /// Absolute `ws://` or `wss://` URL of the BFF's graphql-transport-ws endpoint.
    pub graphql_ws_url: String,
    /// The customer the page currently acts for (later changes arrive as
    /// `mall:customer-changed`).
    pub customer_id: String,
    /// A bearer token, once the mall has authentication.
    #[serde(default)]
    pub token: Option<String>,
}
