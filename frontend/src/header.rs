//! The header's customer switcher. The document carries it as HTML (`select#customer`), so it
//! is there and usable before any wasm runs; the shell reads its value when it mounts a
//! component and announces changes as `mall:customer-changed`. The customer is the frame's one
//! piece of page state, kept here so a signed-in header can replace the switcher in one place.

use std::cell::RefCell;
use std::rc::Rc;

use mall_kit::events::{CustomerChanged, MallEvent};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{Document, HtmlSelectElement};

/// The first of the course's customers, when the page has no switcher.
pub const DEFAULT_CUSTOMER: &str = "1@uengine.org";

/// The customer the page acts for, shared by the slots.
#[derive(Clone, Debug)]
pub struct Customer(Rc<RefCell<String>>);

impl Customer {
    /// Reads the switcher's current value (a choice made before the wasm ran counts) and
    /// follows its changes for the life of the page.
    pub fn take_over(document: &Document) -> Customer {
        let select = document
            .get_element_by_id("customer")
            .and_then(|e| e.dyn_into::<HtmlSelectElement>().ok());
        let initial = select
            .as_ref()
            .map(|s| s.value())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_CUSTOMER.to_owned());
        let customer = Customer(Rc::new(RefCell::new(initial)));
        if let Some(select) = select {
            let current = customer.clone();
            let target = select.clone();
            let on_change = Closure::<dyn FnMut()>::new(move || {
                let id = target.value();
                *current.0.borrow_mut() = id.clone();
                announce(&id);
            });
            let _ = select
                .add_event_listener_with_callback("change", on_change.as_ref().unchecked_ref());
            // The header lives as long as the page.
            on_change.forget();
        }
        customer
    }

    /// The current customer's id.
    pub fn id(&self) -> String {
        self.0.borrow().clone()
    }
}

/// Dispatches `mall:customer-changed` with `{customerId}` (built directly, not through serde's
/// encoder, which would be a large part of the shell).
fn announce(customer_id: &str) {
    let detail = js_sys::Object::new();
    let _ = js_sys::Reflect::set(
        &detail,
        &JsValue::from_str("customerId"),
        &JsValue::from_str(customer_id),
    );
    let init = web_sys::CustomEventInit::new();
    init.set_detail(&detail);
    if let (Ok(event), Some(window)) = (
        web_sys::CustomEvent::new_with_event_init_dict(CustomerChanged::NAME, &init),
        web_sys::window(),
    ) {
        let _ = window.dispatch_event(&event);
    }
}
