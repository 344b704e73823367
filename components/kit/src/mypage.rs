//! The customer's my-page rows (the CQRS projection of orders and their deliveries), live:
//! the graphql-transport-ws subscription while it is up, polling by query while it is not,
//! and a refresh burst after every `mall:*` event that changes orders or deliveries.

use std::time::Duration;

use graphql_client::GraphQLQuery;
use leptos::prelude::*;
use wasm_bindgen::JsValue;

use crate::events::{
    self, on_while_mounted, DeliveryCompleted, MyPageChanged, OrderCancelled, OrderPlaced,
};
use crate::graphql::{fetch, GraphQlError};
use crate::remote::{burst, poll_while, remote, Remote};
use crate::subscription::{subscribe, watch, LinkStatus, Subscription};
use crate::{MountContext, SendWrapper};

const POLL_EVERY: Duration = Duration::from_secs(2);

/// The customer's rows, once.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../schema/schema.graphql",
    query_path = "src/queries/mypage.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
pub struct MyPage;

/// The customer's rows, then every change.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../schema/schema.graphql",
    query_path = "src/queries/mypage.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
pub struct MyPageUpdates;

/// One order with its delivery, as the projection has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub order_id: i64,
    pub product_id: i64,
    pub product_name: String,
    pub quantity: i64,
    pub price: i64,
    /// The course's names: "Ordered" or "Cancelled".
    pub order_status: &'static str,
    pub delivery_id: Option<i64>,
    /// The course's names: "DeliveryStarted", "DeliveryCancelled", "DeliveryCompleted".
    pub delivery_status: Option<&'static str>,
}

/// Maps a query module's generated enums to the course's names. (Each query has its own
/// copies of the schema's enums; matching their variants keeps Debug formatting out.)
macro_rules! rows_from {
    ($module:ident, $rows:expr) => {{
        use $module::{DeliveryStatus, OrderStatus};
        $rows
            .into_iter()
            .map(|r| Row {
                order_id: r.order_id,
                product_id: r.product_id,
                product_name: r.product_name,
                quantity: r.quantity,
                price: r.price,
                order_status: match r.order_status {
                    OrderStatus::CANCELLED => "Cancelled",
                    _ => "Ordered",
                },
                delivery_id: r.delivery_id,
                delivery_status: r.delivery_status.map(|s| match s {
                    DeliveryStatus::DELIVERY_STARTED => "DeliveryStarted",
                    DeliveryStatus::DELIVERY_CANCELLED => "DeliveryCancelled",
                    DeliveryStatus::DELIVERY_COMPLETED => "DeliveryCompleted",
                    DeliveryStatus::Other(_) => "Unknown",
                }),
            })
            .collect::<Vec<Row>>()
    }};
}

/// The live rows and the state of the live link.
#[derive(Clone, Copy)]
pub struct LiveMyPage {
    pub rows: Remote<Vec<Row>>,
    pub link: RwSignal<LinkStatus>,
}

/// Keeps the customer's rows live for as long as the current view lives.
pub fn use_my_page(ctx: &MountContext, customer: RwSignal<String>) -> LiveMyPage {
    let url = ctx.graphql_url.clone();
    let rows = remote(move || {
        let url = url.clone();
        let customer_id = customer.get();
        async move {
            fetch::<MyPage>(
                &url,
                my_page::Variables {
                    customer_id: Some(customer_id),
                },
            )
            .await
            .map(|data| rows_from!(my_page, data.my_page))
        }
    });
    let link = RwSignal::new(LinkStatus::Connecting);

    // One subscription per customer; replacing it drops (closes) the previous one.
    let ws_url = ctx.graphql_ws_url.clone();
    let current = StoredValue::new(None::<SendWrapper<Subscription>>);
    Effect::new(move |_| {
        let customer_id = customer.get();
        let announce = customer_id.clone();
        let sub = subscribe::<MyPageUpdates>(
            &ws_url,
            my_page_updates::Variables {
                customer_id: Some(customer_id),
            },
            move |answer| {
                let Some(data) = answer.data else {
                    return;
                };
                let changed =
                    matches!(data.my_page.kind, my_page_updates::MyPageUpdateKind::CHANGE);
                rows.set(Ok::<_, GraphQlError>(rows_from!(
                    my_page_updates,
                    data.my_page.rows
                )));
                if changed {
                    events::emit(&MyPageChanged {
                        customer_id: announce.clone(),
                    });
                }
            },
            move |status| {
                link.try_set(status);
            },
        );
        current.set_value(Some(SendWrapper::new(sub)));
    });

    keep_fresh(link, move || rows.refresh());
    LiveMyPage { rows, link }
}

/// Runs `refresh` every [`POLL_EVERY`] while the live link is down (not once the session
/// ended: the shell then takes the view away), and in a burst after each
/// `mall:*` event that changes orders or deliveries.
fn keep_fresh(link: RwSignal<LinkStatus>, refresh: impl Fn() + Copy + 'static) {
    poll_while(
        move || {
            matches!(
                link.get_untracked(),
                LinkStatus::Connecting | LinkStatus::Reconnecting
            )
        },
        POLL_EVERY,
        refresh,
    );
    on_while_mounted::<OrderPlaced>(move || burst(refresh));
    on_while_mounted::<OrderCancelled>(move || burst(refresh));
    on_while_mounted::<DeliveryCompleted>(move || burst(refresh));
}

/// Follows the customer's my-page for a view that shows something derived from it (the
/// delivery list) and reloads that itself: `on_change` runs on every subscription result, every
/// [`POLL_EVERY`] while the link is down, and in bursts after the events that change orders or
/// deliveries. The rows are never decoded (only the update's kind, to announce
/// `mall:mypage-changed` as [`use_my_page`] does), so such a view carries no row decoders.
pub fn follow_my_page(
    ctx: &MountContext,
    customer: RwSignal<String>,
    on_change: impl Fn() + Copy + 'static,
) -> RwSignal<LinkStatus> {
    let link = RwSignal::new(LinkStatus::Connecting);
    let ws_url = ctx.graphql_ws_url.clone();
    let current = StoredValue::new(None::<SendWrapper<Subscription>>);
    Effect::new(move |_| {
        let customer_id = customer.get();
        let announce = customer_id.clone();
        let sub = watch::<MyPageUpdates>(
            &ws_url,
            my_page_updates::Variables {
                customer_id: Some(customer_id),
            },
            move |payload| {
                on_change();
                if update_kind(&payload).as_deref() == Some("CHANGE") {
                    events::emit(&MyPageChanged {
                        customer_id: announce.clone(),
                    });
                }
            },
            move |status| {
                link.try_set(status);
            },
        );
        current.set_value(Some(SendWrapper::new(sub)));
    });
    keep_fresh(link, on_change);
    link
}

/// `data.myPage.kind` of a `MyPageUpdates` result (a field of the checked subscription).
fn update_kind(payload: &JsValue) -> Option<String> {
    let get = |value: &JsValue, key: &str| {
        js_sys::Reflect::get(value, &JsValue::from_str(key))
            .ok()
            .filter(|v| v.is_object() || v.is_string())
    };
    let data = get(payload, "data")?;
    let my_page = get(&data, "myPage")?;
    get(&my_page, "kind")?.as_string()
}
