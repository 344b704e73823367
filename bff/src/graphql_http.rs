//! GraphQL over HTTP, as the GraphQL Foundation's specification says (and its reference
//! audits, `serverAudits` of the npm `graphql-http` package, check):
//!
//! - `POST /graphql` with `Content-Type: application/json` and a body
//!   `{"query", "operationName"?, "variables"?, "extensions"?}`; any other content type is a
//!   415 (which also keeps a cross-site form or `text/plain` POST from running anything);
//! - `GET /graphql?query=…&variables=<JSON>&operationName=…` runs queries only: a mutation
//!   over GET is a 405 with `Allow: POST`, so a link or a prefetch never changes anything;
//! - the answer is `application/graphql-response+json` when the client accepts it, else
//!   `application/json` (also for `*/*` and no `Accept` at all), else 406;
//! - a request that cannot be executed (malformed, or a document that does not parse or
//!   validate, or variables that do not coerce) has no `data` entry; it is a 400 under
//!   `application/graphql-response+json` and, as the specification keeps for legacy
//!   clients, a 200 under `application/json`. Malformed requests are a 400 under both.
//!
//! Every refusal is a GraphQL error document whose `extensions.code` is stable and whose
//! message says what to send instead.

use mall_auth::http::problem::AuthProblem;
use std::collections::HashMap;

use async_graphql::parser::types::OperationType;
use async_graphql::Variables;
use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::schema::errors::is_request_error;
use crate::schema::variables::selected_operation;

/// The media types the BFF answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/graphql-response+json`: status codes follow the request's fate.
    GraphqlResponse,
    /// `application/json`: every executed request is a 200.
    Json,
}

impl MediaType {
    fn content_type(self) -> &'static str {
        match self {
            MediaType::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        }
    }

    /// Picks the answer's media type from `Accept`: the one with the higher quality,
    /// `application/graphql-response+json` on a tie; `None` when neither is acceptable.
    pub fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
        let Some(accept) = headers.get(header::ACCEPT) else {
            return Some(MediaType::Json);
        };
        let accept = accept.to_str().unwrap_or("");
        if accept.trim().is_empty() {
            return Some(MediaType::Json);
        }
        let mut graphql = 0.0f32;
        let mut json = 0.0f32;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match media.as_str() {
                "application/graphql-response+json" => graphql = graphql.max(q),
                "application/json" | "application/*" | "*/*" => json = json.max(q),
                _ => {}
            }
        }
        if graphql > 0.0 && graphql >= json {
            Some(MediaType::GraphqlResponse)
        } else if json > 0.0 {
            Some(MediaType::Json)
        } else {
            None
        }
    }
}

/// Why a request was refused before anything ran.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("send the request as Content-Type: application/json (a body {{\"query\": \"...\"}})")]
    UnsupportedMediaType,
    #[error("the body is not JSON ({0}); send {{\"query\": \"...\"}} as JSON")]
    NotJson(String),
    #[error("the body must be a JSON object {{\"query\": \"...\"}}, one request at a time")]
    NotAnObject,
    #[error("the request has no `query`; send the GraphQL document as the `query` parameter")]
    MissingQuery,
    #[error("`{name}` must be {expected}")]
    InvalidParameter {
        name: &'static str,
        expected: &'static str,
    },
    #[error("the request body is larger than the {0} bytes allowed; send a smaller query")]
    TooLarge(usize),
    #[error("a GET request can only run a query; send mutations as POST")]
    NotAQuery,
    #[error(
        "the answer is only available as application/graphql-response+json or application/json; \
         accept one of them"
    )]
    NotAcceptable,
    /// Who is calling could not be established (a bad bearer token), or a cookie-signed
    /// write came as something a cross-site form can send: from [`AuthProblem`].
    #[error("{message}")]
    Caller {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
}

impl From<AuthProblem> for RequestError {
    fn from(problem: AuthProblem) -> RequestError {
        let status = problem.status();
        let code = match status {
            StatusCode::UNAUTHORIZED => "UNAUTHENTICATED",
            StatusCode::FORBIDDEN => "FORBIDDEN",
            StatusCode::BAD_REQUEST => "BAD_REQUEST",
            _ => "INTERNAL_SERVER_ERROR",
        };
        let message = match &problem {
            AuthProblem::Internal(detail) => {
                tracing::error!(%detail, "the caller could not be resolved");
                "who is calling could not be checked; it has been logged".to_owned()
            }
            other => other.to_string(),
        };
        RequestError::Caller {
            status,
            code,
            message,
        }
    }
}

impl RequestError {
    fn status(&self) -> StatusCode {
        match self {
            RequestError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            RequestError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            RequestError::NotAQuery => StatusCode::METHOD_NOT_ALLOWED,
            RequestError::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            RequestError::Caller { status, .. } => *status,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The stable `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            RequestError::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            RequestError::TooLarge(_) => "PAYLOAD_TOO_LARGE",
            RequestError::NotAQuery => "METHOD_NOT_ALLOWED",
            RequestError::NotAcceptable => "NOT_ACCEPTABLE",
            RequestError::Caller { code, .. } => code,
            _ => "BAD_REQUEST",
        }
    }

    /// The error document, in `media` (JSON when the client accepts neither type).
    pub fn into_response(self, media: Option<MediaType>) -> Response {
        let media = media.unwrap_or(MediaType::Json);
        let body =
            json!({"errors": [{"message": self.to_string(), "extensions": {"code": self.code()}}]});
        let mut response = respond(self.status(), media, body);
        if self == RequestError::NotAQuery {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        response
    }
}

/// The answer, its errors tagged with the request's id (`extensions.requestId`).
fn respond(status: StatusCode, media: MediaType, mut body: Value) -> Response {
    crate::request_id::tag_errors(&mut body);
    (
        status,
        [(header::CONTENT_TYPE, media.content_type())],
        body.to_string(),
    )
        .into_response()
}

/// Reads a POST body (at most `limit` bytes) into a request.
pub async fn read_post(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<async_graphql::Request, RequestError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence != "application/json" {
        return Err(RequestError::UnsupportedMediaType);
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(RequestError::TooLarge(limit));
    }
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| RequestError::TooLarge(limit))?;
    read_post_body(&bytes)
}

/// Reads the JSON body of a POST (`{"query", "operationName"?, "variables"?, "extensions"?}`)
/// into a request.
pub fn read_post_body(bytes: &[u8]) -> Result<async_graphql::Request, RequestError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| RequestError::NotJson(e.to_string()))?;
    let Value::Object(params) = value else {
        return Err(RequestError::NotAnObject);
    };
    from_params(params)
}

/// Reads a GET query string (`variables` and `extensions` as JSON text) into a request.
pub fn read_get(query_string: &str) -> Result<async_graphql::Request, RequestError> {
    let pairs: HashMap<String, String> = url::form_urlencoded::parse(query_string.as_bytes())
        .into_owned()
        .collect();
    let mut params = Map::new();
    for (name, value) in pairs {
        let value = match name.as_str() {
            "variables" | "extensions" if !value.is_empty() => serde_json::from_str(&value)
                .map_err(|_| RequestError::InvalidParameter {
                    name: if name == "variables" {
                        "variables"
                    } else {
                        "extensions"
                    },
                    expected: "a JSON object (URL-encoded)",
                })?,
            _ => Value::String(value),
        };
        params.insert(name, value);
    }
    let request = from_params(params)?;
    if !is_query(&request) {
        return Err(RequestError::NotAQuery);
    }
    Ok(request)
}

/// The request the parameters describe; their types as the specification says.
fn from_params(mut params: Map<String, Value>) -> Result<async_graphql::Request, RequestError> {
    let query = match params.remove("query") {
        Some(Value::String(q)) => q,
        None | Some(Value::Null) => return Err(RequestError::MissingQuery),
        Some(_) => {
            return Err(RequestError::InvalidParameter {
                name: "query",
                expected: "a string holding the GraphQL document",
            })
        }
    };
    let mut request = async_graphql::Request::new(query);
    match params.remove("operationName") {
        None | Some(Value::Null) => {}
        Some(Value::String(name)) => request = request.operation_name(name),
        Some(_) => {
            return Err(RequestError::InvalidParameter {
                name: "operationName",
                expected: "a string naming an operation of the document, or null",
            })
        }
    }
    match params.remove("variables") {
        None | Some(Value::Null) => {}
        Some(v @ Value::Object(_)) => request = request.variables(Variables::from_json(v)),
        Some(_) => {
            return Err(RequestError::InvalidParameter {
                name: "variables",
                expected: "an object mapping variable names to values, or null",
            })
        }
    }
    match params.remove("extensions") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                if let Ok(v) = async_graphql::Value::from_json(v) {
                    request.extensions.insert(k, v);
                }
            }
        }
        Some(_) => {
            return Err(RequestError::InvalidParameter {
                name: "extensions",
                expected: "an object, or null",
            })
        }
    }
    Ok(request)
}

/// Whether the operation the request selects is a query. A document that does not parse,
/// or names no operation it holds, counts as a query: executing it reports what is wrong.
pub fn is_query(request: &async_graphql::Request) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return true;
    };
    selected_operation(&document, request.operation_name.as_deref())
        .is_none_or(|op| op.ty == OperationType::Query)
}

/// The HTTP answer of an executed request, serialised once, straight from the response (its
/// fields in the order the query asked for them).
pub fn into_response(mut response: async_graphql::Response, media: MediaType) -> Response {
    if let Some(id) = crate::request_id::current() {
        for error in &mut response.errors {
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("requestId", id.as_str());
        }
    }
    /// A request error's answer: no `data` at all (GraphQL over HTTP).
    #[derive(serde::Serialize)]
    struct WithoutData<'a> {
        errors: &'a [async_graphql::ServerError],
        #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
    }
    let (status, body) = if is_request_error(&response) {
        let status = match media {
            MediaType::GraphqlResponse => StatusCode::BAD_REQUEST,
            MediaType::Json => StatusCode::OK,
        };
        let body = serde_json::to_vec(&WithoutData {
            errors: &response.errors,
            extensions: &response.extensions,
        });
        (status, body)
    } else {
        (StatusCode::OK, serde_json::to_vec(&response))
    };
    let body = body.unwrap_or_else(|e| {
        tracing::error!(error = %e, "a GraphQL response could not be serialised");
        br#"{"errors":[{"message":"the answer could not be written"}]}"#.to_vec()
    });
    let mut http = (status, [(header::CONTENT_TYPE, media.content_type())], body).into_response();
    if let Some(cache) = response.cache_control.value() {
        if let Ok(value) = HeaderValue::from_str(&cache) {
            http.headers_mut().insert(header::CACHE_CONTROL, value);
        }
    }
    http.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept"));
    http
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT,
            HeaderValue::from_str(value).expect("header"),
        );
        h
    }

    #[test]
    fn negotiates_the_answer_type() {
        assert_eq!(
            MediaType::negotiate(&HeaderMap::new()),
            Some(MediaType::Json)
        );
        assert_eq!(MediaType::negotiate(&accept("*/*")), Some(MediaType::Json));
        assert_eq!(
            MediaType::negotiate(&accept("application/json")),
            Some(MediaType::Json)
        );
        assert_eq!(
            MediaType::negotiate(&accept("application/graphql-response+json")),
            Some(MediaType::GraphqlResponse)
        );
        assert_eq!(
            MediaType::negotiate(&accept(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            Some(MediaType::GraphqlResponse)
        );
        assert_eq!(
            MediaType::negotiate(&accept(
                "application/graphql-response+json;q=0.5, application/json"
            )),
            Some(MediaType::Json)
        );
        assert_eq!(MediaType::negotiate(&accept("text/html")), None);
    }

    #[test]
    fn get_runs_queries_only() {
        assert!(read_get("query=%7B%20orders%20%7B%20id%20%7D%20%7D").is_ok());
        assert_eq!(
            read_get("query=mutation%20%7B%20cancelOrder(orderId%3A%201)%20%7B%20id%20%7D%20%7D")
                .err(),
            Some(RequestError::NotAQuery)
        );
        assert_eq!(
            read_get(
                "query=query%20A%20%7B%20a%20%7D%20mutation%20B%20%7B%20b%20%7D&operationName=B"
            )
            .err(),
            Some(RequestError::NotAQuery)
        );
        assert_eq!(read_get("").err(), Some(RequestError::MissingQuery));
        assert!(matches!(
            read_get("query=%7Ba%7D&variables=not-json").err(),
            Some(RequestError::InvalidParameter {
                name: "variables",
                ..
            })
        ));
    }

    #[test]
    fn parameters_of_the_wrong_type_are_refused() {
        let params = |v: Value| match v {
            Value::Object(m) => from_params(m).err(),
            _ => unreachable!("objects only"),
        };
        assert_eq!(params(json!({})), Some(RequestError::MissingQuery));
        assert!(matches!(
            params(json!({"query": 0})),
            Some(RequestError::InvalidParameter { name: "query", .. })
        ));
        assert!(matches!(
            params(json!({"query": "{a}", "operationName": ["x"]})),
            Some(RequestError::InvalidParameter {
                name: "operationName",
                ..
            })
        ));
        assert!(matches!(
            params(json!({"query": "{a}", "variables": "x"})),
            Some(RequestError::InvalidParameter {
                name: "variables",
                ..
            })
        ));
        assert!(matches!(
            params(json!({"query": "{a}", "extensions": false})),
            Some(RequestError::InvalidParameter {
                name: "extensions",
                ..
            })
        ));
        assert_eq!(
            params(
                json!({"query": "{a}", "operationName": null, "variables": null, "extensions": null})
            ),
            None
        );
    }
}
