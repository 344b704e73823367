//! `components.json`: each component's name mapped to `{version, entry, contract}`
//! (schema/components.schema.json). Read at run time, never cached by the browser.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The mount contract this shell speaks (mall-kit's `CONTRACT_VERSION`).
pub const SHELL_CONTRACT: u32 = mall_kit::CONTRACT_VERSION;

/// One component's entry.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Entry {
    pub version: String,
    /// The ES module wasm-bindgen emitted, relative to the manifest.
    pub entry: String,
    pub contract: u32,
}

/// The whole manifest.
pub type Manifest = BTreeMap<String, Entry>;

/// Fetches and decodes components.json.
pub async fn fetch() -> Result<Manifest, String> {
    let url = crate::config::absolute("components.json");
    let response = gloo_net::http::Request::get(&url)
        .cache(web_sys::RequestCache::NoCache)
        .send()
        .await
        .map_err(|e| format!("components.json could not be fetched: {e}"))?;
    if !response.ok() {
        return Err(format!(
            "components.json answered HTTP {}",
            response.status()
        ));
    }
    response
        .json::<Manifest>()
        .await
        .map_err(|e| format!("components.json is not a valid manifest: {e}"))
}
