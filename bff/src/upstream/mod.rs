//! The four upstream services (the [`Upstream`] enum, their root URLs in [`UpstreamUrls`])
//! and how they are called.
//!
//! - [`hal`]: HAL documents (`_links`, `_embedded`, `page`) and RFC 6570 link templates
//! - [`call`]: what one call is (request, answer, 5xx failure) and the HTTP service
//! - [`stack`]: the per-upstream tower stack, composing `resilience`'s layers over `call`
//! - [`client`]: one [`UpstreamClient`] per upstream: discovery from the root document,
//!   following links, paging, stale copies

pub mod call;
pub mod client;
pub mod hal;
pub mod stack;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use client::UpstreamClient;

/// Default root URL of the order service (the course's port).
pub const DEFAULT_ORDER_URL: &str = "http://127.0.0.1:8081";
/// Default root URL of the delivery service.
pub const DEFAULT_DELIVERY_URL: &str = "http://127.0.0.1:8082";
/// Default root URL of the product service.
pub const DEFAULT_PRODUCT_URL: &str = "http://127.0.0.1:8083";
/// Default root URL of the mypage service.
pub const DEFAULT_MYPAGE_URL: &str = "http://127.0.0.1:8084";

/// One of the domain services behind the BFF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Upstream {
    Product,
    Order,
    Delivery,
    Mypage,
}

impl Upstream {
    pub const ALL: [Upstream; 4] = [
        Upstream::Product,
        Upstream::Order,
        Upstream::Delivery,
        Upstream::Mypage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Upstream::Product => "product",
            Upstream::Order => "order",
            Upstream::Delivery => "delivery",
            Upstream::Mypage => "mypage",
        }
    }

    /// The root URL of this upstream when nothing names one: the course's port on this host.
    pub fn default_url(self) -> &'static str {
        match self {
            Upstream::Product => DEFAULT_PRODUCT_URL,
            Upstream::Order => DEFAULT_ORDER_URL,
            Upstream::Delivery => DEFAULT_DELIVERY_URL,
            Upstream::Mypage => DEFAULT_MYPAGE_URL,
        }
    }

    /// The environment variable that sets this upstream's root URL (the same as
    /// `MALL_BFF__URLS__<NAME>`).
    pub fn env_var(self) -> &'static str {
        match self {
            Upstream::Product => "MALL_BFF_PRODUCT_URL",
            Upstream::Order => "MALL_BFF_ORDER_URL",
            Upstream::Delivery => "MALL_BFF_DELIVERY_URL",
            Upstream::Mypage => "MALL_BFF_MYPAGE_URL",
        }
    }
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The root URL of each upstream named in the settings (`[urls] order = "…"`); an upstream
/// not named has its course URL ([`Upstream::default_url`]), or, under `mall --target all`,
/// the URL of the service in the same process.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UpstreamUrls(BTreeMap<Upstream, String>);

impl UpstreamUrls {
    /// The URL of `upstream`: as named, else its course URL.
    pub fn get(&self, upstream: Upstream) -> &str {
        self.named(upstream).unwrap_or(upstream.default_url())
    }

    /// The URL of `upstream` if the settings name one.
    pub fn named(&self, upstream: Upstream) -> Option<&str> {
        self.0.get(&upstream).map(String::as_str)
    }

    /// The URL of `upstream`, to change it (naming it from then on).
    pub fn get_mut(&mut self, upstream: Upstream) -> &mut String {
        self.0
            .entry(upstream)
            .or_insert_with(|| upstream.default_url().to_owned())
    }

    /// Names `url` as the URL of `upstream`.
    pub fn set(&mut self, upstream: Upstream, url: impl Into<String>) {
        self.0.insert(upstream, url.into());
    }
}
