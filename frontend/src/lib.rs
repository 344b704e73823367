//! The 12st mall shell: the page's frame comes as HTML in the document (header, three slots
//! showing that they load), so it paints before any wasm runs; this small wasm module then
//! takes the frame over and composes the micro-frontends at run time from the manifest the
//! document carries (`components.json`, inlined by the BFF). Plain web-sys, no UI framework:
//! the shell only loads, holds slots, shows fallbacks with Retry, and runs the header and the
//! sign-in page.
//!
//! - [`session`]: who is signed in (the document's inlined `/auth/me` answer, else
//!   `/auth/me`), the page's one piece of state
//! - [`account`]: the signed-in header, the sign-in / sign-up page, and what a session's end does
//! - [`config`]: where the BFF is (from the page's `<meta>` tags and its URL)
//! - [`events`]: the names of the `mall:*` events the shell listens to
//! - [`http`]: JSON from the page's origin (the `/auth` routes, components.json)
//! - [`manifest`]: components.json (inlined in the document, or fetched) and its checks
//! - [`loader`]: importing a component's module as a fresh instance and mounting it
//! - [`slot`]: one component's place on the page, its load timeout, fallback and Retry
//! - [`text`]: strings built without the formatting machinery (it would be a large part of
//!   the shell's weight)
//! - [`timer`]: `setTimeout` as a future
//!
//! On wasm32 the shell is `no_std` (alloc only): std would bring its panic machinery, which
//! formats every panic's message and location, and so links `core::fmt`. A panic in the
//! shipped bundle traps at once (the `bundle` feature's handler); the page's frame stays.
#![cfg_attr(all(target_arch = "wasm32", not(test)), no_std)]

extern crate alloc;

pub mod account;
pub mod config;
pub mod events;
pub mod http;
pub mod loader;
pub mod manifest;
pub mod session;
pub mod slot;
pub mod text;
pub mod timer;

use alloc::vec::Vec;

use wasm_bindgen::{prelude::wasm_bindgen, JsCast};

/// A free-list allocator a fifth of std's default (dlmalloc) in code: the shell allocates
/// little (strings, a few closures), once per load or click.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

/// The shipped bundle's panic handler: stop this module (the instance traps, like std's
/// `panic = "abort"` after its hook), without formatting the message. The shell has no
/// panic it reports: its failures are shown in the slots, not thrown.
#[cfg(all(target_arch = "wasm32", feature = "bundle"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

/// Takes the page's frame over; the document's start script calls it once the module is
/// initialised, with `(url) => import(url)` (see [`loader::Importer`]): every
/// `section[data-slot]` of the document, the catalogue loading at once; then reads who is
/// signed in (from the document, which the BFF gave what `/auth/me` would answer; else it
/// asks), and loads the slots that need a customer (`data-needs="account"`) or shows the
/// sign-in page.
#[wasm_bindgen]
pub fn run(import: js_sys::Function) {
    let import = loader::Importer::new(import);
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
        let taken = slot::Slot::take_over(section, config.clone(), session.clone(), import.clone());
        if let Some(slot) = taken {
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
