//! Who is calling, from the session cookie or a bearer token, and the cross-site rule for
//! cookie-authenticated writes.
//!
//! Use it as an extractor (`principal: Principal` in a handler of a router whose state gives
//! an [`AuthState`]) or as a middleware ([`resolve_caller`]) that puts the [`Principal`] in
//! the request's extensions for code that knows nothing of axum (the GraphQL schema).

use axum::extract::{FromRef, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::cookie::session_id;
use super::problem::AuthProblem;
use super::AuthState;
use crate::policy::Caller;
use crate::session::SessionKey;

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// Nothing (or a cookie whose session has ended).
    Nothing,
    /// The session cookie; the key names the session (to close its sockets when it ends).
    Session(SessionKey),
    /// `Authorization: Bearer`.
    Bearer,
}

/// The resolved caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub caller: Caller,
    pub via: Via,
}

impl Principal {
    pub const ANONYMOUS: Principal = Principal {
        caller: Caller::Anonymous,
        via: Via::Nothing,
    };
}

/// Whether a request may change something on the strength of a cookie: only as
/// `application/json`, which a cross-site form cannot send (and `fetch` cannot either
/// without a CORS preflight the BFF does not grant).
fn csrf_safe(method: &Method, headers: &HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// The caller of a request with these parts. A bearer token that fails its checks is an
/// error (a client sent it on purpose); a cookie whose session ended is just anonymous.
pub async fn resolve(
    state: &AuthState,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Principal, AuthProblem> {
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let token = auth
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(AuthProblem::bad_token)?;
        let verified = state.verify_bearer(token).await?;
        return Ok(Principal {
            caller: verified.caller,
            via: Via::Bearer,
        });
    }
    let Some(id) = session_id(headers) else {
        return Ok(Principal::ANONYMOUS);
    };
    let Some((session, account)) = state.identity.session(&id).await? else {
        return Ok(Principal::ANONYMOUS);
    };
    if !csrf_safe(method, headers) {
        return Err(AuthProblem::Forbidden(
            "a request signed in by cookie must be sent with `Content-Type: application/json`"
                .into(),
        ));
    }
    Ok(Principal {
        caller: account.caller(),
        via: Via::Session(session.key),
    })
}

impl<S> FromRequestParts<S> for Principal
where
    AuthState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthProblem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(p.clone());
        }
        let state = AuthState::from_ref(state);
        resolve(&state, &parts.method, &parts.headers).await
    }
}

/// Middleware: resolves the caller once and puts the [`Principal`] in the request's
/// extensions; refuses bad tokens and cross-site cookie writes before the handler runs.
/// `axum::middleware::from_fn_with_state(auth_state, resolve_caller)`.
pub async fn resolve_caller(
    State(state): State<AuthState>,
    mut req: Request,
    next: Next,
) -> Response {
    match resolve(&state, req.method(), req.headers()).await {
        Ok(p) => {
            req.extensions_mut().insert(p);
            next.run(req).await
        }
        Err(problem) => problem.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn only_json_writes_are_safe_by_cookie() {
        let mut h = HeaderMap::new();
        assert!(csrf_safe(&Method::GET, &h));
        assert!(!csrf_safe(&Method::POST, &h));
        for (ct, safe) in [
            ("application/json", true),
            ("Application/JSON; charset=utf-8", true),
            ("text/plain", false),
            ("application/x-www-form-urlencoded", false),
            ("multipart/form-data; boundary=x", false),
            ("application/jsonx", false),
        ] {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            assert_eq!(csrf_safe(&Method::POST, &h), safe, "{ct}");
            assert_eq!(csrf_safe(&Method::DELETE, &h), safe, "{ct}");
        }
    }
}
