//! The one error type of the BFF: upstream failures and bad input, each with a stable
//! `extensions.code` for GraphQL clients.

use std::time::Duration;

use async_graphql::ErrorExtensions;

use crate::upstream::Upstream;

/// What went wrong. Resolvers return it with `?`; [`BffError::extend`] turns it into a
/// GraphQL error carrying `code` and `upstream` in its extensions.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BffError {
    #[error("the {upstream} service did not answer within {}", humantime_serde::re::humantime::format_duration(*.timeout))]
    UpstreamTimeout {
        upstream: Upstream,
        timeout: Duration,
    },
    #[error("the {upstream} service is unavailable: {detail}")]
    UpstreamUnavailable { upstream: Upstream, detail: String },
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
            BffError::CircuitOpen { .. } => "CIRCUIT_OPEN",
            BffError::NotFound { .. } => "NOT_FOUND",
            BffError::BadUserInput { .. } => "BAD_USER_INPUT",
            BffError::LiveUnavailable => "SUBSCRIPTIONS_UNAVAILABLE",
            BffError::Config(_) | BffError::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The upstream the error comes from, if any.
    pub fn upstream(&self) -> Option<Upstream> {
        match self {
            BffError::UpstreamTimeout { upstream, .. }
            | BffError::UpstreamUnavailable { upstream, .. }
            | BffError::CircuitOpen { upstream } => Some(*upstream),
            BffError::NotFound { upstream, .. } | BffError::BadUserInput { upstream, .. } => {
                *upstream
            }
            BffError::LiveUnavailable | BffError::Config(_) | BffError::Internal(_) => None,
        }
    }

    /// Whether the upstream itself failed (as opposed to the request being wrong): the
    /// failures a stale copy may stand in for.
    pub fn is_upstream_failure(&self) -> bool {
        matches!(
            self,
            BffError::UpstreamTimeout { .. }
                | BffError::UpstreamUnavailable { .. }
                | BffError::CircuitOpen { .. }
        )
    }

    pub(crate) fn bad_input(message: impl Into<String>) -> BffError {
        BffError::BadUserInput {
            upstream: None,
            message: message.into(),
        }
    }

    pub(crate) fn protocol(upstream: Upstream, detail: impl std::fmt::Display) -> BffError {
        BffError::UpstreamUnavailable {
            upstream,
            detail: format!("its answer cannot be read: {detail}"),
        }
    }
}

impl ErrorExtensions for BffError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.to_string()).extend_with(|_, e| {
            e.set("code", self.extension_code());
            if let Some(u) = self.upstream() {
                e.set("upstream", u.as_str());
            }
        })
    }
}

/// Gives every error of a response that came from a [`BffError`] (through `?`, which keeps the
/// source) its `code` and `upstream` extensions: the one conversion point.
pub fn extend_errors(response: &mut async_graphql::Response) {
    for error in &mut response.errors {
        let Some(bff) = error.source::<BffError>() else {
            continue;
        };
        let code = bff.extension_code();
        let upstream = bff.upstream();
        let ext = error.extensions.get_or_insert_with(Default::default);
        ext.set("code", code);
        if let Some(u) = upstream {
            ext.set("upstream", u.as_str());
        }
    }
}
