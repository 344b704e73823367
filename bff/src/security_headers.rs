//! Response headers that keep the shop, GraphiQL and the API from being framed, sniffed or
//! leaking their URLs to other sites, on every answer of the BFF (a tower layer per header,
//! set only when the handler did not set its own).
//!
//! - `X-Content-Type-Options: nosniff`: a JSON answer is never run as a script;
//! - `Content-Security-Policy: frame-ancestors 'none'` and `X-Frame-Options: DENY` (for
//!   older browsers): no other page frames the shop (clickjacking);
//! - `Referrer-Policy: same-origin`: links out of the shop do not carry its URLs.
//!
//! A script policy (`script-src 'self' 'wasm-unsafe-eval'`) is not set yet: the shell's loader
//! and GraphiQL both build functions at run time, which such a policy would refuse.

use axum::http::{header, HeaderValue};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

/// The headers, as (name, value).
pub const HEADERS: [(header::HeaderName, &str); 4] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "same-origin"),
];

/// `router` with the headers on every answer, its fallback included.
pub fn apply(mut router: Router) -> Router {
    for (name, value) in HEADERS {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ));
    }
    router
}
