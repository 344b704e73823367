//! What every request carries from the edge down to its upstream calls (DESIGN.md sections
//! 8 and 9): who is calling. The schema puts one in each request's data; the gateway and
//! the upstream clients take it on every call, which signs the caller's token with it.

use mall_auth::http::principal::Principal;
use mall_auth::policy::Caller;

/// One request's context. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RequestContext {
    principal: Principal,
}

impl RequestContext {
    pub fn new(principal: Principal) -> RequestContext {
        RequestContext { principal }
    }

    /// No one signed in: what the BFF's own background reads (root documents) use.
    pub fn anonymous() -> RequestContext {
        RequestContext::new(Principal::ANONYMOUS)
    }

    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    pub fn caller(&self) -> &Caller {
        &self.principal.caller
    }
}
