//! What one upstream call is, and the tower stack every call to one upstream goes through:
//!
//! breaker → timeout (the whole call) → retry (GET only, budgeted, jittered backoff)
//! → observe (metrics per attempt) → timeout (per attempt) → HTTP (the shared `reqwest::Client`)
//!
//! `timeout` bounds the whole call, retries included: a caller waits at most that long
//! for an upstream however it fails. Retries only use what time is left, so they help with
//! fast failures (a refused connection, a 503) and never turn one hung upstream into
//! several timeouts in a row.
//!
//! The stack is built once per upstream and cloned per call; clones share the breaker, the
//! retry budget and the connection pool.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use tower::util::BoxCloneSyncService;
use tower::{BoxError, Service, ServiceBuilder};

use crate::config::UpstreamSettings;
use crate::resilience::breaker::{Breaker, BreakerLayer};
use crate::resilience::observe::ObserveLayer;
use crate::resilience::retry::ReadRetryPolicy;
use crate::upstream::Upstream;

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

/// The upstream's answer, read whole (so the timeout covers the body too).
#[derive(Debug, Clone)]
pub struct UpstreamResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A 5xx answer: an upstream failure for the breaker and the retries.
#[derive(Debug, thiserror::Error)]
#[error("answered {status}: {detail}")]
pub struct ServerFailure {
    pub status: StatusCode,
    pub detail: String,
}

/// The stack's service type.
pub type Stack = BoxCloneSyncService<UpstreamRequest, UpstreamResponse, BoxError>;

/// Sends requests with the shared client.
#[derive(Debug, Clone)]
pub struct HttpService {
    client: reqwest::Client,
}

impl HttpService {
    pub fn new(client: reqwest::Client) -> HttpService {
        HttpService { client }
    }
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
        Box::pin(async move {
            let response = builder.send().await?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await?;
            if status.is_server_error() {
                return Err(ServerFailure {
                    status,
                    detail: String::from_utf8_lossy(&body).chars().take(300).collect(),
                }
                .into());
            }
            Ok(UpstreamResponse {
                status,
                headers,
                body,
            })
        })
    }
}

/// Builds the stack of one upstream.
pub fn build(
    upstream: Upstream,
    settings: &UpstreamSettings,
    client: reqwest::Client,
    breaker: Breaker,
) -> Result<Stack, crate::BffError> {
    let retry = ReadRetryPolicy::new(&settings.retry)
        .map_err(|e| crate::BffError::Config(format!("{upstream} retry settings: {e}")))?;
    let service = ServiceBuilder::new()
        .layer(BreakerLayer::new(breaker))
        .timeout(settings.timeout)
        .retry(retry)
        .layer(ObserveLayer::new(upstream))
        .timeout(settings.timeout)
        .service(HttpService::new(client));
    Ok(BoxCloneSyncService::new(service))
}
