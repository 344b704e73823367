//! The answers of the `/auth` routes and the caller extractor besides success, as
//! `application/problem+json` (RFC 9457).

use axum::extract::rejection::JsonRejection;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::identity::IdentityError;

#[derive(Debug, thiserror::Error)]
pub enum AuthProblem {
    /// The body is malformed or a field fails its check; the detail says what to fix.
    #[error("{0}")]
    BadRequest(String),
    #[error("send the body as JSON with `Content-Type: application/json`")]
    UnsupportedMediaType,
    /// Not signed in, or the credentials or token were not accepted. Never says which part
    /// was wrong.
    #[error("{detail}")]
    Unauthenticated {
        detail: &'static str,
        /// A bearer token was refused (adds `WWW-Authenticate: Bearer error="invalid_token"`).
        bearer: bool,
    },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    /// Our fault; the detail is logged, the client gets a generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AuthProblem {
    pub fn sign_in_first() -> AuthProblem {
        AuthProblem::Unauthenticated {
            detail: "sign in first",
            bearer: false,
        }
    }

    pub fn bad_token() -> AuthProblem {
        AuthProblem::Unauthenticated {
            detail: "the bearer token was not accepted; get a new one",
            bearer: true,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AuthProblem::BadRequest(_) => StatusCode::BAD_REQUEST,
            AuthProblem::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AuthProblem::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            AuthProblem::Forbidden(_) => StatusCode::FORBIDDEN,
            AuthProblem::Conflict(_) => StatusCode::CONFLICT,
            AuthProblem::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<IdentityError> for AuthProblem {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::Invalid(e) => AuthProblem::BadRequest(e.to_string()),
            IdentityError::EmailTaken => AuthProblem::Conflict(e.to_string()),
            IdentityError::WrongCredentials => AuthProblem::Unauthenticated {
                detail: "the email or the password is wrong",
                bearer: false,
            },
            other => AuthProblem::Internal(other.to_string()),
        }
    }
}

impl From<JsonRejection> for AuthProblem {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => AuthProblem::UnsupportedMediaType,
            JsonRejection::JsonSyntaxError(_) => {
                AuthProblem::BadRequest("the body is not valid JSON".into())
            }
            // The message names the missing or unknown field, never echoes a value.
            JsonRejection::JsonDataError(e) => AuthProblem::BadRequest(format!(
                "the body does not have the expected fields: {}",
                e.body_text()
            )),
            other => AuthProblem::BadRequest(other.body_text()),
        }
    }
}

impl IntoResponse for AuthProblem {
    fn into_response(self) -> Response {
        self.into_response_with(serde_json::Map::new())
    }
}

impl AuthProblem {
    /// The problem document, with these extension members added. An internal error's
    /// detail is logged here and replaced by a generic message.
    pub fn body_with(
        &self,
        members: serde_json::Map<String, serde_json::Value>,
    ) -> serde_json::Value {
        let status = self.status();
        let detail = match self {
            AuthProblem::Internal(detail) => {
                tracing::error!(%detail, "internal error in /auth");
                "the request could not be handled; it has been logged".to_owned()
            }
            other => other.to_string(),
        };
        let mut body = json!({
            "type": "about:blank",
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": detail,
        });
        if let Some(object) = body.as_object_mut() {
            object.extend(members);
        }
        body
    }

    /// The answer, with these extension members added to the problem document.
    pub fn into_response_with(
        self,
        members: serde_json::Map<String, serde_json::Value>,
    ) -> Response {
        let status = self.status();
        let body = self.body_with(members);
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response();
        if let AuthProblem::Unauthenticated { bearer: true, .. } = self {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        response
    }
}
