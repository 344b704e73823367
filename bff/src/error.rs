//! The one error type of the BFF: upstream failures and bad input, each with a stable
//! `extensions.code` for GraphQL clients. No GraphQL here: the one conversion into GraphQL
//! errors is in `schema/errors.rs`.
//!
//! Messages reach clients, so they never carry what only the BFF's operators should see:
//! upstream URLs, upstream bodies, transport errors. Those are logged where the error is
//! made (`upstream::client`, [`BffError::protocol`]) and the message says the log has them.

use std::time::Duration;

use crate::upstream::Upstream;

/// What went wrong. Resolvers return it with `?`; the schema turns it into a GraphQL error
/// carrying `code` and `upstream` in its extensions.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BffError {
    #[error("the {upstream} service did not answer within {}", humantime_serde::re::humantime::format_duration(*.timeout))]
    UpstreamTimeout {
        upstream: Upstream,
        timeout: Duration,
    },
    #[error("the {upstream} service is unavailable: {detail}")]
    UpstreamUnavailable { upstream: Upstream, detail: String },
    #[error("the {upstream} service's answer cannot be used: {detail}")]
    UpstreamInvalid { upstream: Upstream, detail: String },
    #[error("the {upstream} service failed repeatedly, so the BFF stops calling it for a while (circuit open); try again later")]
    CircuitOpen { upstream: Upstream },
    #[error("{what} was not found")]
    NotFound {
        upstream: Option<Upstream>,
        what: String,
    },
    #[error("{message}")]
    BadUserInput {
        upstream: Option<Upstream>,
        message: String,
    },
    #[error(
        "live updates are not available: this BFF runs without an event bus. Run every role in \
         one process (`mall --target all`), or give the BFF the shared bus (`--bus nats://HOST:4222`)"
    )]
    LiveUnavailable,
    /// The request used up its calls to the services (`limits.max_upstream_calls`) or
    /// its time (`limits.request_deadline`); nothing more is fetched for it.
    #[error("{0}")]
    TooExpensive(String),
    /// No one is signed in and the field needs someone (DESIGN.md section 8).
    #[error("sign in first: this needs a signed-in customer or staff member (the shop's sign-in page, or `Authorization: Bearer` with a token from `mall token`)")]
    Unauthenticated,
    /// Signed in, and not allowed; the message says what the caller may do instead.
    #[error("{0}")]
    Forbidden(String),
    #[error("invalid BFF configuration: {0}")]
    Config(String),
    #[error("{0}")]
    Internal(String),
}

impl BffError {
    /// The stable code clients switch on.
    pub fn extension_code(&self) -> &'static str {
        match self {
            BffError::UpstreamTimeout { .. } => "UPSTREAM_TIMEOUT",
            BffError::UpstreamUnavailable { .. } => "UPSTREAM_UNAVAILABLE",
            BffError::UpstreamInvalid { .. } => "UPSTREAM_INVALID",
            BffError::CircuitOpen { .. } => "CIRCUIT_OPEN",
            BffError::NotFound { .. } => "NOT_FOUND",
            BffError::BadUserInput { .. } => "BAD_USER_INPUT",
            BffError::LiveUnavailable => "SUBSCRIPTIONS_UNAVAILABLE",
            BffError::Unauthenticated => "UNAUTHENTICATED",
            BffError::TooExpensive(_) => "REQUEST_TOO_EXPENSIVE",
            BffError::Forbidden(_) => "FORBIDDEN",
            BffError::Config(_) | BffError::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The upstream the error comes from, if any.
    pub fn upstream(&self) -> Option<Upstream> {
        match self {
            BffError::UpstreamTimeout { upstream, .. }
            | BffError::UpstreamUnavailable { upstream, .. }
            | BffError::UpstreamInvalid { upstream, .. }
            | BffError::CircuitOpen { upstream } => Some(*upstream),
            BffError::NotFound { upstream, .. } | BffError::BadUserInput { upstream, .. } => {
                *upstream
            }
            BffError::LiveUnavailable
            | BffError::Unauthenticated
            | BffError::TooExpensive(_)
            | BffError::Forbidden(_)
            | BffError::Config(_)
            | BffError::Internal(_) => None,
        }
    }

    /// Whether the upstream itself failed (as opposed to the request being wrong): the
    /// failures a stale copy may stand in for.
    pub fn is_upstream_failure(&self) -> bool {
        matches!(
            self,
            BffError::UpstreamTimeout { .. }
                | BffError::UpstreamUnavailable { .. }
                | BffError::UpstreamInvalid { .. }
                | BffError::CircuitOpen { .. }
        )
    }

    pub(crate) fn bad_input(message: impl Into<String>) -> BffError {
        BffError::BadUserInput {
            upstream: None,
            message: message.into(),
        }
    }

    /// An answer the BFF cannot use. The detail (it may quote the upstream's body or its
    /// links) goes to the log only.
    pub(crate) fn protocol(upstream: Upstream, detail: impl std::fmt::Display) -> BffError {
        tracing::warn!(%upstream, %detail, "an upstream answer cannot be read");
        BffError::UpstreamUnavailable {
            upstream,
            detail: DETAIL_IN_LOG.to_owned(),
        }
    }
}

/// What a client is told when the detail is for the BFF's log only.
pub(crate) const DETAIL_IN_LOG: &str = "its answer cannot be read (the BFF's log has the detail)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_protocol_error_does_not_quote_the_upstream() {
        let e = BffError::protocol(
            Upstream::Order,
            "bad link template `http://order.internal/orders{?page`",
        );
        assert!(!e.to_string().contains("http://"), "{e}");
        assert_eq!(e.extension_code(), "UPSTREAM_UNAVAILABLE");
    }
}
