//! One component's place on the page. It loads the component (fresh from components.json each
//! attempt) into a new host element with its own shadow root, gives up after the load timeout,
//! and on any failure (including a panic the component reports as `mall:component-failed`)
//! shows a fallback with Retry in this slot only.

use std::cell::RefCell;
use std::rc::Rc;

use futures::future::{select, Either};
use leptos::prelude::*;
use mall_kit::events::{listen_while_mounted, ComponentFailed};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{HtmlElement, ShadowRootInit, ShadowRootMode};

use crate::config::Config;
use crate::loader::{self, LoadError};
use crate::manifest;

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Loading,
    Ready,
    Failed(LoadError),
}

/// What the slot holds between attempts (browser objects, so not in signals).
#[derive(Default)]
struct Runtime {
    /// Bumped by every attempt and failure: answers of older attempts are ignored.
    generation: u32,
    /// The next instance number (`?instance=N`); 0 loads the plain URL.
    next_instance: u32,
    host: Option<HtmlElement>,
    handle: Option<JsValue>,
}

impl Runtime {
    /// Removes the component's host. A component that failed is only detached, never called
    /// again: its instance may have trapped.
    fn discard(&mut self, call_unmount: bool) {
        if let Some(handle) = self.handle.take() {
            if call_unmount {
                if let Ok(unmount) = js_sys::Reflect::get(&handle, &"unmount".into()) {
                    if let Some(f) = unmount.dyn_ref::<js_sys::Function>() {
                        let _ = f.call0(&handle);
                    }
                }
            }
        }
        if let Some(host) = self.host.take() {
            host.remove();
        }
    }
}

fn context(config: &Config, customer: &str) -> JsValue {
    let ctx = mall_kit::MountContext {
        graphql_url: config.graphql_url.clone(),
        graphql_ws_url: config.graphql_ws_url.clone(),
        customer_id: customer.to_owned(),
        token: None,
    };
    mall_kit::js::to_js(&ctx).unwrap_or(JsValue::NULL)
}

fn new_host(name: &str, holder: &web_sys::Element) -> Result<HtmlElement, JsValue> {
    let document = holder
        .owner_document()
        .ok_or_else(|| JsValue::from_str("no document"))?;
    let host: HtmlElement = document.create_element("div")?.dyn_into()?;
    host.set_class_name("component-host");
    host.set_attribute("data-testid", &format!("host-{name}"))?;
    host.attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))?;
    holder.append_child(&host)?;
    Ok(host)
}

/// A component's slot.
#[component]
pub fn Slot(
    /// The component's name in components.json.
    name: &'static str,
    /// What the customer calls this part of the page.
    title: &'static str,
    config: Config,
    customer: RwSignal<String>,
) -> impl IntoView {
    let state = RwSignal::new(State::Loading);
    let holder = NodeRef::<leptos::html::Div>::new();
    let runtime = Rc::new(RefCell::new(Runtime::default()));

    let fail = {
        let runtime = runtime.clone();
        move |error: LoadError| {
            web_sys::console::error_1(&format!("[mall] component {name} {error}").into());
            let mut rt = runtime.borrow_mut();
            rt.generation += 1;
            rt.discard(false);
            state.set(State::Failed(error));
        }
    };

    let attempt = {
        let runtime = runtime.clone();
        let fail = fail.clone();
        move || {
            let Some(holder) = holder.get_untracked() else {
                return;
            };
            let (generation, instance) = {
                let mut rt = runtime.borrow_mut();
                rt.discard(true);
                rt.generation += 1;
                let instance = rt.next_instance;
                rt.next_instance += 1;
                (rt.generation, instance)
            };
            state.set(State::Loading);
            let runtime = runtime.clone();
            let fail = fail.clone();
            let config = config.clone();
            leptos::task::spawn_local(async move {
                let current = |rt: &Rc<RefCell<Runtime>>| rt.borrow().generation == generation;
                let entry = match manifest::entry(name).await {
                    Ok(entry) => entry.ok_or(LoadError::Missing),
                    Err(e) => Err(LoadError::Manifest(e)),
                };
                if !current(&runtime) {
                    return;
                }
                let entry = match entry.and_then(|e| loader::check_contract(&e).map(|()| e)) {
                    Ok(entry) => entry,
                    Err(e) => return fail(e),
                };
                let host = match new_host(name, &holder) {
                    Ok(host) => host,
                    Err(e) => return fail(LoadError::Mount(mall_kit::js::message(&e))),
                };
                runtime.borrow_mut().host = Some(host.clone());
                let ms = config.load_timeout_ms;
                let ctx = || context(&config, &customer.get_untracked());
                let load = Box::pin(loader::load(&entry, instance, &host, ctx));
                let timeout = Box::pin(gloo_timers::future::TimeoutFuture::new(ms));
                let outcome = match select(load, timeout).await {
                    Either::Left((result, _)) => result,
                    Either::Right(((), _)) => Err(LoadError::Timeout(ms)),
                };
                // A panic during mount has already failed the slot (and bumped the generation).
                if !current(&runtime) {
                    return;
                }
                match outcome {
                    Ok(handle) => {
                        runtime.borrow_mut().handle = Some(handle);
                        state.set(State::Ready);
                    }
                    Err(e) => fail(e),
                }
            });
        }
    };

    {
        let fail = fail.clone();
        listen_while_mounted(move |event: ComponentFailed| {
            if event.component == name && !matches!(state.get_untracked(), State::Failed(_)) {
                fail(LoadError::Crashed(event.message));
            }
        });
    }

    // First load once the holder element exists.
    {
        let attempt = attempt.clone();
        Effect::new(move |done: Option<bool>| {
            if done == Some(true) || holder.get().is_none() {
                return done.unwrap_or(false);
            }
            attempt();
            true
        });
    }

    // The view's closures must be Send; the browser objects behind `attempt` never leave this
    // thread.
    let retry = mall_kit::SendWrapper::new(attempt);
    let data_state = move || match state.get() {
        State::Loading => "loading",
        State::Ready => "ready",
        State::Failed(_) => "failed",
    };
    view! {
        <section
            class=format!("slot slot-{name}")
            aria-label=title
            aria-busy=move || (state.get() == State::Loading).to_string()
            data-testid=format!("slot-{name}")
            data-state=data_state
        >
            {move || match state.get() {
                State::Loading => view! {
                    <p class="slot-loading" role="status" data-testid=format!("loading-{name}")>
                        "Loading " {title.to_ascii_lowercase()} "…"
                    </p>
                }
                .into_any(),
                State::Ready => ().into_any(),
                State::Failed(error) => {
                    let attempt = retry.clone();
                    view! {
                        <div class="fallback" role="alert" data-testid=format!("fallback-{name}")>
                            <p>
                                <strong>{title}</strong> " " {error.summary()}
                                " The rest of the shop keeps working."
                            </p>
                            <p class="fallback-detail">{error.to_string()}</p>
                            <button
                                type="button"
                                aria-label=format!("Retry {}", title.to_ascii_lowercase())
                                on:click=move |_| attempt()
                            >
                                "Retry"
                            </button>
                        </div>
                    }
                    .into_any()
                }
            }}
            <div class="slot-holder" node_ref=holder></div>
        </section>
    }
}
