//! `setTimeout` as a future (what gloo-timers gives, without std).

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// Resolves after `ms` milliseconds (never, if the page has no window). Dropping it leaves
/// the browser's timer to run out unheard.
pub async fn sleep(ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        if let Some(window) = web_sys::window() {
            // `setTimeout` takes a signed 32-bit delay.
            let delay = i32::try_from(ms).unwrap_or(i32::MAX);
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, delay);
        }
    });
    let _: Result<JsValue, JsValue> = JsFuture::from(promise).await;
}
