//! Reporting a component's own failure to the shell.
//!
//! On this target a panic aborts: the hook runs, then the instance traps and can never be used
//! again. The hook is the last moment the component can speak, so it logs the panic with the
//! component's name and dispatches `mall:component-failed`; the shell then replaces the slot with
//! a fallback and re-imports a fresh instance on Retry.

use crate::events::{self, ComponentFailed};

/// Installs the panic hook naming this component. Called by `mount`; installing it again is
/// harmless (each bundle has its own hook).
pub fn install_panic_hook(component: &'static str) {
    std::panic::set_hook(Box::new(move |info| {
        console_error_panic_hook::hook(info);
        events::emit(&ComponentFailed {
            component: component.to_owned(),
            message: info.to_string(),
        });
    }));
}
