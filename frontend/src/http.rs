//! The shell's one way to ask its origin for JSON (the `/auth` routes, components.json): one
//! request path, so the bundle carries one copy of it.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

/// What came back: the status, and the body as the browser parsed it (`Err` with why, when it
/// is no JSON).
pub struct Fetched {
    pub status: u16,
    pub json: Result<JsValue, JsValue>,
}

impl Fetched {
    /// Whether the status is a success (2xx).
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Sends `init` to `path` (resolved against the page). `Err` when no answer came (the network,
/// or a request the browser refused to send).
pub async fn fetch(path: &str, init: &RequestInit) -> Result<Fetched, JsValue> {
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let request = Request::new_with_str_and_init(&crate::config::absolute(path), init)?;
    // `fetch` resolves to a Response, always.
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await?
        .unchecked_into();
    let json = match response.json() {
        Ok(promise) => JsFuture::from(promise).await,
        Err(e) => Err(e),
    };
    Ok(Fetched {
        status: response.status(),
        json,
    })
}
