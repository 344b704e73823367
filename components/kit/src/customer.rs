//! The customer whose data a view shows: the signed-in customer of the mount context. The
//! shell mounts the components afresh for every sign-in, so it never changes while mounted
//! (only a staff view may point it at another customer, see the delivery component).

use leptos::prelude::*;

use crate::MountContext;

/// A signal of the customer id the view shows, starting with the signed-in customer's.
pub fn use_customer(ctx: &MountContext) -> RwSignal<String> {
    RwSignal::new(ctx.customer_id.clone())
}
