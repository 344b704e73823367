//! One module per scenario of the benchmark issue, each adding its rows and reading to the
//! report.

pub mod breaker;
pub mod composite;
pub mod frontend;
pub mod overhead;
pub mod subscriptions;
