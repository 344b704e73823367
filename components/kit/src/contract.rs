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

/// What the shell tells a component when it mounts it: where the BFF is and who is signed in.
/// Never a token: the browser holds only the BFF's HttpOnly session cookie, which every
/// request and live link of the page carries by itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MountContext {
    /// Absolute URL of the BFF's GraphQL HTTP endpoint.
    pub graphql_url: String,
    /// Absolute `ws://` or `wss://` URL of the BFF's graphql-transport-ws endpoint.
    pub graphql_ws_url: String,
    /// The signed-in customer's id (their email); empty while nobody is signed in (only the
    /// catalogue is mounted then). A new sign-in mounts the components afresh.
    pub customer_id: String,
    /// The signed-in customer's name.
    #[serde(default)]
    pub name: String,
    /// The signed-in customer's address (the default delivery address).
    #[serde(default)]
    pub address: String,
    /// The account's roles (`customer`, `staff`).
    #[serde(default)]
    pub roles: Vec<String>,
}

impl MountContext {
    /// Whether the signed-in account is staff (the delivery team, the shop's admins).
    pub fn is_staff(&self) -> bool {
        self.roles.iter().any(|r| r == "staff")
    }
}
