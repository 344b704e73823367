//! The subscription root: `myPage(customerId)`, a SNAPSHOT then every CHANGE, streamed from
//! the live feed ([`crate::live`]). Transport-free: the WebSocket wiring is in
//! [`crate::websocket`].

use async_graphql::{Context, ErrorExtensions, Subscription as GraphQLSubscription};
use futures::{Stream, StreamExt};

use super::{gateway, not_blank};
use crate::error::BffError;
use crate::live::{my_page_updates, Live};
use crate::schema::types::MyPageUpdate;

pub struct Subscription;

#[GraphQLSubscription]
impl Subscription {
    /// The customer's rows first (SNAPSHOT), then every change (CHANGE).
    async fn my_page(
        &self,
        ctx: &Context<'_>,
        customer_id: String,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<MyPageUpdate>>> {
        // Errors are extended here: a subscription's responses do not pass through
        // `schema::execute`, which gives query errors their codes.
        let customer = not_blank("customerId", &customer_id).map_err(|e| e.extend())?;
        let gateway = gateway(ctx).map_err(|e| e.extend())?.clone();
        let Ok(Live(feed)) = ctx.data::<Live>() else {
            return Err(BffError::LiveUnavailable.extend());
        };
        Ok(my_page_updates(gateway, feed.as_ref(), customer)
            .map(|u| u.map(MyPageUpdate).map_err(|e| e.extend())))
    }
}
