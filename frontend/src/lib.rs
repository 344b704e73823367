//! The 12st mall shell: the page's frame comes as HTML in the document (header, three slots
//! showing that they load), so it paints before any wasm runs; this small wasm module then
//! takes the frame over and composes the micro-frontends at run time from the manifest the
//! document carries (`components.json`, inlined by the BFF). Plain web-sys, no UI framework:
//! the shell only loads, holds slots, shows fallbacks with Retry, and runs the header and the
//! sign-in page.
//!
//! - [`session`]: who is signed in (`/auth/me`), the page's one piece of state
//! - [`account`]: the signed-in header, the sign-in / sign-up page, and what a session's end does
//! - [`config`]: where the BFF is (from the page's `<meta>` tags and its URL)
//! - [`events`]: the names of the `mall:*` events the shell listens to
//! - [`manifest`]: components.json (inlined in the document, or fetched) and its checks
//! - [`loader`]: importing a component's module as a fresh instance and mounting it
//! - [`slot`]: one component's place on the page, its load timeout, fallback and Retry
//! - [`text`]: strings built without the formatting machinery (it would be a large part of
//!   the shell's weight)

pub mod account;
pub mod config;
pub mod events;
pub mod loader;
pub mod manifest;
pub mod session;
pub mod slot;
pub mod text;

use wasm_bindgen::{prelude::wasm_bindgen, JsCast};

/// A free-list allocator a fifth of std's default (dlmalloc) in code: the shell allocates
/// little (strings, a few closures), once per load or click.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

/// Takes the page's frame over; the document's start script calls it once the module is
/// initialised, with `(url) => import(url)` (see [`loader::set_importer`]): every
/// `section[data-slot]` of the document, the catalogue loading at once; then asks who is
/// signed in, and loads the slots that need a customer (`data-needs="account"`) or shows the
/// sign-in page.
#[wasm_bindgen]
pub fn run(import: js_sys::Function) {
    loader::set_importer(import);
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let config = config::Config::from_page();
    let session = session::Session::default();
    let manifest = manifest::inline(&document);
    let Ok(sections) = document.query_selector_all("section[data-slot]") else {
        return;
    };
    let mut customer_slots = Vec::new();
    for i in 0..sections.length() {
        let Some(section) = sections.item(i).and_then(|n| n.dyn_into().ok()) else {
            continue;
        };
        if let Some(slot) = slot::Slot::take_over(section, config.clone(), session.clone()) {
            if slot.needs_account() {
                customer_slots.push(slot);
            } else {
                slot.start(manifest.clone());
            }
        }
    }
    let page = account::Page::new(document, session, customer_slots, manifest);
    wasm_bindgen_futures::spawn_local(page.start());
}
