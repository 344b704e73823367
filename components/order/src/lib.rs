//! The order micro-frontend: the order form for the product selected in the catalogue, and the
//! customer's orders (from the my-page projection, live) with their delivery state and Cancel.
//!
//! - [`form`]: placing an order
//! - [`my_orders`]: the customer's orders
//! - [`queries`]: the typed GraphQL mutations

pub mod form;
pub mod my_orders;
pub mod queries;

use leptos::prelude::*;

/// The component's own style (inside its shadow root).
pub const STYLE: &str = r#"
.order-form { margin-bottom: 1.2rem; }
.order-form .fields { display: grid; grid-template-columns: 6rem 1fr 1fr; gap: .2rem .6rem; }
.order-form .actions { margin-top: .6rem; display: flex; gap: .8rem; align-items: center; }
.selected-product { margin: 0 0 .3rem; }
@container (max-width: 420px) { .order-form .fields { grid-template-columns: 1fr; } }
"#;

mall_kit::export_component!("order", STYLE, |ctx| {
    let customer = mall_kit::customer::use_customer(&ctx);
    view! {
        <form::OrderForm ctx=ctx.clone()/>
        <my_orders::MyOrders ctx=ctx customer=customer/>
    }
});
