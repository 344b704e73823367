//! Cross-cutting behaviour of upstream calls, as tower layers built once per upstream.
//!
//! - [`breaker`]: the circuit breaker (consecutive failures or a failure rate over a window;
//!   half-open probes after a cool-down), on tokio's clock so tests can pause time
//! - [`breaker_settings`]: the breaker's settings (beside it, composed by `config.rs`)
//! - [`retry`]: tower's retry with a policy that retries idempotent reads only, with jittered
//!   exponential backoff, under tower's retry budget
//! - [`observe`]: per-attempt request counts and latencies as metrics

pub mod breaker;
pub mod breaker_settings;
pub mod observe;
pub mod retry;
