//! The customer's orders with their delivery state, live from the my-page projection, with
//! Cancel for orders still in effect.

use leptos::prelude::*;
use mall_kit::events::{self, OrderCancelled};
use mall_kit::graphql::fetch;
use mall_kit::ids::idempotency_key;
use mall_kit::mypage::{use_my_page, Row};
use mall_kit::subscription::LinkStatus;
use mall_kit::MountContext;

use crate::queries::{cancel_order, CancelOrder};

/// The list.
#[component]
pub fn MyOrders(ctx: MountContext, customer: RwSignal<String>) -> impl IntoView {
    let live = use_my_page(&ctx, customer);
    let cancelling = RwSignal::new(Vec::<i64>::new());
    let problem = RwSignal::new(None::<String>);
    let url = ctx.graphql_url.clone();
    let cancel = move |order_id: i64| {
        if cancelling.get_untracked().contains(&order_id) {
            return;
        }
        cancelling.update(|c| c.push(order_id));
        problem.set(None);
        let url = url.clone();
        leptos::task::spawn_local(async move {
            let variables = cancel_order::Variables {
                order_id,
                idempotency_key: Some(idempotency_key()),
            };
            let answer = fetch::<CancelOrder>(&url, variables).await;
            cancelling.try_update(|c| c.retain(|id| *id != order_id));
            match answer {
                Ok(data) => events::emit(&OrderCancelled {
                    order_id: data.cancel_order.id,
                    product_id: data.cancel_order.product_id,
                    customer_id: data.cancel_order.customer_id,
                }),
                Err(e) => {
                    problem.try_set(Some(format!("Order {order_id} was not cancelled: {e}")));
                }
            }
        });
    };
    let cancel = mall_kit::SendWrapper::new(cancel);

    let row_view = move |row: Row| {
        let id = row.order_id;
        let cancel = cancel.clone();
        let active = row.order_status == "Ordered";
        view! {
            <tr data-testid="order-row" data-order-id=id>
                <td class="num">{id}</td>
                <td>{row.product_name}</td>
                <td class="num">{row.quantity}</td>
                <td class="num">{row.price}</td>
                <td data-testid="order-status">
                    <span class=if active { "badge ok" } else { "badge off" }>{row.order_status}</span>
                </td>
                <td data-testid="order-delivery-status">
                    {row.delivery_status.unwrap_or("Pending")}
                </td>
                <td class="row-actions">
                    {active
                        .then(|| {
                            view! {
                                <button
                                    type="button"
                                    class="secondary"
                                    aria-label=format!("Cancel order {id}")
                                    disabled=move || cancelling.get().contains(&id)
                                    on:click=move |_| cancel(id)
                                >
                                    "Cancel"
                                </button>
                            }
                        })}
                </td>
            </tr>
        }
    };

    view! {
        <section aria-labelledby="my-orders-heading">
            <h2 id="my-orders-heading">
                "My orders "
                <span class="badge" data-testid="live-status">
                    {move || match live.link.get() {
                        LinkStatus::Live => "live",
                        LinkStatus::Connecting => "connecting",
                        LinkStatus::Reconnecting => "refreshing",
                        LinkStatus::Ended => "signed out",
                    }}
                </span>
            </h2>
            {move || problem.get().map(|p| view! { <p class="error" role="alert">{p}</p> })}
            {move || match live.rows.value.get() {
                None => view! { <p class="muted" role="status">"Loading your orders…"</p> }.into_any(),
                Some(Err(e)) => view! {
                    <p class="error" role="alert" data-testid="orders-unavailable">
                        "Your orders are unavailable right now: " {e.to_string()}
                    </p>
                }
                .into_any(),
                Some(Ok(rows)) if rows.is_empty() => view! {
                    <p class="muted" data-testid="no-orders">"No orders yet."</p>
                }
                .into_any(),
                Some(Ok(mut rows)) => {
                    rows.sort_unstable_by_key(|r| std::cmp::Reverse(r.order_id));
                    let row_view = row_view.clone();
                    view! {
                        <table>
                            <thead>
                                <tr>
                                    <th scope="col" class="num">"Order"</th>
                                    <th scope="col">"Product"</th>
                                    <th scope="col" class="num">"Qty"</th>
                                    <th scope="col" class="num">"Price"</th>
                                    <th scope="col">"Status"</th>
                                    <th scope="col">"Delivery"</th>
                                    <th scope="col"><span class="muted">"Action"</span></th>
                                </tr>
                            </thead>
                            <tbody>{rows.into_iter().map(row_view).collect_view()}</tbody>
                        </table>
                    }
                    .into_any()
                }
            }}
        </section>
    }
}
