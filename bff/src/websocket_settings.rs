//! The settings of the WebSocket connections of subscriptions (`[subscriptions]`), read by
//! `websocket.rs`. In a file of their own so that the configuration tree can hold them
//! without importing the socket code (which imports the gateway, which reads the tree).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How the BFF keeps the WebSocket connections of subscriptions healthy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SubscriptionSettings {
    /// How often the BFF sends each connection a graphql-transport-ws `ping` (clients answer
    /// `pong`); it keeps proxies from closing quiet connections and finds dead ones.
    #[serde(with = "humantime_serde")]
    pub ping_interval: Duration,
    /// A connection from which nothing arrived for this long (not even a `pong`) is closed.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// A client that has not taken a message within this long (it stopped reading its
    /// socket) is disconnected, which releases everything its subscriptions held.
    #[serde(with = "humantime_serde")]
    pub send_timeout: Duration,
    /// A connection that has not sent `connection_init` this long after the upgrade is
    /// closed with 4408, whatever else it sends meanwhile (the graphql-ws library's own
    /// default is 3 s).
    #[serde(with = "humantime_serde")]
    pub init_timeout: Duration,
    /// Operations one connection may run at a time; one more is answered with an `error`
    /// message (code TOO_MANY_SUBSCRIPTIONS) and the connection stays open.
    pub max_subscriptions_per_connection: usize,
    /// WebSocket connections the BFF holds at a time; past it an upgrade is refused with 503.
    /// The default leaves room for the bench's 10,000 subscribers (one socket each) while
    /// the sockets of an earlier run are still closing.
    pub max_connections: usize,
    /// WebSocket connections one signed-in session (the shop's cookie) holds at a time; one
    /// more is closed at its `connection_init` with 1008 and a reason naming this setting.
    /// The shop opens one per live component, so a person with several tabs open stays
    /// within it. Bearer-token clients (services, benchmarks) are bound by
    /// `max_connections` and the rate limits.
    pub max_connections_per_session: usize,
    /// Origins besides the shop's own (the `Host` the upgrade came to) whose pages may open
    /// subscription connections, e.g. `https://shop.example` behind a proxy (from the
    /// environment: several separated by commas).
    #[serde(deserialize_with = "crate::setting_list::deserialize")]
    pub allowed_origins: Vec<String>,
    /// How often a connection signed in by cookie asks the store whether its session still
    /// lives (it expired, or ended on another replica); a sign-out in this process closes
    /// its connections at once.
    #[serde(with = "humantime_serde")]
    pub session_recheck: Duration,
}

impl Default for SubscriptionSettings {
    fn default() -> Self {
        SubscriptionSettings {
            ping_interval: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(60),
            send_timeout: Duration::from_secs(10),
            init_timeout: Duration::from_secs(3),
            max_subscriptions_per_connection: 20,
            max_connections: 20_000,
            max_connections_per_session: 16,
            allowed_origins: Vec::new(),
            session_recheck: Duration::from_secs(30),
        }
    }
}
