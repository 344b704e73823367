//! Request ids: every answer of the BFF carries `x-request-id`, the log lines written while
//! it was handled carry it (a `request` span with `request_id`), and so do the GraphQL
//! errors it answers (`extensions.requestId`), so that a person can quote the id and an
//! operator can find what the logs say about it.
//!
//! The id is the client's own `x-request-id` when it is well formed (1 to
//! [`MAX_REQUEST_ID_LEN`] characters of letters, digits and `-._~:+/=`, as UUIDs, trace ids
//! and base64 tokens are), so a proxy's or a caller's id goes on; otherwise a new UUID v4
//! (tower-http's request-id layers set it and copy it to the answer).

use axum::extract::Request;
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use serde_json::Value;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tracing::Instrument;

/// The header.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest id taken from a client.
pub const MAX_REQUEST_ID_LEN: usize = 128;

tokio::task_local! {
    /// The id of the request this task is handling.
    static CURRENT: String;
}

/// The id of the request being handled by this task, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Whether a client's id is kept as it is.
pub fn is_well_formed(id: &str) -> bool {
    (1..=MAX_REQUEST_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~:+/=".contains(&b))
}

/// `router` with request ids on every request and answer, its fallback included.
pub fn apply(router: Router) -> Router {
    // The last layer added runs first: a malformed id is dropped, an id is set when there
    // is none, the answer gets it, and the handling runs in its span and task-local.
    router
        .layer(axum::middleware::from_fn(scope))
        .layer(PropagateRequestIdLayer::new(X_REQUEST_ID.clone()))
        .layer(SetRequestIdLayer::new(
            X_REQUEST_ID.clone(),
            MakeRequestUuid,
        ))
        .layer(axum::middleware::map_request(drop_malformed))
}

async fn drop_malformed(mut request: Request) -> Request {
    let malformed = request
        .headers()
        .get_all(&X_REQUEST_ID)
        .iter()
        .any(|v| !v.to_str().is_ok_and(is_well_formed));
    if malformed || request.headers().get_all(&X_REQUEST_ID).iter().count() > 1 {
        request.headers_mut().remove(&X_REQUEST_ID);
    }
    request
}

async fn scope(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    CURRENT.scope(id, next.run(request)).instrument(span).await
}

/// Adds `extensions.requestId` (the current request's id) to every error of a GraphQL
/// answer's `errors`; nothing outside a request.
pub fn tag_errors(body: &mut Value) {
    let Some(id) = current() else {
        return;
    };
    let Some(errors) = body.get_mut("errors").and_then(Value::as_array_mut) else {
        return;
    };
    for error in errors {
        let Some(error) = error.as_object_mut() else {
            continue;
        };
        let extensions = error
            .entry("extensions")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(extensions) = extensions.as_object_mut() {
            extensions.insert("requestId".into(), Value::String(id.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_of_the_usual_shapes_are_kept() {
        assert!(is_well_formed("0b0c6f6e-3f5e-4a8c-9a35-2a1e9f1b8c11"));
        assert!(is_well_formed(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        ));
        assert!(is_well_formed("dGVzdA=="));
        assert!(!is_well_formed(""));
        assert!(!is_well_formed("two words"));
        assert!(!is_well_formed("<script>"));
        assert!(!is_well_formed(&"a".repeat(MAX_REQUEST_ID_LEN + 1)));
    }

    #[tokio::test]
    async fn errors_are_tagged_inside_a_request_only() {
        let mut body = serde_json::json!({"errors": [{"message": "no"}]});
        tag_errors(&mut body);
        assert!(body["errors"][0].get("extensions").is_none());
        CURRENT
            .scope("abc".to_owned(), async {
                tag_errors(&mut body);
            })
            .await;
        assert_eq!(body["errors"][0]["extensions"]["requestId"], "abc");
    }
}
