//! What the BFF asks of the domain services, in the domain's words: one part per upstream,
//! each with its client and its operations. No GraphQL and no HTTP serving here.
//!
//! - [`product`], [`order`], [`delivery`], [`mypage`]: each service's operations
//! - [`batch`]: the one batch-or-singles loader of rows joined across upstreams, which also
//!   keeps and recalls their last-known-good copies (per id)
//!
//! Imports run one way: this module composes the parts; the parts know only [`batch`],
//! the model and the upstream clients.

pub mod batch;
pub mod delivery;
pub mod mypage;
pub mod order;
pub mod product;

use std::sync::Arc;

use futures::future::join_all;

use crate::config::BffConfig;
use crate::error::BffError;
use crate::upstream::{Upstream, UpstreamClient};
use mall_auth::token::TokenIssuer;

pub use batch::Loaded;
pub use delivery::{Deliveries, DeliveryRef, DELIVERIES};
pub use mypage::{MyPages, MY_PAGES};
pub use order::{Orders, ORDERS};
pub use product::{ProductRef, Products, PRODUCTS};

/// The four upstreams, by domain.
#[derive(Debug)]
pub struct Gateway {
    pub products: Products,
    pub orders: Orders,
    pub deliveries: Deliveries,
    pub my_pages: MyPages,
}

/// How many bytes of last-known-good copies of joined rows to keep for `upstream` (0: none).
fn stale_capacity(config: &BffConfig, upstream: Upstream) -> u64 {
    config.resilience.for_upstream(upstream).stale.bytes()
}

impl Gateway {
    /// Builds the clients (one shared connection pool); reads nothing yet.
    /// `signer` signs each call's token for its caller (DESIGN.md section 8); without one
    /// the upstreams see every call as anonymous.
    pub fn new(config: &BffConfig, signer: Option<TokenIssuer>) -> Result<Gateway, BffError> {
        let http = reqwest::Client::builder()
            .pool_idle_timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| BffError::Config(format!("cannot build the HTTP client: {e}")))?;
        let client = |u: Upstream| {
            UpstreamClient::new(
                u,
                config.urls.get(u),
                config.resilience.for_upstream(u),
                http.clone(),
                signer.clone(),
            )
        };
        Ok(Gateway {
            products: Products::new(
                client(Upstream::Product)?,
                stale_capacity(config, Upstream::Product),
            ),
            orders: Orders::new(client(Upstream::Order)?),
            deliveries: Deliveries::new(
                client(Upstream::Delivery)?,
                stale_capacity(config, Upstream::Delivery),
            ),
            my_pages: MyPages::new(client(Upstream::Mypage)?),
        })
    }

    pub fn clients(&self) -> [&UpstreamClient; 4] {
        [
            self.products.client(),
            self.orders.client(),
            self.deliveries.client(),
            self.my_pages.client(),
        ]
    }

    /// Whether every upstream's root document was read.
    pub fn is_ready(&self) -> bool {
        self.clients().iter().all(|c| c.is_discovered())
    }

    /// Reads the root documents not read yet, concurrently; the upstreams still missing.
    pub async fn discover(&self) -> Vec<(Upstream, BffError)> {
        let pending = self.clients().into_iter().filter(|c| !c.is_discovered());
        join_all(pending.map(|c| async move { (c.upstream(), c.discover().await) }))
            .await
            .into_iter()
            .filter_map(|(u, r)| r.err().map(|e| (u, e)))
            .collect()
    }
}

/// Shared by the schema: the gateway lives as long as the app.
pub type SharedGateway = Arc<Gateway>;
