//! Idempotency keys for mutations: one key per user intent, so a double click or a retry of the
//! same intent makes one change.

/// A fresh random key (a UUID from the browser's crypto when available).
pub fn idempotency_key() -> String {
    let crypto = web_sys::window().and_then(|w| w.crypto().ok());
    match crypto {
        Some(c) => c.random_uuid(),
        None => {
            // Without crypto (never in a real browser) fall back to time and Math.random.
            let now = js_sys::Date::now() as u64;
            let rnd = (js_sys::Math::random() * 1e15) as u64;
            format!("{now:x}-{rnd:x}")
        }
    }
}
