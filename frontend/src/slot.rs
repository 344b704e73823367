//! One component's place on the page. The document carries the slot as HTML
//! (`section[data-slot=NAME]` with its title and loading status); the shell takes it over,
//! loads the component (from the manifest the document carries, fresh from components.json on
//! a Retry) into a new host element with its own shadow root, gives up after the load timeout,
//! and on any failure (including a panic the component reports as `mall:component-failed`)
//! shows a fallback with Retry in this slot only.

use alloc::borrow::ToOwned;
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use core::cell::RefCell;

use futures::future::{select, Either};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{Document, Element, HtmlElement, ShadowRootInit, ShadowRootMode};

use crate::config::Config;
use crate::loader::{self, Importer, LoadError};
use crate::manifest::{self, Entry};
use crate::session::{Account, Session};
use crate::text::{concat, message};
use crate::timer;

/// After this long a slot still loading says that it is slow (and keeps trying until the
/// load timeout).
pub const SLOW_AFTER_MS: u32 = 2_500;

/// What the slot shows.
#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Loading,
    Ready,
    Failed(LoadError),
    /// Nobody is signed in: the component is not mounted.
    Stopped,
}

/// What the slot holds between attempts.
#[derive(Default)]
struct Runtime {
    /// Bumped by every attempt and failure: answers of older attempts are ignored.
    generation: u32,
    /// The next instance number (`?instance=N`); 0 loads the plain URL.
    next_instance: u32,
    host: Option<HtmlElement>,
    handle: Option<JsValue>,
    failed: bool,
}

impl Runtime {
    /// Removes the component's host. A component that failed is only detached, never called
    /// again: its instance may have trapped.
    fn discard(&mut self, call_unmount: bool) {
        if let Some(handle) = self.handle.take() {
            if call_unmount {
                unmount(&handle);
            }
        }
        if let Some(host) = self.host.take() {
            host.remove();
        }
    }
}

/// A slot of the page, shared by its listeners and its loading task.
#[derive(Clone)]
pub struct Slot(Rc<Inner>);

struct Inner {
    /// The component's name in components.json.
    name: String,
    /// What the customer calls this part of the page.
    title: String,
    document: Document,
    section: Element,
    /// Where the loading message or the fallback goes.
    status: Element,
    /// Where the component's host element goes.
    holder: Element,
    config: Config,
    session: Session,
    importer: Importer,
    runtime: RefCell<Runtime>,
}

impl Slot {
    /// Takes over a `section[data-slot]` of the document (adding its status and holder
    /// elements if the document has none), and listens for Retry clicks and for the
    /// component's `mall:component-failed` for the life of the page.
    pub fn take_over(
        section: Element,
        config: Config,
        session: Session,
        importer: Importer,
    ) -> Option<Slot> {
        let name = section.get_attribute("data-slot")?;
        let title = section
            .get_attribute("aria-label")
            .unwrap_or_else(|| name.clone());
        let document = section.owner_document()?;
        let part = |class: &str| -> Option<Element> {
            let mut selector = ".".to_owned();
            selector.push_str(class);
            match section.query_selector(&selector).ok()? {
                Some(found) => Some(found),
                None => {
                    let made = document.create_element("div").ok()?;
                    made.set_class_name(class);
                    section.append_child(&made).ok()?;
                    Some(made)
                }
            }
        };
        let status = part("slot-status")?;
        let holder = part("slot-holder")?;
        let slot = Slot(Rc::new(Inner {
            name,
            title,
            document,
            section,
            status,
            holder,
            config,
            session,
            importer,
            runtime: RefCell::new(Runtime::default()),
        }));
        slot.listen();
        Some(slot)
    }

    fn listen(&self) {
        let on_click = {
            let slot = self.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
                let retry = event
                    .target()
                    .and_then(|t| t.dyn_into::<Element>().ok())
                    .and_then(|t| t.closest("[data-action=retry]").ok().flatten());
                if retry.is_some() {
                    slot.attempt(None);
                }
            })
        };
        let _ = self
            .0
            .section
            .add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref());
        // Slots live as long as the page.
        on_click.forget();

        // `mall:component-failed`: its detail's `component` and `message`, read directly.
        let slot = self.clone();
        let on_failed = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let Some(event) = event.dyn_ref::<web_sys::CustomEvent>() else {
                return;
            };
            let detail = event.detail();
            let text = |key: &str| {
                js_sys::Reflect::get(&detail, &JsValue::from_str(key))
                    .ok()
                    .and_then(|v| v.as_string())
            };
            let already = slot.0.runtime.borrow().failed;
            if text("component").as_deref() == Some(slot.0.name.as_str()) && !already {
                slot.fail(LoadError::Crashed(text("message").unwrap_or_default()));
            }
        });
        if let Some(window) = web_sys::window() {
            let _ = window.add_event_listener_with_callback(
                crate::events::COMPONENT_FAILED,
                on_failed.as_ref().unchecked_ref(),
            );
        }
        on_failed.forget();
    }

    /// The first load, from the manifest the document carries when it has one.
    pub fn start(&self, manifest: Option<JsValue>) {
        self.attempt(manifest);
    }

    /// The slot's section of the document.
    pub fn section(&self) -> &Element {
        &self.0.section
    }

    /// Whether the slot's component needs a signed-in customer (`data-needs="account"`).
    pub fn needs_account(&self) -> bool {
        self.0.section.get_attribute("data-needs").as_deref() == Some("account")
    }

    /// Unmounts the component (the session ended) and forgets any load in flight; the slot
    /// shows nothing until it is started again.
    pub fn stop(&self) {
        {
            let mut rt = self.0.runtime.borrow_mut();
            rt.generation += 1;
            let failed = rt.failed;
            rt.discard(!failed);
            rt.failed = false;
        }
        self.show(State::Stopped);
    }

    fn fail(&self, error: LoadError) {
        let inner = &self.0;
        let line = concat(&["[mall] component ", &inner.name, " ", &error.detail()]);
        web_sys::console::error_1(&line.into());
        {
            let mut rt = inner.runtime.borrow_mut();
            rt.generation += 1;
            rt.failed = true;
            rt.discard(false);
        }
        self.show(State::Failed(error));
    }

    /// Loads the component afresh: from `manifest` if given, else from components.json.
    fn attempt(&self, manifest: Option<JsValue>) {
        let (generation, instance) = {
            let mut rt = self.0.runtime.borrow_mut();
            rt.discard(true);
            rt.generation += 1;
            rt.failed = false;
            let instance = rt.next_instance;
            rt.next_instance += 1;
            (rt.generation, instance)
        };
        self.show(State::Loading);
        let slow = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            timer::sleep(SLOW_AFTER_MS).await;
            // Only this attempt's loading line says so (once the attempt ended, its line is
            // gone; a newer attempt has another generation).
            if slow.0.runtime.borrow().generation == generation {
                slow.note_slow();
            }
        });
        let slot = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let current = || slot.0.runtime.borrow().generation == generation;
            let outcome = slot.load(manifest, instance).await;
            // A panic during mount has already failed the slot (and bumped the generation);
            // a slot stopped meanwhile unmounts what arrived too late.
            if !current() {
                if let (Ok(handle), false) = (&outcome, slot.0.runtime.borrow().failed) {
                    unmount(handle);
                }
                return;
            }
            match outcome {
                Ok(handle) => {
                    slot.0.runtime.borrow_mut().handle = Some(handle);
                    slot.show(State::Ready);
                }
                Err(e) => slot.fail(e),
            }
        });
    }

    async fn load(&self, manifest: Option<JsValue>, instance: u32) -> Result<JsValue, LoadError> {
        let inner = &self.0;
        let generation = inner.runtime.borrow().generation;
        let manifest = match manifest {
            Some(manifest) => manifest,
            None => manifest::fetch().await.map_err(LoadError::Manifest)?,
        };
        let entry: Entry = manifest::entry(&manifest, &inner.name)
            .map_err(LoadError::Manifest)?
            .ok_or(LoadError::Missing)?;
        loader::check_contract(&entry)?;
        if inner.runtime.borrow().generation != generation {
            return Err(LoadError::Missing);
        }
        let host = self.new_host().map_err(|e| LoadError::Mount(message(&e)))?;
        inner.runtime.borrow_mut().host = Some(host.clone());
        let ms = inner.config.load_timeout_ms;
        let context = || context(&inner.config, inner.session.account());
        let load = Box::pin(loader::load(
            &inner.importer,
            &entry,
            instance,
            &host,
            context,
        ));
        let timeout = Box::pin(timer::sleep(ms));
        let outcome = match select(load, timeout).await {
            Either::Left((result, _)) => result,
            Either::Right(((), _)) => Err(LoadError::Timeout(ms)),
        };
        outcome
    }

    fn new_host(&self) -> Result<HtmlElement, JsValue> {
        let inner = &self.0;
        // A `div` is an HTMLElement.
        let host: HtmlElement = inner.document.create_element("div")?.unchecked_into();
        host.set_class_name("component-host");
        host.set_attribute("data-testid", &concat(&["host-", &inner.name]))?;
        host.attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))?;
        inner.holder.append_child(&host)?;
        Ok(host)
    }

    /// Shows `state`: the section's `data-state` and `aria-busy`, and its status line.
    fn show(&self, state: State) {
        let inner = &self.0;
        let (data_state, busy) = match state {
            State::Loading => ("loading", "true"),
            State::Ready => ("ready", "false"),
            State::Failed(_) => ("failed", "false"),
            State::Stopped => ("signed-out", "false"),
        };
        let _ = inner.section.set_attribute("data-state", data_state);
        let _ = inner.section.set_attribute("aria-busy", busy);
        inner.status.set_text_content(None);
        let shown = match state {
            State::Loading => self.loading_view(),
            State::Ready | State::Stopped => Ok(()),
            State::Failed(error) => self.fallback_view(&error),
        };
        if let Err(e) = shown {
            web_sys::console::error_1(&e);
        }
    }

    fn element(&self, parent: &Element, tag: &str, text: &str) -> Result<Element, JsValue> {
        let element = self.0.document.create_element(tag)?;
        if !text.is_empty() {
            element.set_text_content(Some(text));
        }
        parent.append_child(&element)?;
        Ok(element)
    }

    fn loading_view(&self) -> Result<(), JsValue> {
        let inner = &self.0;
        let line = self.element(&inner.status, "p", "")?;
        line.set_class_name("slot-loading");
        line.set_attribute("role", "status")?;
        line.set_attribute("data-testid", &concat(&["loading-", &inner.name]))?;
        line.set_text_content(Some(&concat(&[
            "Loading ",
            &inner.title.to_ascii_lowercase(),
            "…",
        ])));
        Ok(())
    }

    /// While a bundle is slow, the slot says so (the rest of the page is usable meanwhile).
    fn note_slow(&self) {
        let inner = &self.0;
        if let Ok(Some(line)) = inner.status.query_selector(".slot-loading") {
            line.set_text_content(Some(&concat(&[
                "Still loading ",
                &inner.title.to_ascii_lowercase(),
                ": the connection is slow…",
            ])));
        }
    }

    fn fallback_view(&self, error: &LoadError) -> Result<(), JsValue> {
        let inner = &self.0;
        let fallback = self.element(&inner.status, "div", "")?;
        fallback.set_class_name("fallback");
        fallback.set_attribute("role", "alert")?;
        fallback.set_attribute("data-testid", &concat(&["fallback-", &inner.name]))?;
        let summary = self.element(&fallback, "p", "")?;
        self.element(&summary, "strong", &inner.title)?;
        summary.append_with_str_1(&concat(&[
            " ",
            error.summary(),
            " The rest of the shop keeps working.",
        ]))?;
        let detail = self.element(&fallback, "p", &error.detail())?;
        detail.set_class_name("fallback-detail");
        let retry = self.element(&fallback, "button", "Retry")?;
        retry.set_attribute("type", "button")?;
        retry.set_attribute("data-action", "retry")?;
        retry.set_attribute(
            "aria-label",
            &concat(&["Retry ", &inner.title.to_ascii_lowercase()]),
        )?;
        Ok(())
    }
}

/// Calls a mounted component's `handle.unmount()`.
fn unmount(handle: &JsValue) {
    if let Ok(unmount) = js_sys::Reflect::get(handle, &"unmount".into()) {
        if let Some(f) = unmount.dyn_ref::<js_sys::Function>() {
            let _ = f.call0(handle);
        }
    }
}

/// The mount context (`mall_kit::MountContext`, camelCase as the kit decodes it), built
/// directly rather than through serde's encoder: where the BFF is and who is signed in
/// (empty while nobody is), never a token.
fn context(config: &Config, account: Option<Account>) -> JsValue {
    let account = account.unwrap_or_default();
    let ctx = js_sys::Object::new();
    for (key, value) in [
        ("graphqlUrl", config.graphql_url.as_str()),
        ("graphqlWsUrl", config.graphql_ws_url.as_str()),
        ("customerId", account.id.as_str()),
        ("name", account.name.as_str()),
        ("address", account.address.as_str()),
    ] {
        let _ = js_sys::Reflect::set(&ctx, &JsValue::from_str(key), &JsValue::from_str(value));
    }
    let roles: js_sys::Array = account.roles.iter().map(|r| JsValue::from_str(r)).collect();
    let _ = js_sys::Reflect::set(&ctx, &JsValue::from_str("roles"), &roles);
    ctx.into()
}
