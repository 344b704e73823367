//! The tower stack every call to one upstream goes through (it only composes layers; what
//! a call is lives in [`crate::upstream::call`]):
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

use tower::util::BoxCloneSyncService;
use tower::{BoxError, ServiceBuilder};

use crate::config::UpstreamSettings;
use crate::resilience::breaker::{Breaker, BreakerLayer};
use crate::resilience::observe::ObserveLayer;
use crate::resilience::retry::ReadRetryPolicy;
use crate::upstream::call::{HttpService, UpstreamRequest, UpstreamResponse};
use crate::upstream::Upstream;

/// The stack's service type.
pub type Stack = BoxCloneSyncService<UpstreamRequest, UpstreamResponse, BoxError>;

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
