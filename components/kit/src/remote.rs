//! Remote data in a signal: fetched when the signals it reads change, refreshed on demand,
//! keeping the last answer on screen while a refresh is in flight, and ignoring answers that
//! arrive after a newer request or after the view is gone.

use std::future::Future;
use std::time::Duration;

use leptos::prelude::*;

use crate::graphql::GraphQlError;

/// Refresh delays after a `mall:*` event: the event-driven parts of the mall (delivery, stock,
/// my-page) settle shortly after the command answered.
const BURST_MS: [u64; 4] = [0, 400, 1_200, 3_000];

/// Runs `refresh` now and again at each of [`BURST_MS`], so a view catches the effects of a
/// command as the event-driven services produce them.
pub(crate) fn burst(refresh: impl Fn() + Copy + 'static) {
    for ms in BURST_MS {
        set_timeout(refresh, Duration::from_millis(ms));
    }
}

/// A value loaded from the BFF.
pub struct Remote<T: Send + Sync + 'static> {
    /// `None` until the first answer.
    pub value: RwSignal<Option<Result<T, GraphQlError>>>,
    version: RwSignal<u32>,
    /// The ticket of the newest request or [`Remote::set`]: an answer with an older ticket
    /// is dropped.
    latest: StoredValue<u64>,
}

impl<T: Send + Sync + 'static> Clone for Remote<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Remote<T> {}

impl<T: Send + Sync + 'static> Remote<T> {
    /// Loads again now.
    pub fn refresh(&self) {
        self.version.try_update(|v| *v = v.wrapping_add(1));
    }

    /// Loads again now and a few times over the next seconds, for changes that other services
    /// make asynchronously after an event.
    pub fn refresh_burst(&self) {
        let this = *self;
        burst(move || this.refresh());
    }

    /// Replaces the value with one that arrived some other way (a subscription). A request
    /// still in flight was sent before this value arrived and may answer with older data:
    /// its answer is dropped, or it would put a row the subscription already showed out of
    /// view until the next refresh.
    pub fn set(&self, value: Result<T, GraphQlError>) {
        self.latest.try_update_value(|n| *n += 1);
        self.value.try_set(Some(value));
    }
}

/// Runs `fetch` now and whenever a signal it reads (before its first `.await`) changes.
pub fn remote<T, Fut>(fetch: impl Fn() -> Fut + 'static) -> Remote<T>
where
    T: Send + Sync + 'static,
    Fut: Future<Output = Result<T, GraphQlError>> + 'static,
{
    let value = RwSignal::new(None);
    let version = RwSignal::new(0u32);
    let latest = StoredValue::new(0u64);
    Effect::new(move |_| {
        version.track();
        let future = fetch();
        let ticket = latest.try_update_value(|n| {
            *n += 1;
            *n
        });
        leptos::task::spawn_local(async move {
            let answer = future.await;
            if latest.try_get_value() == ticket {
                value.try_set(Some(answer));
            }
        });
    });
    Remote {
        value,
        version,
        latest,
    }
}

/// Polls every `every` while `active()` is true (for when the live link is down).
pub fn poll_while(active: impl Fn() -> bool + 'static, every: Duration, tick: impl Fn() + 'static) {
    if let Ok(handle) = set_interval_with_handle(
        move || {
            if active() {
                tick();
            }
        },
        every,
    ) {
        on_cleanup(move || handle.clear());
    }
}
