//! The delivery service: a customer's deliveries, completing one, and the deliveries of
//! many orders at once.

use std::collections::HashMap;

use http::{HeaderMap, Method};
use serde_json::json;

use crate::error::BffError;
use crate::gateway::batch::{one_of, Loaded, Relation};
use crate::model::Delivery;
use crate::request_context::RequestContext;
use crate::stale::{Fetched, StaleCache};
use crate::upstream::hal::{Linked, Var};
use crate::upstream::{Upstream, UpstreamClient};

/// The relation name of the collection (schema/rest.md).
pub const DELIVERIES: &str = "deliveries";

/// An order's delivery to load: the order id, and the order's `delivery` link.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeliveryRef {
    pub order_id: i64,
    pub href: Option<String>,
}

/// See the module documentation.
#[derive(Debug)]
pub struct Deliveries {
    client: UpstreamClient,
    /// Last-known-good deliveries by order id, for orders' `delivery` while the service
    /// fails.
    copies: StaleCache<i64, Delivery>,
}

impl Deliveries {
    pub fn new(client: UpstreamClient, copies: u64) -> Deliveries {
        Deliveries {
            client,
            copies: StaleCache::new(Upstream::Delivery, copies),
        }
    }

    pub fn client(&self) -> &UpstreamClient {
        &self.client
    }

    pub async fn of_customer(
        &self,
        ctx: &RequestContext,
        customer: &str,
    ) -> Result<Fetched<Vec<Delivery>>, BffError> {
        let found = self
            .client
            .run_search(
                ctx,
                DELIVERIES,
                "findByCustomerId",
                &[("customerId", Var::One(customer.into()))],
            )
            .await?
            .ok_or_else(|| {
                BffError::protocol(Upstream::Delivery, "it offers no findByCustomerId search")
            })?;
        Ok(found)
    }

    /// Marks a delivery completed (PATCH of its `self` link).
    pub async fn complete(&self, ctx: &RequestContext, id: i64) -> Result<Delivery, BffError> {
        let item: Fetched<Linked> = self
            .client
            .item(ctx, DELIVERIES, id, &format!("delivery {id}"))
            .await?;
        let url = item
            .value
            .links("http://localhost/")
            .get("self")
            .map(|l| l.href.clone())
            .ok_or_else(|| {
                BffError::protocol(Upstream::Delivery, "a delivery without a self link")
            })?;
        self.client
            .command(
                ctx,
                Method::PATCH,
                &url,
                Some(json!({"status": "DeliveryCompleted"})),
                HeaderMap::new(),
                &format!("delivery {id}"),
            )
            .await
    }

    /// Deliveries by order: one `findByOrderIdIn` request per 1000 orders when the delivery
    /// service lists it, otherwise each order's `delivery` link followed to whatever it
    /// answers (the delivery itself, a page of the search for it, or 404), concurrently. An
    /// order has no delivery until one starts: nothing there is null, not an error.
    pub async fn load(
        &self,
        ctx: &RequestContext,
        keys: &[DeliveryRef],
    ) -> HashMap<DeliveryRef, Loaded<Delivery>> {
        let relation = Relation {
            ctx,
            client: &self.client,
            rel: DELIVERIES,
            search: "findByOrderIdIn",
            param: "orderIds",
            id_of: |d: &Delivery| d.order_id,
            promised: false,
            what: "the delivery of order",
            copies: &self.copies,
        };
        relation
            .load(keys, |k| k.order_id, |k| self.single(ctx, k))
            .await
    }

    async fn single(
        &self,
        ctx: &RequestContext,
        key: &DeliveryRef,
    ) -> Result<Option<Delivery>, BffError> {
        let url = match &key.href {
            Some(href) => href.clone(),
            None => self
                .client
                .search_url(
                    ctx,
                    DELIVERIES,
                    "findByOrderId",
                    &[("orderId", Var::One(key.order_id.to_string()))],
                )
                .await?
                .ok_or_else(|| {
                    BffError::protocol(
                        Upstream::Delivery,
                        "the order has no delivery link and the delivery service lists no \
                         findByOrderId search",
                    )
                })?,
        };
        let delivery: Option<Delivery> = one_of(self.client.follow(ctx, &url, DELIVERIES).await?);
        // The course's association link answers the delivery without its order id.
        Ok(delivery.map(|mut d| {
            if d.order_id == 0 {
                d.order_id = key.order_id;
            }
            d
        }))
    }
}
