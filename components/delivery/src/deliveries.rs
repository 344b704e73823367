//! The customer's deliveries. They follow the my-page projection live (every change there
//! refreshes this list), and say so plainly when the delivery service cannot answer. Staff
//! (the delivery team) look up any customer's deliveries and mark them completed; a customer
//! sees only their own, without that action.

use leptos::prelude::*;
use mall_kit::events::{self, on_while_mounted, DeliveryCompleted, MyPageChanged};
use mall_kit::graphql::fetch;
use mall_kit::mypage::follow_my_page;
use mall_kit::remote::remote;
use mall_kit::MountContext;

use crate::queries::{complete_delivery, deliveries, CompleteDelivery, Deliveries};

/// The list.
#[component]
pub fn DeliveryList(ctx: MountContext, customer: RwSignal<String>) -> impl IntoView {
    let url = ctx.graphql_url.clone();
    let list = remote(move || {
        let url = url.clone();
        let customer_id = customer.get();
        async move {
            fetch::<Deliveries>(
                &url,
                deliveries::Variables {
                    customer_id: Some(customer_id),
                },
            )
            .await
            .map(|data| data.deliveries)
        }
    });
    // The projection sees every delivery event: follow it (it is polled while not live).
    follow_my_page(&ctx, customer, move || list.refresh());
    on_while_mounted::<MyPageChanged>(move || list.refresh_burst());
    // While the delivery service is down, keep asking so the list comes back by itself.
    mall_kit::remote::poll_while(
        move || matches!(list.value.get_untracked(), Some(Err(_))),
        std::time::Duration::from_secs(3),
        move || list.refresh(),
    );

    let completing = RwSignal::new(Vec::<i64>::new());
    let problem = RwSignal::new(None::<String>);
    let url = ctx.graphql_url.clone();
    let complete = move |delivery_id: i64| {
        if completing.get_untracked().contains(&delivery_id) {
            return;
        }
        completing.update(|c| c.push(delivery_id));
        problem.set(None);
        let url = url.clone();
        leptos::task::spawn_local(async move {
            let answer =
                fetch::<CompleteDelivery>(&url, complete_delivery::Variables { delivery_id }).await;
            completing.try_update(|c| c.retain(|id| *id != delivery_id));
            match answer {
                Ok(data) => {
                    events::emit(&DeliveryCompleted {
                        delivery_id: data.complete_delivery.id,
                        order_id: data.complete_delivery.order_id,
                    });
                    list.refresh();
                }
                Err(e) => {
                    problem.try_set(Some(format!(
                        "Delivery {delivery_id} was not completed: {e}"
                    )));
                }
            }
        });
    };
    let complete = mall_kit::SendWrapper::new(complete);
    let staff = ctx.is_staff();

    let row_view = move |d: deliveries::DeliveriesDeliveries| {
        let id = d.id;
        let status = match d.status {
            deliveries::DeliveryStatus::DELIVERY_STARTED => "DeliveryStarted",
            deliveries::DeliveryStatus::DELIVERY_CANCELLED => "DeliveryCancelled",
            deliveries::DeliveryStatus::DELIVERY_COMPLETED => "DeliveryCompleted",
            deliveries::DeliveryStatus::Other(_) => "Unknown",
        };
        let started = status == "DeliveryStarted";
        let complete = complete.clone();
        let badge = match status {
            "DeliveryStarted" => "badge warn",
            "DeliveryCompleted" => "badge ok",
            _ => "badge off",
        };
        view! {
            <tr data-testid="delivery-row" data-delivery-id=id data-order-id=d.order_id>
                <td class="num">{id}</td>
                <td class="num">{d.order_id}</td>
                <td>{d.product_name}</td>
                <td class="num">{d.quantity}</td>
                <td>{d.delivery_address}</td>
                <td data-testid="delivery-status"><span class=badge>{status}</span></td>
                {staff.then(move || view! { <td class="row-actions">
                    {started
                        .then(move || {
                            view! {
                                <button
                                    type="button"
                                    aria-label=format!("Complete delivery {id}")
                                    disabled=move || completing.get().contains(&id)
                                    on:click=move |_| complete(id)
                                >
                                    "Mark completed"
                                </button>
                            }
                        })}
                </td> })}
            </tr>
        }
    };

    view! {
        <section aria-labelledby="deliveries-heading">
            <h2 id="deliveries-heading">"Deliveries"</h2>
            {staff.then(|| view! { <CustomerLookup customer=customer/> })}
            {move || problem.get().map(|p| view! { <p class="error" role="alert">{p}</p> })}
            {move || match list.value.get() {
                None => view! { <p class="muted" role="status">"Loading deliveries…"</p> }.into_any(),
                Some(Err(e)) => view! {
                    <p class="error unavailable" role="alert" data-testid="deliveries-unavailable">
                        "Deliveries are unavailable right now; they will show again when the delivery service is back."
                        <br/>
                        <span class="muted">{e.to_string()}</span>
                    </p>
                }
                .into_any(),
                Some(Ok(rows)) if rows.is_empty() => view! {
                    <p class="muted" data-testid="no-deliveries">"No deliveries yet."</p>
                }
                .into_any(),
                Some(Ok(mut rows)) => {
                    rows.sort_unstable_by_key(|d| std::cmp::Reverse(d.id));
                    let row_view = row_view.clone();
                    view! {
                        <table>
                            <thead>
                                <tr>
                                    <th scope="col" class="num">"Delivery"</th>
                                    <th scope="col" class="num">"Order"</th>
                                    <th scope="col">"Product"</th>
                                    <th scope="col" class="num">"Qty"</th>
                                    <th scope="col">"Address"</th>
                                    <th scope="col">"Status"</th>
                                    {staff.then(|| view! {
                                        <th scope="col"><span class="muted">"Delivery team"</span></th>
                                    })}
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

/// The delivery team's lookup: whose deliveries the list shows (the staff member's own at
/// first).
#[component]
fn CustomerLookup(customer: RwSignal<String>) -> impl IntoView {
    let typed = RwSignal::new(customer.get_untracked());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let id = typed.get_untracked().trim().to_owned();
        if !id.is_empty() {
            customer.set(id);
        }
    };
    view! {
        <form class="lookup" on:submit=submit>
            <label for="delivery-customer">"Customer"</label>
            <input
                id="delivery-customer"
                type="email"
                prop:value=move || typed.get()
                on:input=move |ev| typed.set(event_target_value(&ev))
            />
            <button type="submit" class="secondary">"Show deliveries"</button>
        </form>
    }
}
