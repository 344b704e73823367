//! The 12st mall shell: a thin leptos (client-side rendered) page that composes the
//! micro-frontends at run time from `components.json`.
//!
//! - [`app`]: the page: header, customer switcher, the three slots
//! - [`config`]: where the BFF is (from the page's `<meta>` tags and its URL)
//! - [`manifest`]: components.json and its checks
//! - [`loader`]: importing a component's module as a fresh instance and mounting it
//! - [`slot`]: one component's place on the page, its load timeout, fallback and Retry

pub mod app;
pub mod config;
pub mod loader;
pub mod manifest;
pub mod slot;

use wasm_bindgen::prelude::wasm_bindgen;

/// Mounts the shell into the page's `<body>` once the module is initialised.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
