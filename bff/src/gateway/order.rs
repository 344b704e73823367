//! The order service: every order or a customer's, one order, placing and cancelling.

use http::{HeaderMap, HeaderValue, Method};
use serde_json::json;

use crate::error::BffError;
use crate::model::{NewOrder, Order};
use crate::request_context::RequestContext;
use crate::stale::Fetched;
use crate::upstream::hal::Var;
use crate::upstream::{Upstream, UpstreamClient};

/// The relation name of the collection (schema/rest.md).
pub const ORDERS: &str = "orders";

/// See the module documentation.
#[derive(Debug)]
pub struct Orders {
    client: UpstreamClient,
}

impl Orders {
    pub fn new(client: UpstreamClient) -> Orders {
        Orders { client }
    }

    pub fn client(&self) -> &UpstreamClient {
        &self.client
    }

    /// Every order, or one customer's (through `findByCustomerId` when listed, otherwise
    /// every order filtered here).
    pub async fn list(
        &self,
        ctx: &RequestContext,
        customer: Option<&str>,
    ) -> Result<Fetched<Vec<Order>>, BffError> {
        let orders = match customer {
            None => self.client.collect_all(ctx, ORDERS).await?,
            Some(c) => {
                let found = self
                    .client
                    .run_search(
                        ctx,
                        ORDERS,
                        "findByCustomerId",
                        &[("customerId", Var::One(c.into()))],
                    )
                    .await?;
                match found {
                    Some(f) => f,
                    None => self
                        .client
                        .collect_all::<Order>(ctx, ORDERS)
                        .await?
                        .map(|items| items.into_iter().filter(|o| o.customer_id == c).collect()),
                }
            }
        };
        Ok(orders)
    }

    pub async fn get(&self, ctx: &RequestContext, id: i64) -> Result<Fetched<Order>, BffError> {
        self.client
            .item(ctx, ORDERS, id, &format!("order {id}"))
            .await
    }

    /// Places an order; `idempotency_key` goes to the order service as `Idempotency-Key`,
    /// so a retried mutation with the same key returns the first order.
    pub async fn place(
        &self,
        ctx: &RequestContext,
        input: &NewOrder,
        idempotency_key: Option<&str>,
    ) -> Result<Order, BffError> {
        let url = self
            .client
            .root_link(ORDERS)
            .await?
            .expand(&[])
            .map_err(|e| BffError::protocol(Upstream::Order, e))?;
        let body = json!({
            "productId": input.product_id,
            "quantity": input.quantity,
            "customerId": input.customer_id,
            "customerName": input.customer_name,
            "customerAddr": input.customer_addr,
        });
        self.client
            .command(
                ctx,
                Method::POST,
                &url,
                Some(body),
                key_header(idempotency_key)?,
                "the order",
            )
            .await
    }

    /// Cancels an order through its `self` link, if `allowed` says the caller may cancel
    /// it as it is now. With an idempotency key, a repeated
    /// cancellation answers the cancelled order instead of a conflict.
    pub async fn cancel(
        &self,
        ctx: &RequestContext,
        id: i64,
        idempotency_key: Option<&str>,
        allowed: impl FnOnce(&Order) -> Result<(), BffError>,
    ) -> Result<Order, BffError> {
        let current = self.get(ctx, id).await?;
        allowed(&current.value)?;
        let url = current
            .value
            .links
            .get("self")
            .map(|l| l.href.clone())
            .ok_or_else(|| BffError::protocol(Upstream::Order, "an order without a self link"))?;
        let result: Result<Order, BffError> = self
            .client
            .command(
                ctx,
                Method::DELETE,
                &url,
                None,
                key_header(idempotency_key)?,
                &format!("order {id}"),
            )
            .await;
        match result {
            Ok(order) => Ok(order),
            Err(BffError::BadUserInput { .. }) if idempotency_key.is_some() => {
                let again = self.get(ctx, id).await?.value;
                if again.status_text.eq_ignore_ascii_case("cancelled") {
                    Ok(again)
                } else {
                    Err(BffError::bad_input(format!(
                        "order {id} cannot be cancelled"
                    )))
                }
            }
            Err(e) => Err(e),
        }
    }
}

/// The `Idempotency-Key` header sent to the order service for `key`: 1 to 200 visible ASCII
/// characters, the order service's own rule (a header may carry spaces and other bytes, which
/// the service refuses).
pub fn key_header(key: Option<&str>) -> Result<HeaderMap, BffError> {
    let mut headers = HeaderMap::new();
    if let Some(k) = key {
        if !k.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(BffError::bad_input(
                "idempotencyKey must be visible ASCII characters (no spaces)",
            ));
        }
        if k.is_empty() || k.len() > 200 {
            return Err(BffError::bad_input(
                "idempotencyKey must be 1 to 200 characters",
            ));
        }
        let value = HeaderValue::from_str(k)
            .map_err(|_| BffError::bad_input("idempotencyKey must be visible ASCII characters"))?;
        headers.insert("idempotency-key", value);
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `idempotency_key` fuzz target: the BFF passed on keys with spaces or
    /// non-ASCII letters (valid in a header), which the order service refuses with a 400, so
    /// the caller got the service's refusal (or, cancelling, "cannot be cancelled") instead
    /// of the BFF's own message, after a call upstream.
    #[test]
    fn a_key_is_refused_unless_the_order_service_takes_it() {
        for refused in ["order 1", "clé", "tab\there", "", &"k".repeat(201)] {
            assert!(
                matches!(
                    key_header(Some(refused)),
                    Err(BffError::BadUserInput { .. })
                ),
                "{refused:?} is refused"
            );
        }
        for taken in ["order-2026-11-30-0001", "!~", &"k".repeat(200)] {
            let headers = key_header(Some(taken)).expect("taken");
            assert_eq!(headers["idempotency-key"], taken);
        }
        assert!(key_header(None).expect("no key").is_empty());
    }
}
