//! The customer the page acts for: the mount context's, then each `mall:customer-changed`.

use leptos::prelude::*;

use crate::events::{listen_while_mounted, CustomerChanged};
use crate::MountContext;

/// A signal of the current customer id, kept in step with the shell's switcher.
pub fn use_customer(ctx: &MountContext) -> RwSignal<String> {
    let customer = RwSignal::new(ctx.customer_id.clone());
    listen_while_mounted(move |event: CustomerChanged| customer.set(event.customer_id));
    customer
}
