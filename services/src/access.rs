//! Who calls a service, and what the shop's one rule set ([`mall_auth::policy`]) lets them
//! do (DESIGN.md section 8). The BFF calls each service with a short-lived token it signs
//! for that call (audience = the service); the service checks it with the BFF's public
//! keys and asks the same policy the BFF asked, so a service reached directly is no open
//! door: without a token only the catalogue and the documents that describe the API
//! (root, profiles, search listings, OpenAPI) answer.
//!
//! [`ServiceAuth::Open`] checks nothing: the library's own tests, and a service run alone
//! for development, as a Spring Data REST service without security would be. The `mall`
//! binary always runs its services with [`ServiceAuth::Verify`].

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mall_auth::policy::{decide, Action, Caller, Decision};
use mall_auth::token::{Expectations, JwkSet, TokenError};
use mall_auth::verifier::{JwksSettings, Verifier};

use crate::problem::AppError;
use crate::Role;

/// How a service learns who is calling.
#[derive(Clone, Default)]
pub enum ServiceAuth {
    /// Every request may do everything (tests, development).
    #[default]
    Open,
    /// Bearer tokens signed by the BFF: with its keys at hand (same process) or fetched
    /// from its `/auth/jwks.json`.
    Verify { keys: Keys, issuer: String },
}

impl std::fmt::Debug for ServiceAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServiceAuth::Open => f.write_str("Open"),
            ServiceAuth::Verify { issuer, .. } => {
                f.debug_struct("Verify").field("issuer", issuer).finish()
            }
        }
    }
}

/// Where the BFF's public keys come from.
#[derive(Clone)]
pub enum Keys {
    Fixed(JwkSet),
    Remote {
        jwks_url: String,
        settings: JwksSettings,
    },
}

impl ServiceAuth {
    /// The check of one role's requests (audience = the role's name).
    pub fn for_role(&self, role: Role) -> RoleAuth {
        match self {
            ServiceAuth::Open => RoleAuth(None),
            ServiceAuth::Verify { keys, issuer } => {
                let expect = Expectations::bff(issuer, role.name());
                let verifier = match keys {
                    Keys::Fixed(set) => Verifier::fixed(set.clone(), expect),
                    Keys::Remote { jwks_url, settings } => Verifier::remote(
                        jwks_url.clone(),
                        reqwest::Client::new(),
                        settings.clone(),
                        expect,
                    ),
                };
                RoleAuth(Some(Arc::new(verifier)))
            }
        }
    }
}

/// One role's check: a verifier, or none when open.
#[derive(Clone)]
pub struct RoleAuth(Option<Arc<Verifier>>);

/// The caller of one request, as the middleware resolved it; handlers take it as
/// `Extension<Access>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access(Option<Caller>);

impl Access {
    /// Anything goes ([`ServiceAuth::Open`]).
    pub const OPEN: Access = Access(None);

    fn decide(&self, action: Action<'_>) -> Decision {
        match &self.0 {
            None => Decision::Allow,
            Some(caller) => decide(caller, action),
        }
    }

    /// A listing: `Ok(None)` for every row, `Ok(Some(customer))` for one customer's rows
    /// only. `asked` is the customer a search names: a customer asking for another's rows is
    /// refused with 403.
    pub fn listing(
        &self,
        action: Action<'_>,
        asked: Option<&str>,
    ) -> Result<Option<String>, AppError> {
        match self.decide(action) {
            Decision::Allow => Ok(None),
            Decision::AllowOwn { customer } => match asked {
                Some(other) if other != customer => Err(AppError::Forbidden(
                    "a customer may list only their own rows".into(),
                )),
                _ => Ok(Some(customer)),
            },
            refused => Err(refusal(refused, String::new())),
        }
    }

    /// An action on one thing; a NOT_FOUND decision answers `not_found` (the message an
    /// unknown id gets), so ids reveal nothing.
    pub fn allow(&self, action: Action<'_>, not_found: impl Into<String>) -> Result<(), AppError> {
        match self.decide(action) {
            Decision::Allow | Decision::AllowOwn { .. } => Ok(()),
            refused => Err(refusal(refused, not_found.into())),
        }
    }

    /// Refuses a caller without a token (before anything is read).
    pub fn signed_in(&self) -> Result<(), AppError> {
        match &self.0 {
            Some(Caller::Anonymous) => Err(refusal(Decision::Unauthenticated, String::new())),
            _ => Ok(()),
        }
    }
}

fn refusal(decision: Decision, not_found: String) -> AppError {
    match decision {
        Decision::Unauthenticated => AppError::Unauthorized(
            "this needs a signed-in caller: call it through the BFF (or with a token it signed)"
                .into(),
        ),
        Decision::NotFound => AppError::NotFound(not_found),
        _ => AppError::Forbidden("the caller may not do this".into()),
    }
}

/// Middleware: resolves the caller from `Authorization: Bearer` and puts the [`Access`] in
/// the request's extensions; a token that fails its checks is refused with 401.
pub async fn resolve(State(auth): State<RoleAuth>, mut req: Request, next: Next) -> Response {
    let access = match &auth.0 {
        None => Access::OPEN,
        Some(verifier) => {
            match caller(verifier, req.headers().get(header::AUTHORIZATION).cloned()).await {
                Ok(caller) => Access(Some(caller)),
                Err(e) => return e.into_response(),
            }
        }
    };
    req.extensions_mut().insert(access);
    next.run(req).await
}

async fn caller(
    verifier: &Verifier,
    authorization: Option<axum::http::HeaderValue>,
) -> Result<Caller, AppError> {
    let Some(value) = authorization else {
        return Ok(Caller::Anonymous);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| {
            AppError::Unauthorized("send the token as `Authorization: Bearer …`".into())
        })?;
    match verifier.verify(token).await {
        Ok(v) => Ok(v.caller),
        Err(TokenError::Refused(reason)) => {
            tracing::info!(%reason, "bearer token refused");
            Err(AppError::Unauthorized(
                "the bearer token was not accepted".into(),
            ))
        }
        Err(other) => {
            tracing::warn!(error = %other, "a bearer token could not be checked");
            Err(AppError::Unavailable(
                "the caller cannot be checked now; try again shortly".into(),
            ))
        }
    }
}
