//! One module per scenario of the benchmark issue, each adding its rows and reading to the
//! report.

pub mod composite;
