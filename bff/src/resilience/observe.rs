//! Metrics of every attempt sent to an upstream: `bff_upstream_requests_total` by upstream
//! and outcome, and `bff_upstream_request_duration_seconds` by upstream.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tower::{BoxError, Layer, Service};

use crate::upstream::Upstream;

#[derive(Debug, Clone)]
pub struct ObserveLayer {
    upstream: Upstream,
}

impl ObserveLayer {
    pub fn new(upstream: Upstream) -> ObserveLayer {
        ObserveLayer { upstream }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            inner,
            upstream: self.upstream,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Observe<S> {
    inner: S,
    upstream: Upstream,
}

/// The `outcome` label of an attempt.
fn outcome(error: &BoxError) -> &'static str {
    if error.is::<tower::timeout::error::Elapsed>() {
        "timeout"
    } else if error.is::<crate::upstream::call::ServerFailure>() {
        "server_error"
    } else {
        "unavailable"
    }
}

impl<S, Req> Service<Req> for Observe<S>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let upstream = self.upstream.as_str();
        let future = self.inner.call(req);
        Box::pin(async move {
            let started = tokio::time::Instant::now();
            let result = future.await.map_err(Into::into);
            let outcome = match &result {
                Ok(_) => "ok",
                Err(e) => outcome(e),
            };
            metrics::counter!("bff_upstream_requests_total", "upstream" => upstream, "outcome" => outcome)
                .increment(1);
            metrics::histogram!("bff_upstream_request_duration_seconds", "upstream" => upstream)
                .record(started.elapsed().as_secs_f64());
            result
        })
    }
}
