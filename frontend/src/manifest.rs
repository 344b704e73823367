//! `components.json`: each component's name mapped to `{version, entry, contract}`
//! (schema/components.schema.json). Read at run time, never cached by the browser.

use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestCache, RequestInit, Response};

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

/// Fetches components.json and decodes the named component's entry, if it has one (the
/// browser's `fetch` and JSON parser; see `mall_kit::js`). Only that entry is decoded: the
/// others are not this slot's business.
pub async fn entry(name: &str) -> Result<Option<Entry>, String> {
    let url = crate::config::absolute("components.json");
    let fetched = |e: JsValue| {
        let reason = mall_kit::js::message(&e);
        format!("components.json could not be fetched: {reason}")
    };
    let window = web_sys::window().ok_or_else(|| "no window".to_owned())?;
    let init = RequestInit::new();
    init.set_cache(RequestCache::NoCache);
    let request = Request::new_with_str_and_init(&url, &init).map_err(fetched)?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .and_then(JsCast::dyn_into)
        .map_err(fetched)?;
    if !response.ok() {
        return Err(format!(
            "components.json answered HTTP {}",
            response.status()
        ));
    }
    let invalid = |e: String| format!("components.json is not a valid manifest: {e}");
    let json = match response.json() {
        Ok(promise) => JsFuture::from(promise).await,
        Err(e) => Err(e),
    };
    let json = json.map_err(|e| invalid(mall_kit::js::message(&e)))?;
    if !json.is_object() {
        return Err(invalid("not an object".to_owned()));
    }
    let entry = js_sys::Reflect::get(&json, &JsValue::from_str(name)).unwrap_or_default();
    if entry.is_undefined() {
        return Ok(None);
    }
    mall_kit::js::from_js(entry)
        .map(Some)
        .map_err(|e| invalid(e.to_string()))
}
