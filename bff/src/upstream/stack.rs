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
//!
//! [`UpstreamSettings`] are the settings of one upstream's stack: its timeout and its layers'
//! own settings, each defined beside its layer (breaker, retry, stale copies).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tower::util::BoxCloneSyncService;
use tower::{BoxError, ServiceBuilder};

use crate::resilience::breaker::{Breaker, BreakerLayer};
use crate::resilience::breaker_settings::BreakerSettings;
use crate::resilience::observe::ObserveLayer;
use crate::resilience::retry::{ReadRetryPolicy, RetrySettings};
use crate::stale::StaleSettings;
use crate::upstream::call::{HttpService, UpstreamRequest, UpstreamResponse};
use crate::upstream::Upstream;

/// The default [`UpstreamSettings::max_body_bytes`]: far above the largest page the
/// contract allows (1,000 rows), far below what would hurt the process.
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// How one upstream is called.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamSettings {
    /// Time allowed for one call to the upstream, retries included (connect, headers and
    /// body); a hung attempt uses it up, so a caller never waits longer than this.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// The largest answer read from the upstream, in bytes; a longer one is not read
    /// further and fails as UPSTREAM_INVALID.
    pub max_body_bytes: usize,
    pub breaker: BreakerSettings,
    pub retry: RetrySettings,
    pub stale: StaleSettings,
}

impl Default for UpstreamSettings {
    fn default() -> Self {
        UpstreamSettings {
            timeout: Duration::from_secs(2),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            breaker: BreakerSettings::default(),
            retry: RetrySettings::default(),
            stale: StaleSettings::default(),
        }
    }
}

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
        .service(HttpService::new(client, settings.max_body_bytes));
    Ok(BoxCloneSyncService::new(service))
}
