//! What one process runs ([`Target`]) and on which event bus ([`BusChoice`]), as the flags
//! name them.

use std::str::FromStr;

use mall_services::Role;

/// What one process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Every role in one process, on the embedded bus and stores.
    All,
    Bff,
    Service(Role),
}

impl FromStr for Target {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "all" => Ok(Target::All),
            "bff" => Ok(Target::Bff),
            other => other.parse().map(Target::Service).map_err(|_| {
                format!(
                    "unknown target `{other}`; expected all, bff, order, delivery, product or mypage"
                )
            }),
        }
    }
}

/// Which event bus to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusChoice {
    Embedded,
    Nats(String),
}

impl FromStr for BusChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "embedded" {
            Ok(BusChoice::Embedded)
        } else if s.starts_with("nats://") {
            Ok(BusChoice::Nats(s.to_owned()))
        } else {
            Err(format!(
                "unknown bus `{s}`; use `embedded` or a NATS URL such as nats://127.0.0.1:4222"
            ))
        }
    }
}
