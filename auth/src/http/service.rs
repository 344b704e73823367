//! The caller as a domain service sees it: from the short-lived token the BFF signed for
//! this call (`Authorization: Bearer`, audience = the service), checked with the BFF's keys.
//! A call without a token is anonymous (the catalogue only); a token that fails its checks
//! is refused with 401.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use super::problem::AuthProblem;
use crate::policy::Caller;
use crate::token::TokenError;
use crate::verifier::Verifier;

/// Extractor for the services' handlers; their state must give a [`Verifier`] (usually
/// [`Verifier::remote`] on the BFF's `/auth/jwks.json`, audience = the service's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCaller(pub Caller);

impl<S> FromRequestParts<S> for ServiceCaller
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthProblem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Some(auth) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(ServiceCaller(Caller::Anonymous));
        };
        let token = auth
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(AuthProblem::bad_token)?;
        match Verifier::from_ref(state).verify(token).await {
            Ok(v) => Ok(ServiceCaller(v.caller)),
            Err(TokenError::Refused(reason)) => {
                tracing::info!(%reason, "bearer token refused");
                Err(AuthProblem::bad_token())
            }
            Err(other) => Err(AuthProblem::Internal(other.to_string())),
        }
    }
}
