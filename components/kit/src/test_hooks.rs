//! Test-only switches, compiled in only with the `test-hooks` feature (never in a release
//! manifest): the e2e suite uses them to prove the shell isolates a failing component.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::events::{listen_while_mounted, MallEvent};

/// Asks the named component to panic inside a signal update, as a real bug would.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TestPanic {
    pub component: String,
}

impl MallEvent for TestPanic {
    const NAME: &'static str = "mall:test-panic";
}

/// Arms the switch for this component's view.
pub fn arm(component: &'static str) {
    let state = RwSignal::new(0u32);
    listen_while_mounted(move |event: TestPanic| {
        if event.component == component {
            state.update(|_| panic!("{component}: test hook asked for a panic"));
        }
    });
}
