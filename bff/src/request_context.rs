//! What every request carries from the edge down to its upstream calls (DESIGN.md sections
//! 8 and 9): who is calling, what the request may still spend (calls to the services and
//! time), and its request id, so that work done on other tasks for it (the DataLoaders'
//! batches, a WebSocket's operations) logs under that id ([`RequestContext::span`]). The schema puts one in each request's data; the gateway and the upstream
//! clients take it on every call, which signs the caller's token with it and spends one
//! call of its budget ([`RequestContext::spend`]) before anything is sent.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mall_auth::http::principal::Principal;
use mall_auth::policy::Caller;
use tokio::time::Instant;

use crate::error::BffError;

/// One request's context. Cheap to clone: clones share the budget.
#[derive(Debug, Clone)]
pub struct RequestContext {
    principal: Principal,
    budget: Arc<Budget>,
    /// The id the edge gave the request (`x-request-id`); a WebSocket's operations carry
    /// their connection's.
    request_id: Option<Arc<str>>,
}

/// Calls left and the deadline; `None`: not limited.
#[derive(Debug)]
struct Budget {
    calls: Option<(AtomicU32, u32)>,
    deadline: Option<(Instant, Duration)>,
}

impl RequestContext {
    /// A context without limits (a subscription's snapshots, the tests' direct execution).
    pub fn new(principal: Principal) -> RequestContext {
        RequestContext {
            principal,
            budget: Arc::new(Budget {
                calls: None,
                deadline: None,
            }),
            request_id: None,
        }
    }

    /// No one signed in: what the BFF's own background reads (root documents) use.
    pub fn anonymous() -> RequestContext {
        RequestContext::new(Principal::ANONYMOUS)
    }

    /// At most `calls` calls to the services, all started within `time` from now.
    pub fn limited(principal: Principal, calls: u32, time: Duration) -> RequestContext {
        RequestContext {
            principal,
            budget: Arc::new(Budget {
                calls: Some((AtomicU32::new(calls), calls)),
                deadline: Some((Instant::now() + time, time)),
            }),
            request_id: None,
        }
    }

    /// The same context, known by the request id `id`.
    pub fn with_request_id(mut self, id: Option<String>) -> RequestContext {
        self.request_id = id.map(Arc::from);
        self
    }

    /// The request id, when the request came through the edge.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// A `request` span with the request id, as the edge opens for the request's own task:
    /// entered by work the request spawns, whose log lines then carry the id too.
    pub fn span(&self) -> tracing::Span {
        match self.request_id() {
            Some(id) => tracing::info_span!("request", request_id = %id),
            None => tracing::Span::none(),
        }
    }

    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    pub fn caller(&self) -> &Caller {
        &self.principal.caller
    }

    /// Takes one call from the budget, or says why the request may make no more.
    pub fn spend(&self) -> Result<(), BffError> {
        if let Some((deadline, time)) = self.budget.deadline {
            if Instant::now() >= deadline {
                return Err(BffError::TooExpensive(format!(
                    "this request ran past its {} (limits.request_deadline); ask for less at once",
                    humantime_serde::re::humantime::format_duration(time)
                )));
            }
        }
        if let Some((left, limit)) = &self.budget.calls {
            let taken =
                left.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
            if taken.is_err() {
                return Err(BffError::TooExpensive(format!(
                    "this request needs more than {limit} calls to the services \
                     (limits.max_upstream_calls); ask for fewer fields, aliases or rows at once"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_budget_runs_out_by_calls_and_by_time() {
        let ctx = RequestContext::limited(Principal::ANONYMOUS, 2, Duration::from_secs(5));
        let clone = ctx.clone();
        assert!(ctx.spend().is_ok());
        assert!(clone.spend().is_ok(), "clones share one budget");
        let e = ctx.spend().expect_err("a third call");
        assert_eq!(e.extension_code(), "REQUEST_TOO_EXPENSIVE");

        let ctx = RequestContext::limited(Principal::ANONYMOUS, 100, Duration::from_secs(5));
        assert!(ctx.spend().is_ok());
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(ctx
            .spend()
            .expect_err("late")
            .to_string()
            .contains("request_deadline"));
        assert!(RequestContext::anonymous().spend().is_ok());
    }
}
