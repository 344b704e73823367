//! Who holds a subscription connection, and for how long (DESIGN.md section 8):
//!
//! - the upgrade must come from an allowed `Origin` (the shop's own, or one of
//!   `subscriptions.allowed_origins`); a browser always sends one, so a page of another
//!   site cannot open a socket riding on the shop's cookie. A client that sends no `Origin`
//!   (not a browser) needs a bearer token or a cookie of its own anyway;
//! - the caller comes from the session cookie of the upgrade, or from a bearer token in the
//!   `connection_init` payload (`{"Authorization": "Bearer …"}`, or `{"token": "…"}`); a
//!   connection with neither is closed with 4403, as graphql-transport-ws says for a refused
//!   `connection_init`;
//! - a connection signed in by cookie is closed (4403) when its session ends: at once for a
//!   sign-out in this process ([`mall_auth::identity::Identity::ended_sessions`]), and within
//!   `subscriptions.session_recheck` for one that expired or ended on another replica;
//! - a connection signed in by a bearer token is closed (4403) when the token's `exp` passes
//!   ([`SignedIn::token_expires`]): a token outlives no more on a socket than on a request.

use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use mall_auth::http::cookie::session_id;
use mall_auth::http::principal::{self, Principal, Via};
use mall_auth::http::AuthState;
use mall_auth::policy::Caller;
use mall_auth::session::SessionId;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The close reason's prefix of a refused `connection_init` (the socket maps it to 4403).
pub const FORBIDDEN: &str = "Forbidden";

/// Who opened the socket, as the upgrade said.
#[derive(Debug, Clone)]
pub struct Upgrader {
    pub principal: Principal,
    /// The session cookie's id, to ask the store again whether the session still lives.
    pub session: Option<SessionId>,
}

/// Checks the upgrade: its `Origin`, and the caller of its cookie (or `Authorization`). A
/// refusal is the answer to send (403 for a foreign origin, 401 for a bad token).
pub async fn check_upgrade(
    auth: &AuthState,
    headers: &HeaderMap,
    allowed_origins: &[String],
) -> Result<Upgrader, Response> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        if !origin_allowed(origin, headers, allowed_origins) {
            return Err((
                StatusCode::FORBIDDEN,
                "this page's origin may not open GraphQL subscriptions here; add it to \
                 subscriptions.allowed_origins if it is one of the shop's own\n",
            )
                .into_response());
        }
    }
    let principal = principal::resolve(auth, &Method::GET, headers)
        .await
        .map_err(IntoResponse::into_response)?;
    let session = match principal.via {
        Via::Session(_) => session_id(headers),
        _ => None,
    };
    Ok(Upgrader { principal, session })
}

/// Same origin as the `Host` the upgrade was sent to, or one configured.
fn origin_allowed(origin: &str, headers: &HeaderMap, allowed: &[String]) -> bool {
    let origin = origin.trim_end_matches('/');
    if allowed
        .iter()
        .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    authority.is_some_and(|a| a.eq_ignore_ascii_case(host))
}

/// Who a connection belongs to once `connection_init` came.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub principal: Principal,
    /// When the bearer token of `connection_init` expires (its `exp`); `None` for a
    /// connection of the upgrade's cookie (its session is watched instead).
    pub token_expires: Option<SystemTime>,
}

/// The caller of the connection once `connection_init` came: a bearer token in its payload
/// wins over the upgrade's cookie; nobody at all is refused.
pub async fn on_init(
    auth: &AuthState,
    upgrader: &Upgrader,
    payload: &serde_json::Value,
) -> Result<SignedIn, String> {
    if let Some(token) = bearer_in(payload) {
        let verified = auth
            .verify_bearer(token)
            .await
            .map_err(|e| format!("{FORBIDDEN}: {e}"))?;
        let token_expires = verified
            .claims
            .get("exp")
            .and_then(serde_json::Value::as_u64)
            .map(|exp| UNIX_EPOCH + Duration::from_secs(exp));
        return Ok(SignedIn {
            principal: Principal {
                caller: verified.caller,
                via: Via::Bearer,
            },
            token_expires,
        });
    }
    match upgrader.principal.caller {
        Caller::Anonymous => Err(format!(
            "{FORBIDDEN}: sign in first (the shop's session cookie, or a bearer token in the \
             connection_init payload as {{\"Authorization\": \"Bearer …\"}})"
        )),
        _ => Ok(SignedIn {
            principal: upgrader.principal.clone(),
            token_expires: None,
        }),
    }
}

fn bearer_in(payload: &serde_json::Value) -> Option<&str> {
    let object = payload.as_object()?;
    for (key, value) in object {
        let Some(text) = value.as_str() else { continue };
        if key.eq_ignore_ascii_case("authorization") {
            let t = text.trim();
            return Some(
                t.strip_prefix("Bearer ")
                    .or_else(|| t.strip_prefix("bearer "))
                    .unwrap_or(t)
                    .trim(),
            );
        }
        if key == "token" {
            return Some(text.trim());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn only_the_shops_own_origin_or_a_configured_one_may_open_a_socket() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8088"));
        assert!(origin_allowed("http://127.0.0.1:8088", &h, &[]));
        assert!(origin_allowed("https://127.0.0.1:8088/", &h, &[]));
        assert!(!origin_allowed("http://evil.example", &h, &[]));
        assert!(!origin_allowed(
            "http://127.0.0.1:8088.evil.example",
            &h,
            &[]
        ));
        assert!(!origin_allowed("null", &h, &[]));
        let allowed = vec!["https://shop.example".to_owned()];
        assert!(origin_allowed("https://shop.example", &h, &allowed));
    }

    #[test]
    fn a_token_is_found_under_the_usual_keys() {
        use serde_json::json;
        assert_eq!(
            bearer_in(&json!({"Authorization": "Bearer abc"})),
            Some("abc")
        );
        assert_eq!(bearer_in(&json!({"authorization": "abc"})), Some("abc"));
        assert_eq!(bearer_in(&json!({"token": "abc"})), Some("abc"));
        assert_eq!(bearer_in(&json!({})), None);
        assert_eq!(bearer_in(&json!(null)), None);
    }
}
