//! Response headers that keep the shop, GraphiQL and the API from being framed, sniffed,
//! running injected script or leaking their URLs to other sites, on every answer of the BFF
//! (a tower layer per header, set only when the handler did not set its own).
//!
//! - `X-Content-Type-Options: nosniff`: a JSON answer is never run as a script;
//! - `Content-Security-Policy` ([`POLICY`]): scripts only from the BFF's own origin, wasm may
//!   be compiled (`'wasm-unsafe-eval'`), nothing evaluated from strings (`eval`,
//!   `new Function`) and no inline script, no plugins, no `<base>` pointing elsewhere;
//!   `frame-ancestors 'none'` (with `X-Frame-Options: DENY` for older browsers): no other
//!   page frames the shop (clickjacking). The shop's document has one inline script (the
//!   shell's start); it is allowed by its hash, computed when the document is rendered
//!   ([`policy_for_document`]);
//! - `Referrer-Policy: same-origin`: links out of the shop do not carry its URLs.

use axum::http::{header, HeaderValue};
use axum::Router;
use base64::Engine;
use sha2::{Digest, Sha256};
use tower_http::set_header::SetResponseHeaderLayer;

/// The content security policy of every answer that sets none of its own.
pub const POLICY: &str =
    "script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'";

/// The headers, as (name, value).
pub const HEADERS: [(header::HeaderName, &str); 4] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::CONTENT_SECURITY_POLICY, POLICY),
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

/// [`POLICY`] with each inline script of `html` allowed by its SHA-256 hash, and nothing
/// else added: a script injected into the document (whose text is not one of those) is
/// still refused.
pub fn policy_for_document(html: &str) -> String {
    let mut policy = String::from("script-src 'self' 'wasm-unsafe-eval'");
    for script in inline_scripts(html) {
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script));
        policy.push_str(" 'sha256-");
        policy.push_str(&hash);
        policy.push('\'');
    }
    policy.push_str("; object-src 'none'; base-uri 'self'; frame-ancestors 'none'");
    policy
}

/// The text of every `<script>` of `html` that the browser runs inline: no `src`, and not a
/// data block (`type="application/json"`, which a policy does not govern).
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut scripts = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start + "<script".len()..];
        let Some(open_end) = after.find('>') else {
            break;
        };
        let attributes = &after[..open_end];
        let body = &after[open_end + 1..];
        let Some(close) = body.find("</script") else {
            break;
        };
        let runs = !attributes.contains("src=") && !attributes.contains("application/json");
        if runs {
            scripts.push(&body[..close]);
        }
        rest = &body[close..];
    }
    scripts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_policy_allows_exactly_its_inline_scripts() {
        let html = "<script type=\"application/json\" id=\"m\">{}</script>\
            <script type=\"module\">run();</script><script src=\"./a.js\"></script>";
        let policy = policy_for_document(html);
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest("run();"));
        assert_eq!(
            policy,
            format!(
                "script-src 'self' 'wasm-unsafe-eval' 'sha256-{hash}'; object-src 'none'; \
                 base-uri 'self'; frame-ancestors 'none'"
            )
        );
        assert!(!policy.contains("unsafe-inline") && !policy.contains("'unsafe-eval'"));
    }

    #[test]
    fn a_document_without_inline_script_gets_the_plain_policy() {
        assert_eq!(policy_for_document("<p>hi</p>"), POLICY);
    }
}
