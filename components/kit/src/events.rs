//! The `mall:*` browser event channel: DOM CustomEvents on `window` with JSON `detail`
//! (schema/events.md). Components never share Rust statics; any framework could join by
//! listening to and dispatching the same events.

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{CustomEvent, CustomEventInit};

/// A typed `mall:*` event: its name and its JSON detail.
pub trait MallEvent: Serialize + DeserializeOwned + 'static {
    /// The DOM event name, `mall:<event>`.
    const NAME: &'static str;
}

macro_rules! mall_event {
    ($ty:ident, $name:literal) => {
        impl MallEvent for $ty {
            const NAME: &'static str = $name;
        }
    };
}

/// A customer picked a product to order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductSelected {
    pub product_id: i64,
    pub name: String,
    pub price: i64,
    pub stock: i64,
}
mall_event!(ProductSelected, "mall:product-selected");

/// An order was placed (the mutation answered).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderPlaced {
    pub order_id: i64,
    pub product_id: i64,
    pub quantity: i64,
    pub customer_id: String,
}
mall_event!(OrderPlaced, "mall:order-placed");

/// An order was cancelled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCancelled {
    pub order_id: i64,
    pub product_id: i64,
    pub customer_id: String,
}
mall_event!(OrderCancelled, "mall:order-cancelled");

/// A delivery was marked completed by the delivery team.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryCompleted {
    pub delivery_id: i64,
    pub order_id: i64,
}
mall_event!(DeliveryCompleted, "mall:delivery-completed");

/// The session ended (signed out here or elsewhere, expired or revoked): the BFF answered
/// `UNAUTHENTICATED`, or closed a live link with 4401/4403. The shell then shows the sign-in
/// page instead of the components that need a customer. No detail.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEnded {}
mall_event!(SessionEnded, "mall:session-ended");

/// A customer's my-page rows changed (a component saw it on the subscription or by query);
/// others may refresh what depends on it (stock, deliveries).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MyPageChanged {
    pub customer_id: String,
}
mall_event!(MyPageChanged, "mall:mypage-changed");

/// A component failed (its panic hook says so just before its instance traps).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentFailed {
    pub component: String,
    pub message: String,
}
mall_event!(ComponentFailed, "mall:component-failed");

/// Dispatches `event` on `window`. Errors are logged, never raised: telling others is best
/// effort and must not break the sender.
pub fn emit<E: MallEvent>(event: &E) {
    let detail = match crate::js::to_js(event) {
        Ok(detail) => detail,
        Err(e) => {
            web_sys::console::error_2(&JsValue::from_str(E::NAME), &JsValue::from(e));
            return;
        }
    };
    let init = CustomEventInit::new();
    init.set_detail(&detail);
    let Ok(dom_event) = CustomEvent::new_with_event_init_dict(E::NAME, &init) else {
        return;
    };
    if let Some(window) = web_sys::window() {
        // A listener that throws (say, a trapped component) must not stop this one.
        let _ = window.dispatch_event(&dom_event);
    }
}

/// A `window` listener; dropping it removes the listener.
pub struct Listener {
    name: &'static str,
    closure: Closure<dyn FnMut(web_sys::Event)>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(window) = web_sys::window() {
            let _ = window.remove_event_listener_with_callback(
                self.name,
                self.closure.as_ref().unchecked_ref(),
            );
        }
    }
}

/// Calls `handler` with the typed detail of every `E` dispatched on `window` until the returned
/// [`Listener`] is dropped. Events whose detail does not decode are logged and skipped.
pub fn listen<E: MallEvent>(handler: impl Fn(E) + 'static) -> Listener {
    listen_to(
        E::NAME,
        Box::new(move |event: web_sys::Event| {
            let Some(custom) = event.dyn_ref::<CustomEvent>() else {
                return;
            };
            match crate::js::from_js::<E>(custom.detail()) {
                Ok(detail) => handler(detail),
                Err(e) => web_sys::console::warn_2(&JsValue::from_str(E::NAME), &JsValue::from(e)),
            }
        }),
    )
}

/// Calls `handler` on every `E` dispatched on `window`, without decoding its detail: for
/// events that only mean "something changed, look again" (decoding a detail nobody reads
/// would cost each bundle its decoder).
pub fn on<E: MallEvent>(handler: impl Fn() + 'static) -> Listener {
    listen_to(E::NAME, Box::new(move |_| handler()))
}

/// One listener (not generic, so every event shares this code).
fn listen_to(name: &'static str, handler: Box<dyn FnMut(web_sys::Event)>) -> Listener {
    let closure = Closure::wrap(handler);
    if let Some(window) = web_sys::window() {
        let _ = window.add_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
    }
    Listener { name, closure }
}

/// Listens for as long as the current leptos owner lives (the component's view).
pub fn listen_while_mounted<E: MallEvent>(handler: impl Fn(E) + 'static) {
    keep_while_mounted(listen(handler));
}

/// [`on`] for as long as the current leptos owner lives (the component's view).
pub fn on_while_mounted<E: MallEvent>(handler: impl Fn() + 'static) {
    keep_while_mounted(on::<E>(handler));
}

fn keep_while_mounted(listener: Listener) {
    let listener = crate::SendWrapper::new(listener);
    leptos::prelude::on_cleanup(move || drop(listener));
}
