//! The signed-in header and the sign-in / sign-up page. The document carries both as HTML
//! (`#account` in the header, `#auth` beside the catalogue), hidden, or for a signed-in
//! caller with the header already greeting them (the BFF renders it so), and the shell shows,
//! fills and wires them. Signed out, the page shows the catalogue and the sign-in page;
//! signed in, the header greets the account and the slots that need a customer
//! (`section[data-needs=account]`) load their components with it. When the BFF names an
//! external issuer (`/auth/me`'s `signInWith`), the sign-in page offers its link
//! (`#sign-in-external`, to `/auth/oidc/login`, which comes back signed in). When the
//! session ends (sign-out, or `mall:session-ended` from a component that the BFF answered
//! `UNAUTHENTICATED` or whose live link it closed) those components are unmounted and the
//! sign-in page comes back: never components that can no longer work.

use alloc::borrow::ToOwned;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;

use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{Document, Element, FormData, HtmlFormElement};

use crate::session::{self, Account, Session};
use crate::slot::Slot;

/// The page: its header, its sign-in page and its slots.
#[derive(Clone)]
pub struct Page(Rc<Inner>);

struct Inner {
    document: Document,
    session: Session,
    /// The slots that need a signed-in customer.
    customer_slots: Vec<Slot>,
    manifest: Option<JsValue>,
}

impl Page {
    pub fn new(
        document: Document,
        session: Session,
        customer_slots: Vec<Slot>,
        manifest: Option<JsValue>,
    ) -> Page {
        let page = Page(Rc::new(Inner {
            document,
            session,
            customer_slots,
            manifest,
        }));
        page.listen();
        page
    }

    fn by_id(&self, id: &str) -> Option<Element> {
        self.0.document.get_element_by_id(id)
    }

    /// Shows the page for whoever is signed in: as the document says (what `/auth/me` would
    /// answer, inlined by the BFF), or, when it says nothing, as the BFF answers.
    pub async fn start(self) {
        let answer = match session::inline(&self.0.document) {
            Some(answer) => Ok(answer),
            None => session::call("GET", "auth/me", None).await,
        };
        match answer {
            Ok(answer) => match session::account(&answer) {
                Some(account) => self.signed_in(account),
                None => {
                    if let (Some(name), Some(link)) =
                        (answer.text("signInWith"), self.by_id("sign-in-external"))
                    {
                        // The document says "Sign in with " before it (`::before`).
                        link.set_text_content(Some(&name));
                        show(Some(&link), true);
                    }
                    self.signed_out("")
                }
            },
            Err(e) => {
                web_sys::console::error_1(&e);
                self.signed_out("The mall could not be reached; try again.");
            }
        }
    }

    fn signed_in(&self, account: Account) {
        if let Some(name) = self.by_id("account-name") {
            name.set_text_content(Some(&account.name));
            let _ = name.set_attribute("title", &account.id);
        }
        show(self.by_id("account").as_ref(), true);
        show(self.by_id("auth").as_ref(), false);
        self.say("");
        self.0.session.set(Some(account));
        for slot in &self.0.customer_slots {
            show(Some(slot.section()), true);
            slot.start(self.0.manifest.clone());
        }
    }

    /// Unmounts the components that need a customer and shows the sign-in page with `note`.
    fn signed_out(&self, note: &str) {
        self.0.session.set(None);
        for slot in &self.0.customer_slots {
            slot.stop();
            show(Some(slot.section()), false);
        }
        show(self.by_id("account").as_ref(), false);
        for id in ["sign-in", "sign-up"] {
            if let Some(form) = self.form(id) {
                form.reset();
            }
        }
        show(self.by_id("auth").as_ref(), true);
        self.say(note);
    }

    fn form(&self, id: &str) -> Option<HtmlFormElement> {
        self.by_id(id)?.dyn_into().ok()
    }

    /// A sign-out the mall did not take: said in the header (the page stays signed in).
    fn note_failure(&self, why: Option<String>) {
        let mut text = "Sign-out failed: ".to_owned();
        text.push_str(why.as_deref().unwrap_or("the mall could not be reached"));
        web_sys::console::error_1(&JsValue::from_str(&text));
        if let Some(button) = self.by_id("sign-out") {
            let _ = button.set_attribute("title", &text);
        }
    }

    /// The sign-in page's message line.
    fn say(&self, text: &str) {
        if let Some(line) = self.by_id("auth-message") {
            line.set_text_content(Some(text));
        }
    }

    fn listen(&self) {
        for (id, route) in [("sign-in", "auth/login"), ("sign-up", "auth/signup")] {
            let Some(form) = self.form(id) else { continue };
            let page = self.clone();
            let target = form.clone();
            let on_submit = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
                e.prevent_default();
                let page = page.clone();
                let form = target.clone();
                wasm_bindgen_futures::spawn_local(async move { page.submit(&form, route).await });
            });
            let _ =
                form.add_event_listener_with_callback("submit", on_submit.as_ref().unchecked_ref());
            // The page's forms live as long as the page.
            on_submit.forget();
        }
        if let Some(button) = self.by_id("sign-out") {
            let page = self.clone();
            let on_click = Closure::<dyn FnMut()>::new(move || {
                let page = page.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    // JSON, as the BFF requires of every cookie-carrying POST.
                    match session::call("POST", "auth/logout", Some("{}")).await {
                        Ok(answer) if (200..300).contains(&answer.status) => {
                            page.signed_out("You are signed out.");
                        }
                        // Not signed out: the page must not pretend it is.
                        Ok(answer) => page.note_failure(answer.problem()),
                        Err(e) => {
                            web_sys::console::error_1(&e);
                            page.note_failure(None);
                        }
                    }
                });
            });
            let _ =
                button.add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref());
            on_click.forget();
            // The document disables it until it does something (the frame may show the
            // signed-in header before the shell runs).
            let _ = button.remove_attribute("disabled");
        }
        // A component says the session ended. Handled after the component's own call has
        // returned (a task, not inside its dispatch): unmounting it from within its own call
        // would re-enter its wasm.
        let page = self.clone();
        let on_ended = Closure::<dyn FnMut()>::new(move || {
            let page = page.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if page.0.session.signed_in() {
                    page.signed_out("Your session has ended: sign in again.");
                }
            });
        });
        if let Some(window) = web_sys::window() {
            let _ = window.add_event_listener_with_callback(
                crate::events::SESSION_ENDED,
                on_ended.as_ref().unchecked_ref(),
            );
        }
        on_ended.forget();
        // The page comes back from the back/forward cache as it was left: whoever signed in
        // or out meanwhile (in another tab, or on the page navigated to) is asked again.
        let page = self.clone();
        let on_show = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            let restored = js_sys::Reflect::get(&e, &JsValue::from_str("persisted"))
                .is_ok_and(|p| p.is_truthy());
            if restored {
                let page = page.clone();
                wasm_bindgen_futures::spawn_local(async move { page.recheck().await });
            }
        });
        if let Some(window) = web_sys::window() {
            let _ = window
                .add_event_listener_with_callback("pageshow", on_show.as_ref().unchecked_ref());
        }
        on_show.forget();
    }

    /// Asks the BFF who is signed in and follows any change: a page restored from the
    /// back/forward cache shows the session it was left with.
    async fn recheck(&self) {
        let now = match session::me().await {
            Ok(now) => now,
            // Not reachable: the page stays as it was; its next call says more.
            Err(_) => return,
        };
        let shown = self.0.session.account().map(|a| a.id);
        match now {
            Some(account) if shown.as_deref() == Some(account.id.as_str()) => {}
            Some(account) => {
                if shown.is_some() {
                    self.signed_out("");
                }
                self.signed_in(account);
            }
            None if shown.is_some() => self.signed_out("Your session has ended: sign in again."),
            None => {}
        }
    }

    /// Sends a sign-in or sign-up form as JSON; signed in, shows the shop.
    async fn submit(&self, form: &HtmlFormElement, route: &str) {
        let Some(json) = FormData::new_with_form(form)
            .ok()
            .and_then(|data| js_sys::Object::from_entries(&data).ok())
            .and_then(|fields| js_sys::JSON::stringify(&fields).ok())
            .and_then(|json| json.as_string())
        else {
            return;
        };
        self.say("");
        let answer = match session::call("POST", route, Some(&json)).await {
            Ok(answer) => answer,
            Err(e) => {
                web_sys::console::error_1(&e);
                self.say("The mall could not be reached; try again.");
                return;
            }
        };
        if !(200..300).contains(&answer.status) {
            let why = answer
                .problem()
                .unwrap_or_else(|| "the mall refused it".to_owned());
            let mut text = if route.ends_with("login") {
                "Not signed in: ".to_owned()
            } else {
                "Not signed up: ".to_owned()
            };
            text.push_str(&why);
            text.push('.');
            self.say(&text);
            return;
        }
        match session::me().await {
            Ok(Some(account)) => self.signed_in(account),
            _ => self.say("Signed in, but the mall did not say who you are; reload the page."),
        }
    }
}

/// Shows or hides an element (`hidden`).
fn show(element: Option<&Element>, visible: bool) {
    if let Some(element) = element {
        let _ = if visible {
            element.remove_attribute("hidden")
        } else {
            element.set_attribute("hidden", "")
        };
    }
}
