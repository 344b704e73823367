//! Errors a client can act on, answered as `application/problem+json` (RFC 9457).
//!
//! Every 4xx and 5xx of a service has the one [`Problem`] shape: handlers answer
//! [`AppError`]s, and [`uniform`] rewrites whatever else answers an error (axum's own
//! rejections, the body limit, the 405 of a wrong method) into the same shape.

use axum::body::Body as HttpBody;
use axum::extract::rejection::JsonRejection;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::bus::BusError;
use crate::store::StoreError;

/// The media type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The largest request body a service reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// An RFC 9457 problem document, the body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status's reason phrase.
    pub title: String,
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// What went wrong and what to change, for a person.
    pub detail: String,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: detail.into(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_string(&self).unwrap_or_default();
        (status, [(header::CONTENT_TYPE, PROBLEM_JSON)], body).into_response()
    }
}

/// Everything a REST handler can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Malformed input: the detail says what to fix.
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed input that names something that does not exist (an unknown product).
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the resource's state (cancelling a cancelled order).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body is larger than [`MAX_BODY_BYTES`].
    #[error("the request body is larger than the {} KiB this service accepts", MAX_BODY_BYTES / 1024)]
    PayloadTooLarge,
    /// No caller, or a token that was refused: sign in (through the BFF) first.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Another service this one needs did not answer.
    #[error("{0}")]
    Unavailable(String),
    /// Our fault; the detail is logged, the client gets a generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl From<BusError> for AppError {
    fn from(e: BusError) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return AppError::PayloadTooLarge;
        }
        match r {
            JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType(
                "send the body as JSON with `Content-Type: application/json`".into(),
            ),
            JsonRejection::JsonSyntaxError(e) => {
                AppError::BadRequest(format!("the body is not valid JSON: {}", e.body_text()))
            }
            JsonRejection::JsonDataError(e) => AppError::BadRequest(format!(
                "the body does not have the expected fields: {}",
                e.body_text()
            )),
            other => AppError::BadRequest(other.body_text()),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            AppError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                "the service failed to handle this request; it has been logged".to_owned()
            }
            other => other.to_string(),
        };
        Problem::new(status, detail).into_response()
    }
}

/// The longest error text of another layer that is passed on as a problem's detail.
const MAX_FOREIGN_DETAIL: usize = 300;

/// Middleware: every error answer that is not yet a problem document becomes one, with the
/// same status and headers.
pub async fn uniform(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let detail = match status {
        // axum adds `Allow` outside this layer, so the detail points to it.
        StatusCode::METHOD_NOT_ALLOWED => {
            "this resource does not take this method; the `Allow` header lists those it takes"
                .to_owned()
        }
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge.to_string(),
        StatusCode::NOT_FOUND => {
            "no such resource; `GET /` lists what this service offers".to_owned()
        }
        _ => {
            let text = axum::body::to_bytes(body, 4 * MAX_FOREIGN_DETAIL)
                .await
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let text: String = text.trim().chars().take(MAX_FOREIGN_DETAIL).collect();
            if status.is_server_error() {
                tracing::error!(status = status.as_u16(), detail = %text, "error answer");
                "the service failed to handle this request; it has been logged".to_owned()
            } else if text.is_empty() {
                status.canonical_reason().unwrap_or("Error").to_owned()
            } else {
                text
            }
        }
    };
    let body = serde_json::to_string(&Problem::new(status, detail)).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    Response::from_parts(parts, HttpBody::from(body))
}

/// The JSON body extractor of the services: its rejections are problem documents.
///
/// A number written with a fraction of zero (`2.0`) is an integer in JSON Schema, so it is
/// taken where an integer is expected, as the OpenAPI documents promise.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for Body<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(mut value) =
            axum::Json::<serde_json::Value>::from_request(req, state).await?;
        integral_numbers_as_integers(&mut value);
        serde_path_to_error::deserialize(value)
            .map(Body)
            .map_err(|e| {
                let path = e.path().to_string();
                let at = if path == "." {
                    String::new()
                } else {
                    format!("{path}: ")
                };
                AppError::BadRequest(format!(
                    "the body does not have the expected fields: {at}{}",
                    e.inner()
                ))
            })
    }
}

/// Rewrites every float with no fractional part that fits an `i64` as that integer.
fn integral_numbers_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(f) = n.as_f64() {
                // 2^63 is exactly representable; every float below it in magnitude fits.
                if f.fract() == 0.0 && f.abs() < 9_223_372_036_854_775_808.0 {
                    *value = Value::from(f as i64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_numbers_as_integers),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_floats_become_integers_and_others_stay() {
        let mut v = serde_json::json!({"a": 2.0, "b": [-3.0, 1.5], "c": 1e300, "d": 7});
        integral_numbers_as_integers(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"a": 2, "b": [-3, 1.5], "c": 1e300, "d": 7})
        );
        assert!(v["a"].is_i64());
    }
}
