//! `components.json`: each component's name mapped to `{version, entry, contract}`
//! (schema/components.schema.json).
//!
//! The BFF inlines the current manifest into the document
//! (`<script type="application/json" id="mall-manifest">`), so the first load of every slot
//! needs no request of its own; a Retry fetches the file again (never from the browser's
//! cache), so a deploy made since the page loaded is picked up.

use alloc::borrow::ToOwned;
use alloc::string::String;

use wasm_bindgen::JsValue;
use web_sys::{Document, RequestCache, RequestInit};

/// The mount contract this shell speaks (mall-kit's `CONTRACT_VERSION`; a test checks they
/// agree).
pub const SHELL_CONTRACT: u32 = 1;

/// The id of the document's inlined manifest.
pub const INLINE_ID: &str = "mall-manifest";

/// One component's entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub version: String,
    /// The ES module wasm-bindgen emitted, relative to the manifest.
    pub entry: String,
    pub contract: u32,
}

/// The manifest the document carries, parsed by the browser; `None` when the document has
/// none (served without the BFF) or it is not a JSON object.
pub fn inline(document: &Document) -> Option<JsValue> {
    let text = document.get_element_by_id(INLINE_ID)?.text_content()?;
    js_sys::JSON::parse(&text).ok().filter(JsValue::is_object)
}

/// Fetches components.json, revalidating with the server.
pub async fn fetch() -> Result<JsValue, String> {
    let init = RequestInit::new();
    init.set_cache(RequestCache::NoCache);
    let fetched = crate::http::fetch("components.json", &init)
        .await
        .map_err(|e| {
            let mut why = "components.json could not be fetched: ".to_owned();
            why.push_str(&crate::text::message(&e));
            why
        })?;
    if !fetched.ok() {
        let mut why = "components.json answered HTTP ".to_owned();
        why.push_str(&crate::text::decimal(fetched.status.into()));
        return Err(why);
    }
    let json = fetched
        .json
        .map_err(|e| invalid(&crate::text::message(&e)))?;
    if !json.is_object() {
        return Err(invalid("not an object"));
    }
    Ok(json)
}

fn invalid(why: &str) -> String {
    let mut text = "components.json is not a valid manifest: ".to_owned();
    text.push_str(why);
    text
}

/// Decodes the named component's entry, if the manifest has one. Only that entry is decoded:
/// the others are not this slot's business. Three fields, read directly (serde's decoder would
/// be most of the shell's weight).
pub fn entry(manifest: &JsValue, name: &str) -> Result<Option<Entry>, String> {
    let entry = js_sys::Reflect::get(manifest, &JsValue::from_str(name)).unwrap_or_default();
    if entry.is_undefined() {
        return Ok(None);
    }
    let field = |key: &str| js_sys::Reflect::get(&entry, &JsValue::from_str(key)).ok();
    let text = |key: &str| field(key).and_then(|v| v.as_string());
    let missing = |what: &str| {
        let mut why = name.to_owned();
        why.push_str(": ");
        why.push_str(what);
        invalid(&why)
    };
    let version = text("version").ok_or_else(|| missing("`version` must be a string"))?;
    let module = text("entry").ok_or_else(|| missing("`entry` must be a string"))?;
    let contract = field("contract")
        .and_then(|v| v.as_f64())
        // Whole, at least 1, within u32 (`as` saturates, so a fraction or anything beyond u32
        // comes back different).
        .filter(|&c| c >= 1.0 && f64::from(c as u32) == c)
        .ok_or_else(|| missing("`contract` must be a whole number of at least 1"))?;
    Ok(Some(Entry {
        version,
        entry: module,
        contract: contract as u32,
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_shell_speaks_the_kits_contract() {
        assert_eq!(super::SHELL_CONTRACT, mall_kit::CONTRACT_VERSION);
    }
}
