//! The page: the header with the customer switcher, and the three component slots.

use leptos::prelude::*;
use mall_kit::events::{self, CustomerChanged};

use crate::config::Config;
use crate::slot::Slot;

/// The course's customers.
pub const CUSTOMERS: [&str; 3] = ["1@uengine.org", "2@uengine.org", "3@uengine.org"];

/// The shell's root view.
#[component]
pub fn App() -> impl IntoView {
    let config = Config::from_page();
    let customer = RwSignal::new(CUSTOMERS[0].to_owned());
    let change = move |ev: leptos::ev::Event| {
        let id = event_target_value(&ev);
        customer.set(id.clone());
        events::emit(&CustomerChanged { customer_id: id });
    };
    view! {
        <header class="top">
            <a class="brand" href="./">"12st mall"</a>
            <span class="tagline">"12 STREET"</span>
            <div class="customer">
                <label for="customer">"Customer"</label>
                <select id="customer" on:change=change prop:value=move || customer.get()>
                    {CUSTOMERS
                        .iter()
                        .map(|c| view! { <option value=*c>{*c}</option> })
                        .collect_view()}
                </select>
            </div>
        </header>
        <main class="layout">
            <div class="primary">
                <Slot name="product" title="Products" config=config.clone() customer=customer/>
            </div>
            <div class="secondary">
                <Slot name="order" title="Orders" config=config.clone() customer=customer/>
                <Slot name="delivery" title="Deliveries" config=config customer=customer/>
            </div>
        </main>
        <footer class="bottom">"Each section is its own WebAssembly micro-frontend, loaded from components.json."</footer>
    }
}
