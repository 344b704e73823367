//! What one upstream call is, below every layer that handles it: the request, the answer
//! read whole (up to the upstream's `max_body_bytes`, never further), the 5xx failure the breaker and the retries count, and the innermost
//! service that sends it with the shared `reqwest::Client`. The layers (`resilience/*`) and
//! the stack that composes them (`stack.rs`) import this module, never the reverse.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, StatusCode};
use tower::{BoxError, Service};

/// One HTTP request to an upstream.
#[derive(Debug, Clone)]
pub struct UpstreamRequest {
    pub method: Method,
    pub url: String,
    pub headers: HeaderMap,
    pub body: Option<serde_json::Value>,
}

impl UpstreamRequest {
    pub fn get(url: impl Into<String>) -> UpstreamRequest {
        UpstreamRequest {
            method: Method::GET,
            url: url.into(),
            headers: HeaderMap::new(),
            body: None,
        }
    }
}

/// The upstream's answer, read whole (so the timeout covers the body too). Its headers are
/// not kept: nothing reads them, and copying them cost every call a few allocations.
#[derive(Debug, Clone)]
pub struct UpstreamResponse {
    pub status: StatusCode,
    pub body: Bytes,
}

/// A 5xx answer: an upstream failure for the breaker and the retries.
#[derive(Debug, thiserror::Error)]
#[error("answered {status}: {detail}")]
pub struct ServerFailure {
    pub status: StatusCode,
    pub detail: String,
}

/// An answer longer than the upstream's `max_body_bytes`: the read stopped there and the
/// connection was dropped. The same request would get the same answer, so it is not retried.
#[derive(Debug, thiserror::Error)]
#[error("its answer is larger than {limit} bytes (the upstream's max_body_bytes)")]
pub struct BodyTooLarge {
    pub limit: usize,
}

/// Room reserved up front for an answer; it grows as the bytes come, up to the cap.
const INITIAL_BODY_CAPACITY: usize = 16 * 1024;

/// Sends requests with the shared client, reading at most `max_body_bytes` of each answer.
#[derive(Debug, Clone)]
pub struct HttpService {
    client: reqwest::Client,
    max_body_bytes: usize,
}

impl HttpService {
    pub fn new(client: reqwest::Client, max_body_bytes: usize) -> HttpService {
        HttpService {
            client,
            max_body_bytes,
        }
    }
}

/// Reads an answer's body chunk by chunk, refusing it as soon as it passes `limit` (a
/// `Content-Length` past it is refused before reading anything).
async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Bytes, BoxError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BodyTooLarge { limit }.into());
    }
    let mut body = BytesMut::with_capacity(INITIAL_BODY_CAPACITY.min(limit));
    while let Some(chunk) = response.chunk().await? {
        if chunk.len() > limit - body.len() {
            return Err(BodyTooLarge { limit }.into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

impl Service<UpstreamRequest> for HttpService {
    type Response = UpstreamResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<UpstreamResponse, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: UpstreamRequest) -> Self::Future {
        let mut builder = self
            .client
            .request(req.method, &req.url)
            .headers(req.headers)
            .header(
                http::header::ACCEPT,
                "application/hal+json, application/json;q=0.9, application/problem+json;q=0.8",
            );
        if let Some(body) = &req.body {
            builder = builder.json(body);
        }
        let limit = self.max_body_bytes;
        Box::pin(async move {
            let response = builder.send().await?;
            let status = response.status();
            let body = read_capped(response, limit).await?;
            if status.is_server_error() {
                return Err(ServerFailure {
                    status,
                    detail: String::from_utf8_lossy(&body).chars().take(300).collect(),
                }
                .into());
            }
            Ok(UpstreamResponse { status, body })
        })
    }
}
