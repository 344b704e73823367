//! The order form: quantity, name and address for the selected product (name and address start
//! as the signed-in account's); one idempotency key per intent, so a double click or a retry
//! after an error places one order. The order is placed for the signed-in customer: the BFF
//! takes the customer from the session, the form sends no customer id.

use leptos::prelude::*;
use mall_kit::events::{self, listen_while_mounted, OrderPlaced, ProductSelected};
use mall_kit::graphql::fetch;
use mall_kit::ids::idempotency_key;
use mall_kit::MountContext;

use crate::queries::{place_order, PlaceOrder};

/// The form.
#[component]
pub fn OrderForm(ctx: MountContext) -> impl IntoView {
    let product = RwSignal::new(None::<ProductSelected>);
    let quantity = RwSignal::new("1".to_owned());
    let name = RwSignal::new(ctx.name.clone());
    let address = RwSignal::new(ctx.address.clone());
    let pending = RwSignal::new(false);
    let message = RwSignal::new(None::<Result<String, String>>);
    // The key of the intent being placed; any edit starts a new intent.
    let intent = StoredValue::new(None::<String>);
    listen_while_mounted(move |selected: ProductSelected| {
        // The same product announced again carries fresh figures (its stock moved): show
        // them, but it is no new choice, so the intent and the last message stay.
        let same = product.with_untracked(|p| {
            p.as_ref()
                .is_some_and(|p| p.product_id == selected.product_id)
        });
        product.set(Some(selected));
        if !same {
            intent.set_value(None);
            message.set(None);
        }
    });
    let edited = move || {
        intent.set_value(None);
        message.set(None);
    };

    let url = ctx.graphql_url.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if pending.get_untracked() {
            return;
        }
        let Some(selected) = product.get_untracked() else {
            message.set(Some(Err("Select a product first.".into())));
            return;
        };
        let qty = match quantity.get_untracked().trim().parse::<i64>() {
            Ok(q) if q >= 1 => q,
            _ => {
                message.set(Some(Err(
                    "Quantity must be a whole number of at least 1.".into()
                )));
                return;
            }
        };
        let (who, addr) = (name.get_untracked(), address.get_untracked());
        if who.trim().is_empty() || addr.trim().is_empty() {
            message.set(Some(Err(
                "Name and address are needed for the delivery.".into()
            )));
            return;
        }
        let key = intent.get_value().unwrap_or_else(idempotency_key);
        intent.set_value(Some(key.clone()));
        pending.set(true);
        message.set(None);
        let url = url.clone();
        leptos::task::spawn_local(async move {
            let variables = place_order::Variables {
                input: place_order::PlaceOrderInput {
                    product_id: selected.product_id,
                    quantity: qty,
                    customer_id: None,
                    customer_name: who.trim().to_owned(),
                    customer_addr: addr.trim().to_owned(),
                },
                idempotency_key: Some(key),
            };
            let answer = fetch::<PlaceOrder>(&url, variables).await;
            pending.try_set(false);
            match answer {
                Ok(data) => {
                    let order = data.place_order;
                    intent.try_set_value(None);
                    message.try_set(Some(Ok(format!(
                        "Order {} placed: {} × {}.",
                        order.id, order.quantity, selected.name
                    ))));
                    events::emit(&OrderPlaced {
                        order_id: order.id,
                        product_id: order.product_id,
                        quantity: order.quantity,
                        customer_id: order.customer_id,
                    });
                }
                Err(e) => {
                    message.try_set(Some(Err(format!(
                        "The order was not placed: {e}. Try again."
                    ))));
                }
            }
        });
    };

    view! {
        <form class="order-form" aria-labelledby="order-heading" on:submit=submit novalidate>
            <h2 id="order-heading">"Place an order"</h2>
            <p class="selected-product" data-testid="selected-product">
                {move || match product.get() {
                    Some(p) => view! {
                        <strong>{p.name.clone()}</strong>
                        <span class="muted">" · price " {p.price} " · stock " {p.stock}</span>
                    }
                    .into_any(),
                    None => view! {
                        <span class="muted">"Select a product in the catalogue to order it."</span>
                    }
                    .into_any(),
                }}
            </p>
            <div class="fields">
                <div>
                    <label for="order-quantity">"Quantity"</label>
                    <input
                        id="order-quantity"
                        type="number"
                        min="1"
                        inputmode="numeric"
                        prop:value=move || quantity.get()
                        on:input=move |ev| {
                            quantity.set(event_target_value(&ev));
                            edited();
                        }
                    />
                </div>
                <div>
                    <label for="order-name">"Name"</label>
                    <input
                        id="order-name"
                        autocomplete="name"
                        prop:value=move || name.get()
                        on:input=move |ev| {
                            name.set(event_target_value(&ev));
                            edited();
                        }
                    />
                </div>
                <div>
                    <label for="order-address">"Address"</label>
                    <input
                        id="order-address"
                        autocomplete="street-address"
                        prop:value=move || address.get()
                        on:input=move |ev| {
                            address.set(event_target_value(&ev));
                            edited();
                        }
                    />
                </div>
            </div>
            <div class="actions">
                <button type="submit" disabled=move || pending.get() || product.get().is_none()>
                    {move || if pending.get() { "Placing…" } else { "Place order" }}
                </button>
                <span role="status" data-testid="order-message">
                    {move || match message.get() {
                        Some(Ok(text)) => view! { <span class="badge ok">{text}</span> }.into_any(),
                        Some(Err(text)) => view! { <span class="error">{text}</span> }.into_any(),
                        None => ().into_any(),
                    }}
                </span>
            </div>
        </form>
    }
}
