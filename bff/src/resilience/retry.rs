//! The retry policy: idempotent reads (GET) only, after failures the upstream may recover
//! from (timeouts, connection errors, 5xx), with jittered exponential backoff, and only
//! while tower's retry budget allows it, so retries never multiply the load on an upstream
//! that is already struggling.

use std::sync::Arc;

use std::time::Duration;

use http::Method;
use serde::{Deserialize, Serialize};
use tower::retry::backoff::{Backoff, ExponentialBackoff, ExponentialBackoffMaker, MakeBackoff};
use tower::retry::budget::{Budget, TpsBudget};
use tower::retry::Policy;
use tower::util::rng::HasherRng;
use tower::BoxError;

use crate::resilience::breaker::CircuitOpen;
use crate::upstream::call::{BodyTooLarge, UpstreamRequest, UpstreamResponse};

/// Retries of idempotent reads (GET) only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetrySettings {
    /// Retries after the first attempt (0 disables retries).
    pub attempts: u32,
    /// Backoff before the first retry; it doubles up to `max_backoff`, with jitter.
    #[serde(with = "humantime_serde")]
    pub min_backoff: Duration,
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// The retry budget: retries may add at most this fraction of the recent requests…
    pub budget_ratio: f32,
    /// …plus this many retries per second whatever the traffic.
    pub budget_min_per_second: u32,
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            attempts: 2,
            min_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
            budget_ratio: 0.2,
            budget_min_per_second: 10,
        }
    }
}

/// How long the retry budget remembers requests.
const BUDGET_TTL: std::time::Duration = std::time::Duration::from_secs(10);

/// See the module documentation. Cloned per request (attempts and backoff are per request;
/// the budget is shared by the upstream).
#[derive(Debug, Clone)]
pub struct ReadRetryPolicy {
    attempts_left: u32,
    backoff: ExponentialBackoff<HasherRng>,
    budget: Arc<TpsBudget>,
}

impl ReadRetryPolicy {
    pub fn new(settings: &RetrySettings) -> Result<ReadRetryPolicy, String> {
        let max = settings
            .max_backoff
            .max(std::time::Duration::from_millis(1));
        let mut maker = ExponentialBackoffMaker::new(
            settings.min_backoff.min(max),
            max,
            // Up to 100% jitter: spreads retries of many callers apart.
            1.0,
            HasherRng::default(),
        )
        .map_err(|e| e.to_string())?;
        let ratio = settings.budget_ratio.clamp(0.0, 1000.0);
        Ok(ReadRetryPolicy {
            attempts_left: settings.attempts,
            backoff: maker.make_backoff(),
            budget: Arc::new(TpsBudget::new(
                BUDGET_TTL,
                settings.budget_min_per_second,
                ratio,
            )),
        })
    }
}

impl Policy<UpstreamRequest, UpstreamResponse, BoxError> for ReadRetryPolicy {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        req: &mut UpstreamRequest,
        result: &mut Result<UpstreamResponse, BoxError>,
    ) -> Option<Self::Future> {
        match result {
            Ok(_) => {
                self.budget.deposit();
                None
            }
            Err(e) => {
                if req.method != Method::GET
                    || e.is::<CircuitOpen>()
                    || e.is::<BodyTooLarge>()
                    || self.attempts_left == 0
                    || !self.budget.withdraw()
                {
                    return None;
                }
                self.attempts_left -= 1;
                Some(self.backoff.next_backoff())
            }
        }
    }

    fn clone_request(&mut self, req: &UpstreamRequest) -> Option<UpstreamRequest> {
        (req.method == Method::GET).then(|| req.clone())
    }
}
