//! The delivery micro-frontend: the customer's deliveries with their live status, and the
//! delivery team's "mark completed".
//!
//! - [`deliveries`]: the view
//! - [`queries`]: the typed GraphQL query and mutation

pub mod deliveries;
pub mod queries;

use leptos::prelude::*;

/// The component's own style (inside its shadow root).
pub const STYLE: &str = r#"
.unavailable { margin: 0; }
.lookup { display: flex; flex-wrap: wrap; gap: .4rem; align-items: center; margin-bottom: .6rem; }
.lookup input { flex: 1 1 12rem; }
"#;

mall_kit::export_component!("delivery", STYLE, |ctx| {
    let customer = mall_kit::customer::use_customer(&ctx);
    view! { <deliveries::DeliveryList ctx=ctx customer=customer/> }
});
