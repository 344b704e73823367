//! The circuit breaker's settings, beside the breaker (`breaker.rs`); `config.rs` composes
//! them into each upstream's settings.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// When the circuit opens and how it recovers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerSettings {
    /// Open after this many failures in a row.
    pub consecutive_failures: u32,
    /// Or open when the failure rate over the last `window` calls reaches this (0.0 to 1.0).
    pub failure_rate: f64,
    /// How many recent calls the failure rate is computed over (it is only computed once
    /// the window is full).
    pub window: u32,
    /// How long the circuit stays open before half-open probes are let through.
    #[serde(with = "humantime_serde")]
    pub cool_down: Duration,
    /// How many probes may be in flight while half-open; one success closes the circuit.
    pub half_open_probes: u32,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        BreakerSettings {
            consecutive_failures: 5,
            failure_rate: 0.5,
            window: 20,
            cool_down: Duration::from_secs(10),
            half_open_probes: 1,
        }
    }
}
