//! The shop's one rule set ([`mall_auth::policy`]) asked by the resolvers, and its answers
//! as the BFF's errors: `UNAUTHENTICATED`, `FORBIDDEN`, or, for another customer's order or
//! delivery, exactly the NOT_FOUND an unknown one gets (ids reveal nothing).
//!
//! Every resolver that reads or changes something a customer owns asks here first; the
//! services ask the same policy again with the token the BFF signs for the call, so a
//! service reached directly is not an open door.

use async_graphql::Context;
use mall_auth::policy::{decide, Action, Caller, Decision};

use crate::error::BffError;
use crate::request_context::RequestContext;
use crate::upstream::Upstream;

use super::loaders::RequestData;

/// The request's context (who is calling).
pub fn request<'a>(ctx: &Context<'a>) -> Result<&'a RequestContext, BffError> {
    ctx.data::<RequestData>()
        .map(|d| &d.context)
        .map_err(|_| BffError::Internal("the request carries no context".into()))
}

pub fn caller<'a>(ctx: &Context<'a>) -> Result<&'a Caller, BffError> {
    request(ctx).map(RequestContext::caller)
}

/// Whom a listing is for: everyone's rows (staff) or one customer's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Staff asked for everything (`None`) or one customer's rows.
    Any(Option<String>),
    /// A customer: their own rows only.
    Own(String),
}

impl Scope {
    /// The customer whose rows are read, if one.
    pub fn customer(&self) -> Option<&str> {
        match self {
            Scope::Any(c) => c.as_deref(),
            Scope::Own(c) => Some(c),
        }
    }
}

/// A listing (`orders`, `deliveries`): staff see what they ask for; a customer sees their own
/// rows, and asking for another customer's is FORBIDDEN.
pub fn listing(
    caller: &Caller,
    action: Action<'_>,
    asked: Option<&str>,
    what: &str,
) -> Result<Scope, BffError> {
    match decide(caller, action) {
        Decision::Allow => Ok(Scope::Any(asked.map(str::to_owned))),
        Decision::AllowOwn { customer } => match asked {
            Some(other) if !same_customer(other, &customer) => Err(BffError::Forbidden(format!(
                "a customer sees only their own {what}: leave customerId out (or give your own)"
            ))),
            _ => Ok(Scope::Own(customer)),
        },
        refused => Err(refusal(refused, || what.to_owned())),
    }
}

/// The customer a per-customer field is about: the one asked for, else the caller.
pub fn customer_of(caller: &Caller, asked: Option<&str>) -> Result<String, BffError> {
    match (asked, caller.id()) {
        (Some(c), _) => Ok(c.to_owned()),
        (None, Some(me)) => Ok(me.to_owned()),
        (None, None) => Err(BffError::Unauthenticated),
    }
}

/// Asks the rule set; a refusal becomes the error the client sees. `what` names the thing
/// for a NOT_FOUND (`order 7`), which then reads exactly as for an unknown one.
pub fn allow(
    caller: &Caller,
    action: Action<'_>,
    upstream: Upstream,
    what: impl FnOnce() -> String,
) -> Result<(), BffError> {
    match decide(caller, action) {
        Decision::Allow | Decision::AllowOwn { .. } => Ok(()),
        Decision::NotFound => Err(BffError::NotFound {
            upstream: Some(upstream),
            what: what(),
        }),
        refused => Err(refusal(refused, what)),
    }
}

/// Refuses an anonymous caller before anything is fetched.
pub fn signed_in(caller: &Caller) -> Result<(), BffError> {
    match caller {
        Caller::Anonymous => Err(BffError::Unauthenticated),
        _ => Ok(()),
    }
}

fn refusal(decision: Decision, what: impl FnOnce() -> String) -> BffError {
    match decision {
        Decision::Unauthenticated => BffError::Unauthenticated,
        Decision::NotFound => BffError::NotFound {
            upstream: None,
            what: what(),
        },
        _ => BffError::Forbidden(format!(
            "you may not do this with {}: it needs another account or the staff role",
            what()
        )),
    }
}

/// Customer ids are emails: compared without regard to case or surrounding spaces.
fn same_customer(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}
