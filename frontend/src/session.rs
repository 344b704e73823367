//! Who is signed in, asked of the BFF's `/auth` routes (DESIGN.md section 8). The browser
//! never sees a token: the BFF keeps the session and gives the page an HttpOnly cookie, which
//! every same-origin request and live link carries by itself. The shell only learns the
//! account to greet it and to put it into the components' mount context: at start from the
//! document, which carries what `GET /auth/me` answers its caller
//! (`<script type="application/json" id="mall-session">`), so the components that need a
//! customer mount without waiting for one more request; later (after a sign-in) from
//! `GET /auth/me` itself.

use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Headers, RequestInit};

/// The signed-in account, as `/auth/me` answers it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Account {
    /// The customer's id (their email).
    pub id: String,
    pub name: String,
    pub address: String,
    pub roles: Vec<String>,
}

impl Account {
    /// Reads `{customerId, name, address, roles}` (parsed by the browser) directly: serde's
    /// decoder would be a large part of the shell.
    fn from_js(me: &JsValue) -> Option<Account> {
        let text = |key: &str| Reflect::get(me, &JsValue::from_str(key)).ok()?.as_string();
        let roles = Reflect::get(me, &JsValue::from_str("roles"))
            .ok()
            .and_then(|r| r.dyn_into::<Array>().ok())
            .map(|r| r.iter().filter_map(|v| v.as_string()).collect())
            .unwrap_or_default();
        Some(Account {
            id: text("customerId").filter(|id| !id.is_empty())?,
            name: text("name").unwrap_or_default(),
            address: text("address").unwrap_or_default(),
            roles,
        })
    }
}

/// The page's one piece of state: the signed-in account, if any, shared by the slots.
#[derive(Clone, Debug, Default)]
pub struct Session(Rc<RefCell<Option<Account>>>);

impl Session {
    pub fn account(&self) -> Option<Account> {
        self.0.borrow().clone()
    }

    pub fn set(&self, account: Option<Account>) {
        *self.0.borrow_mut() = account;
    }

    pub fn signed_in(&self) -> bool {
        self.0.borrow().is_some()
    }
}

/// An answer of an `/auth` route: its status and its JSON body (`undefined` without one).
pub struct Answer {
    pub status: u16,
    pub body: JsValue,
}

impl Answer {
    /// What a refusal says (a problem document's `detail`, else its `title`).
    pub fn problem(&self) -> Option<String> {
        ["detail", "title"].iter().find_map(|key| self.text(key))
    }

    /// A text member of the body.
    pub fn text(&self, key: &str) -> Option<String> {
        Reflect::get(&self.body, &JsValue::from_str(key))
            .ok()?
            .as_string()
    }
}

/// Sends a request to an `/auth` route of the page's origin; `json` is sent as
/// `application/json` (what the BFF requires of cookie-carrying POSTs).
pub async fn call(method: &str, path: &str, json: Option<&str>) -> Result<Answer, JsValue> {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(json) = json {
        let headers = Headers::new()?;
        headers.set("content-type", "application/json")?;
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(json));
    }
    let fetched = crate::http::fetch(path, &init).await?;
    Ok(Answer {
        status: fetched.status,
        body: fetched.json.unwrap_or_default(),
    })
}

/// The id of the document's inlined `/auth/me` answer.
pub const INLINE_ID: &str = "mall-session";

/// The `/auth/me` answer the document carries, parsed by the browser; `None` when it has none
/// (the BFF could not tell who is signed in, or the page was served without it): ask then.
/// Its status is the problem document's own `status` (a 401 says so); a profile is a 200.
pub fn inline(document: &Document) -> Option<Answer> {
    let text = document.get_element_by_id(INLINE_ID)?.text_content()?;
    let body = js_sys::JSON::parse(&text).ok().filter(JsValue::is_object)?;
    let status = Reflect::get(&body, &JsValue::from_str("status"))
        .ok()
        .and_then(|s| s.as_f64())
        .map_or(200, |s| s as u16);
    Some(Answer { status, body })
}

/// `GET /auth/me`: the signed-in account, `None` when nobody is (401).
pub async fn me() -> Result<Option<Account>, JsValue> {
    Ok(account(&call("GET", "auth/me", None).await?))
}

/// The account of an answer of `GET /auth/me`; `None` for a 401 (whose `signInWith` names the
/// external issuer the sign-in page may offer, if any).
pub fn account(answer: &Answer) -> Option<Account> {
    match answer.status {
        200 => Account::from_js(&answer.body),
        _ => None,
    }
}
