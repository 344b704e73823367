//! The subscription root: `myPage(customerId)`, a SNAPSHOT then every CHANGE, streamed from
//! the live feed ([`crate::live`]). Transport-free: the WebSocket wiring is in
//! [`crate::websocket`].

use async_graphql::{Context, ErrorExtensions, Subscription as GraphQLSubscription};
use futures::{Stream, StreamExt};

use super::{access, gateway, not_blank};
use crate::error::BffError;
use crate::live::{my_page_updates, Live};
use crate::request_context::RequestContext;
use crate::schema::rendered::SharedUpdate;
use crate::schema::types::MyPageUpdate;
use crate::upstream::Upstream;
use mall_auth::policy::Action;

pub struct Subscription;

#[GraphQLSubscription]
impl Subscription {
    /// The customer's rows first (SNAPSHOT), then every change (CHANGE).
    async fn my_page(
        &self,
        ctx: &Context<'_>,
        customer_id: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<SharedUpdate>>> {
        // Errors are extended here: a subscription's responses do not pass through
        // `schema::execute`, which gives query errors their codes.
        let (customer, request) =
            authorized(ctx, customer_id.as_deref()).map_err(|e| e.extend())?;
        let gateway = gateway(ctx).map_err(|e| e.extend())?.clone();
        let Ok(Live(feed)) = ctx.data::<Live>() else {
            return Err(BffError::LiveUnavailable.extend());
        };
        let shared: std::sync::Arc<str> = customer.as_str().into();
        Ok(
            my_page_updates(gateway, request, feed.as_ref(), &customer).map(move |u| {
                u.map(|update| SharedUpdate {
                    update: MyPageUpdate(update),
                    customer: shared.clone(),
                })
                .map_err(|e| e.extend())
            }),
        )
    }
}

/// The customer whose rows the subscriber may follow (the one asked for, else the caller),
/// and the request context the snapshots are read with.
fn authorized(
    ctx: &Context<'_>,
    asked: Option<&str>,
) -> Result<(String, RequestContext), BffError> {
    let asked = asked.map(|c| not_blank("customerId", c)).transpose()?;
    let request = access::request(ctx)?;
    let customer = access::customer_of(request.caller(), asked)?;
    access::allow(
        request.caller(),
        Action::SubscribeMyPage {
            customer: &customer,
        },
        Upstream::Mypage,
        || format!("the my-page of {customer}"),
    )?;
    Ok((customer, request.clone()))
}
