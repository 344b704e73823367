//! A GraphQL subscription client speaking graphql-transport-ws (the protocol of the `graphql-ws`
//! library and async-graphql), reconnecting with exponential backoff.
//!
//! One socket per subscription keeps the code small; a component holds at most one.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use graphql_client::{GraphQLQuery, QueryBody};
use js_sys::{Object, Reflect};
use serde::{Deserialize, Serialize};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use crate::graphql::{decode, Answer};
use crate::js;

const PROTOCOL: &str = "graphql-transport-ws";
const FIRST_BACKOFF_MS: u32 = 500;
const MAX_BACKOFF_MS: u32 = 10_000;
/// Close codes with which the BFF ends a link for the session (graphql-transport-ws: 4401
/// unauthorized, 4403 forbidden).
const SESSION_CLOSE_CODES: [u16; 2] = [4401, 4403];

/// The state of the link, for a "live" / "reconnecting" indicator and for polling meanwhile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkStatus {
    Connecting,
    Live,
    Reconnecting,
    /// Closed by the BFF for the session's end; not reconnecting.
    Ended,
}

/// The protocol's `subscribe` message.
#[derive(Serialize)]
struct SubscribeMessage<'a, V> {
    id: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    payload: &'a QueryBody<V>,
}

/// Called with each `next` payload (a GraphQL response, parsed by the browser).
type OnNext = Rc<dyn Fn(JsValue)>;
type OnStatus = Rc<dyn Fn(LinkStatus)>;

struct Inner {
    url: String,
    subscribe: String,
    on_next: OnNext,
    on_status: OnStatus,
    socket: Option<WebSocket>,
    handlers: Vec<Closure<dyn FnMut(web_sys::Event)>>,
    retry: Option<gloo_timers::callback::Timeout>,
    attempt: u32,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(socket) = self.socket.take() {
            detach(&socket);
            let _ = socket.close();
        }
    }
}

fn detach(socket: &WebSocket) {
    socket.set_onopen(None);
    socket.set_onmessage(None);
    socket.set_onclose(None);
    socket.set_onerror(None);
}

/// A running subscription; dropping it closes the socket and stops reconnecting.
pub struct Subscription {
    _inner: Rc<RefCell<Inner>>,
}

/// Subscribes to `Q` at `url` (ws:// or wss://), calling `on_next` with each typed result
/// (including the first after every reconnect) and `on_status` when the link changes.
pub fn subscribe<Q: GraphQLQuery>(
    url: &str,
    variables: Q::Variables,
    on_next: impl Fn(Answer<Q::ResponseData>) + 'static,
    on_status: impl Fn(LinkStatus) + 'static,
) -> Subscription
where
    Q::ResponseData: for<'de> Deserialize<'de> + 'static,
{
    let on_next: OnNext =
        Rc::new(
            move |payload: JsValue| match decode::<Q::ResponseData>(payload) {
                Ok(answer) => on_next(answer),
                Err(e) => web_sys::console::warn_2(&"subscription payload:".into(), &e.into()),
            },
        );
    start(
        url,
        subscribe_message::<Q>(variables),
        on_next,
        Rc::new(on_status),
    )
}

/// Subscribes to `Q` like [`subscribe`], but hands `on_next` each result undecoded (as the
/// browser parsed it): for a view that only needs to know that something changed, which then
/// carries no decoder for the result type.
pub fn watch<Q: GraphQLQuery>(
    url: &str,
    variables: Q::Variables,
    on_next: impl Fn(JsValue) + 'static,
    on_status: impl Fn(LinkStatus) + 'static,
) -> Subscription {
    start(
        url,
        subscribe_message::<Q>(variables),
        Rc::new(on_next),
        Rc::new(on_status),
    )
}

fn subscribe_message<Q: GraphQLQuery>(variables: Q::Variables) -> String {
    js::to_json(&SubscribeMessage {
        id: "1",
        kind: "subscribe",
        payload: &Q::build_query(variables),
    })
    .unwrap_or_default()
}

fn start(url: &str, subscribe: String, on_next: OnNext, on_status: OnStatus) -> Subscription {
    let inner = Rc::new(RefCell::new(Inner {
        url: url.to_owned(),
        subscribe,
        on_next,
        on_status,
        socket: None,
        handlers: Vec::new(),
        retry: None,
        attempt: 0,
    }));
    connect(&inner);
    Subscription { _inner: inner }
}

fn connect(inner: &Rc<RefCell<Inner>>) {
    let weak = Rc::downgrade(inner);
    let url = inner.borrow().url.clone();
    let status = inner.borrow().on_status.clone();
    status(LinkStatus::Connecting);
    let socket = match WebSocket::new_with_str(&url, PROTOCOL) {
        Ok(socket) => socket,
        Err(_) => {
            schedule_reconnect(&weak);
            return;
        }
    };
    let open = {
        let socket = socket.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            let _ = socket.send_with_str(r#"{"type":"connection_init","payload":{}}"#);
        })
    };
    let message = {
        let weak = weak.clone();
        let socket = socket.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let Some(text) = event
                .dyn_ref::<MessageEvent>()
                .and_then(|m| m.data().as_string())
            else {
                return;
            };
            on_message(&weak, &socket, &text);
        })
    };
    let close = {
        let weak = weak.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let code = event.dyn_ref::<CloseEvent>().map(CloseEvent::code);
            if code.is_some_and(|c| SESSION_CLOSE_CODES.contains(&c)) {
                stop(&weak);
            } else {
                schedule_reconnect(&weak);
            }
        })
    };
    socket.set_onopen(Some(open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(close.as_ref().unchecked_ref()));
    let mut state = inner.borrow_mut();
    state.socket = Some(socket);
    state.handlers = vec![open, message, close];
}

fn on_message(weak: &Weak<RefCell<Inner>>, socket: &WebSocket, text: &str) {
    let Some(inner) = weak.upgrade() else {
        return;
    };
    let Ok(message) = js_sys::JSON::parse(text) else {
        return;
    };
    let field = |name: &str| Reflect::get(&message, &JsValue::from_str(name)).ok();
    match field("type").and_then(|t| t.as_string()).as_deref() {
        Some("connection_ack") => {
            let (subscribe, status) = {
                let mut state = inner.borrow_mut();
                state.attempt = 0;
                (state.subscribe.clone(), state.on_status.clone())
            };
            let _ = socket.send_with_str(&subscribe);
            status(LinkStatus::Live);
        }
        Some("next") => {
            let on_next = inner.borrow().on_next.clone();
            if let Some(payload) = field("payload").filter(|p| !p.is_undefined()) {
                on_next(payload);
            }
        }
        Some("error") => {
            let on_next = inner.borrow().on_next.clone();
            // The payload is the list of GraphQL errors: an answer without data.
            let answer = Object::new();
            let errors = field("payload").unwrap_or(JsValue::NULL);
            if has_code(&errors, crate::graphql::UNAUTHENTICATED) {
                drop(inner);
                stop(weak);
                return;
            }
            let _ = Reflect::set(&answer, &JsValue::from_str("data"), &JsValue::NULL);
            let _ = Reflect::set(&answer, &JsValue::from_str("errors"), &errors);
            on_next(answer.into());
        }
        Some("ping") => {
            let _ = socket.send_with_str(r#"{"type":"pong"}"#);
        }
        _ => {}
    }
}

/// Whether a list of GraphQL errors (as the browser parsed it) has one with this code.
fn has_code(errors: &JsValue, code: &str) -> bool {
    let Some(errors) = errors.dyn_ref::<js_sys::Array>() else {
        return false;
    };
    errors.iter().any(|e| {
        Reflect::get(&e, &JsValue::from_str("extensions"))
            .and_then(|x| Reflect::get(&x, &JsValue::from_str("code")))
            .ok()
            .and_then(|c| c.as_string())
            .is_some_and(|c| c == code)
    })
}

/// The BFF ended the link because the session ended (4401: no session, 4403: signed out or
/// not allowed): reconnecting would be refused again. The link stays down (the view's status
/// says so) and the shell is told, which shows the sign-in page.
fn stop(weak: &Weak<RefCell<Inner>>) {
    let Some(inner) = weak.upgrade() else {
        return;
    };
    let status = {
        let mut state = inner.borrow_mut();
        if let Some(socket) = state.socket.take() {
            detach(&socket);
            let _ = socket.close();
        }
        state.retry = None;
        state.on_status.clone()
    };
    status(LinkStatus::Ended);
    crate::graphql::session_ended();
}

fn schedule_reconnect(weak: &Weak<RefCell<Inner>>) {
    let Some(inner) = weak.upgrade() else {
        return;
    };
    let (delay, status) = {
        let mut state = inner.borrow_mut();
        if let Some(socket) = state.socket.take() {
            detach(&socket);
        }
        let delay = FIRST_BACKOFF_MS
            .saturating_mul(1 << state.attempt.min(5))
            .min(MAX_BACKOFF_MS);
        state.attempt += 1;
        (delay, state.on_status.clone())
    };
    status(LinkStatus::Reconnecting);
    let weak = weak.clone();
    let timer = gloo_timers::callback::Timeout::new(delay, move || {
        if let Some(inner) = weak.upgrade() {
            connect(&inner);
        }
    });
    inner.borrow_mut().retry = Some(timer);
}
