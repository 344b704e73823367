//! The retry policy: idempotent reads (GET) only, after failures the upstream may recover
//! from (timeouts, connection errors, 5xx), with jittered exponential backoff, and only
//! while tower's retry budget allows it, so retries never multiply the load on an upstream
//! that is already struggling.

use std::sync::Arc;

use http::Method;
use tower::retry::backoff::{Backoff, ExponentialBackoff, ExponentialBackoffMaker, MakeBackoff};
use tower::retry::budget::{Budget, TpsBudget};
use tower::retry::Policy;
use tower::util::rng::HasherRng;
use tower::BoxError;

use crate::config::RetrySettings;
use crate::resilience::breaker::CircuitOpen;
use crate::upstream::call::{UpstreamRequest, UpstreamResponse};

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
