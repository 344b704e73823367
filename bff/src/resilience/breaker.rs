//! A circuit breaker as a tower layer.
//!
//! Written here rather than taken from a crate: the breaker crates at hand (`failsafe` and
//! kin) read `std::time::Instant`, which paused tokio time cannot move, so the open →
//! half-open transition could only be tested with real sleeps. This one reads
//! `tokio::time::Instant`, is shared by every clone of the service of one upstream, and
//! reports its state for metrics and the `upstreams` query.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::time::Instant;
use tower::{BoxError, Layer, Service};

use crate::resilience::breaker_settings::BreakerSettings;

/// The state of a circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    Closed,
    Open,
    HalfOpen,
}

impl CircuitState {
    /// The value of the `bff_upstream_circuit_state` gauge.
    pub fn gauge(self) -> f64 {
        match self {
            CircuitState::Closed => 0.0,
            CircuitState::Open => 1.0,
            CircuitState::HalfOpen => 2.0,
        }
    }
}

/// The error of a call the open circuit refused without calling the upstream.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("circuit open")]
pub struct CircuitOpen;

#[derive(Debug)]
struct Inner {
    state: CircuitState,
    consecutive_failures: u32,
    /// Recent outcomes, `true` for a failure.
    window: VecDeque<bool>,
    opened_at: Instant,
    probes_in_flight: u32,
    /// Counts the half-open phases, so that a probe of an earlier phase (granted before
    /// the circuit opened again) can neither close the circuit nor free a slot of this one.
    phase: u64,
}

/// The shared state of one upstream's circuit.
#[derive(Clone)]
pub struct Breaker {
    settings: Arc<BreakerSettings>,
    inner: Arc<Mutex<Inner>>,
    on_change: Arc<dyn Fn(CircuitState) + Send + Sync>,
}

impl std::fmt::Debug for Breaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Breaker")
            .field("settings", &self.settings)
            .field("state", &self.state())
            .finish()
    }
}

/// Whether a call may go ahead, and as what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Permit {
    Normal,
    /// A half-open probe of the given phase.
    Probe(u64),
}

/// A granted call. Recording its outcome consumes it; a call dropped before it finished
/// (a client that went away, a subscription closed mid-read) gives its probe slot back
/// when the guard drops, so the next call probes instead of the circuit staying half-open.
#[derive(Debug)]
struct PermitGuard {
    breaker: Breaker,
    permit: Option<Permit>,
}

impl PermitGuard {
    fn record(mut self, failed: bool) {
        if let Some(permit) = self.permit.take() {
            self.breaker.record(permit, failed);
        }
    }
}

impl Drop for PermitGuard {
    fn drop(&mut self) {
        if let Some(Permit::Probe(phase)) = self.permit.take() {
            self.breaker.release(phase);
        }
    }
}

impl Breaker {
    /// A closed circuit; `on_change` is told every transition (for metrics and logs).
    pub fn new(
        settings: BreakerSettings,
        on_change: impl Fn(CircuitState) + Send + Sync + 'static,
    ) -> Breaker {
        Breaker {
            settings: Arc::new(settings),
            inner: Arc::new(Mutex::new(Inner {
                state: CircuitState::Closed,
                consecutive_failures: 0,
                window: VecDeque::new(),
                opened_at: Instant::now(),
                probes_in_flight: 0,
                phase: 0,
            })),
            on_change: Arc::new(on_change),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The lock is never held across an await or a panic-prone call, so poisoning can
        // only come from a bug elsewhere; the state stays usable either way.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The state as a caller would see it now (an open circuit whose cool-down is over
    /// reads as half-open).
    pub fn state(&self) -> CircuitState {
        let inner = self.lock();
        match inner.state {
            CircuitState::Open if inner.opened_at.elapsed() >= self.settings.cool_down => {
                CircuitState::HalfOpen
            }
            s => s,
        }
    }

    fn acquire(&self) -> Result<Permit, CircuitOpen> {
        let mut inner = self.lock();
        let mut changed = None;
        if inner.state == CircuitState::Open && inner.opened_at.elapsed() >= self.settings.cool_down
        {
            inner.state = CircuitState::HalfOpen;
            inner.probes_in_flight = 0;
            inner.phase += 1;
            changed = Some(CircuitState::HalfOpen);
        }
        let result = match inner.state {
            CircuitState::Closed => Ok(Permit::Normal),
            CircuitState::Open => Err(CircuitOpen),
            CircuitState::HalfOpen => {
                if inner.probes_in_flight < self.settings.half_open_probes.max(1) {
                    inner.probes_in_flight += 1;
                    Ok(Permit::Probe(inner.phase))
                } else {
                    Err(CircuitOpen)
                }
            }
        };
        drop(inner);
        if let Some(s) = changed {
            (self.on_change)(s);
        }
        result
    }

    fn record(&self, permit: Permit, failed: bool) {
        let mut inner = self.lock();
        let before = inner.state;
        let current_probe = permit == Permit::Probe(inner.phase);
        if current_probe {
            inner.probes_in_flight = inner.probes_in_flight.saturating_sub(1);
        }
        match inner.state {
            CircuitState::HalfOpen if current_probe => {
                if failed {
                    self.open(&mut inner);
                } else {
                    inner.state = CircuitState::Closed;
                    inner.consecutive_failures = 0;
                    inner.window.clear();
                }
            }
            CircuitState::Closed => {
                inner.consecutive_failures = if failed {
                    inner.consecutive_failures + 1
                } else {
                    0
                };
                let window = self.settings.window.max(1) as usize;
                inner.window.push_back(failed);
                while inner.window.len() > window {
                    inner.window.pop_front();
                }
                let failures = inner.window.iter().filter(|f| **f).count();
                let rate_tripped = inner.window.len() == window
                    && failures as f64 / window as f64 >= self.settings.failure_rate;
                let consecutive_tripped = self.settings.consecutive_failures > 0
                    && inner.consecutive_failures >= self.settings.consecutive_failures;
                if failed && (rate_tripped || consecutive_tripped) {
                    self.open(&mut inner);
                }
            }
            // Outcomes of calls that started before the circuit opened change nothing.
            _ => {}
        }
        let after = inner.state;
        drop(inner);
        if after != before {
            (self.on_change)(after);
        }
    }

    /// Gives back the slot of a probe that ended without an outcome (its call was
    /// dropped): the circuit stays half-open and the next call probes.
    fn release(&self, phase: u64) {
        let mut inner = self.lock();
        if inner.state == CircuitState::HalfOpen && inner.phase == phase {
            inner.probes_in_flight = inner.probes_in_flight.saturating_sub(1);
        }
    }

    /// A guard for a call that may go ahead.
    fn permit(&self) -> Result<PermitGuard, CircuitOpen> {
        let permit = self.acquire()?;
        Ok(PermitGuard {
            breaker: self.clone(),
            permit: Some(permit),
        })
    }

    fn open(&self, inner: &mut Inner) {
        inner.state = CircuitState::Open;
        inner.opened_at = Instant::now();
        inner.consecutive_failures = 0;
        inner.window.clear();
        inner.probes_in_flight = 0;
    }
}

/// Wraps a service in a [`Breaker`].
#[derive(Debug, Clone)]
pub struct BreakerLayer {
    breaker: Breaker,
}

impl BreakerLayer {
    pub fn new(breaker: Breaker) -> BreakerLayer {
        BreakerLayer { breaker }
    }
}

impl<S> Layer<S> for BreakerLayer {
    type Service = BreakerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BreakerService {
            inner,
            breaker: self.breaker.clone(),
        }
    }
}

/// A service whose calls go through a [`Breaker`]. Any error of the inner service counts
/// as a failure (the inner stack turns 5xx answers into errors; 4xx answers are the
/// caller's fault and count as successes).
#[derive(Debug, Clone)]
pub struct BreakerService<S> {
    inner: S,
    breaker: Breaker,
}

impl<S, Req> Service<Req> for BreakerService<S>
where
    S: Service<Req> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    Req: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let permit = match self.breaker.permit() {
            Ok(p) => p,
            Err(open) => return Box::pin(async move { Err(open.into()) }),
        };
        let future = self.inner.call(req);
        Box::pin(async move {
            let result = future.await.map_err(Into::into);
            permit.record(result.is_err());
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::Duration;

    use tower::{service_fn, ServiceBuilder, ServiceExt};

    use super::*;

    fn settings() -> BreakerSettings {
        BreakerSettings {
            consecutive_failures: 3,
            failure_rate: 0.5,
            window: 10,
            cool_down: Duration::from_secs(30),
            half_open_probes: 1,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_consecutive_failures_and_closes_after_a_good_probe() {
        let healthy = Arc::new(AtomicBool::new(false));
        let calls = Arc::new(AtomicUsize::new(0));
        let breaker = Breaker::new(settings(), |_| {});
        let svc = {
            let healthy = healthy.clone();
            let calls = calls.clone();
            ServiceBuilder::new()
                .layer(BreakerLayer::new(breaker.clone()))
                .service(service_fn(move |_: ()| {
                    calls.fetch_add(1, Ordering::SeqCst);
                    let ok = healthy.load(Ordering::SeqCst);
                    async move {
                        if ok {
                            Ok::<_, BoxError>("fine")
                        } else {
                            Err("down".into())
                        }
                    }
                }))
        };
        for _ in 0..3 {
            assert!(svc.clone().oneshot(()).await.is_err());
        }
        assert_eq!(breaker.state(), CircuitState::Open);
        let refused = svc.clone().oneshot(()).await.expect_err("open");
        assert!(refused.is::<CircuitOpen>());
        assert_eq!(
            calls.load(Ordering::SeqCst),
            3,
            "an open circuit calls nobody"
        );

        tokio::time::advance(Duration::from_secs(31)).await;
        assert_eq!(breaker.state(), CircuitState::HalfOpen);
        // A failed probe opens the circuit again for a whole cool-down.
        assert!(svc.clone().oneshot(()).await.is_err());
        assert_eq!(breaker.state(), CircuitState::Open);
        tokio::time::advance(Duration::from_secs(31)).await;
        healthy.store(true, Ordering::SeqCst);
        assert_eq!(svc.clone().oneshot(()).await.expect("probe"), "fine");
        assert_eq!(breaker.state(), CircuitState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn opens_when_the_failure_rate_over_the_window_is_too_high() {
        let n = Arc::new(AtomicUsize::new(0));
        let breaker = Breaker::new(settings(), |_| {});
        let svc = {
            let n = n.clone();
            ServiceBuilder::new()
                .layer(BreakerLayer::new(breaker.clone()))
                .service(service_fn(move |_: ()| {
                    // Fails every other call: never 3 in a row, but 50% of the window.
                    let fail = n.fetch_add(1, Ordering::SeqCst) & 1 == 0;
                    async move {
                        if fail {
                            Err::<(), BoxError>("down".into())
                        } else {
                            Ok(())
                        }
                    }
                }))
        };
        for _ in 0..9 {
            let _ = svc.clone().oneshot(()).await;
            assert_eq!(breaker.state(), CircuitState::Closed);
        }
        // The tenth call fills the window with 5 failures out of 10.
        let _ = svc.clone().oneshot(()).await;
        let _ = svc.clone().oneshot(()).await;
        assert_eq!(breaker.state(), CircuitState::Open);
    }

    #[tokio::test(start_paused = true)]
    async fn half_open_lets_only_the_configured_probes_through() {
        let breaker = Breaker::new(settings(), |_| {});
        for _ in 0..3 {
            let p = breaker.acquire().expect("closed");
            breaker.record(p, true);
        }
        tokio::time::advance(Duration::from_secs(30)).await;
        let probe = breaker.acquire().expect("one probe");
        assert!(breaker.acquire().is_err(), "a second probe waits");
        breaker.record(probe, false);
        assert_eq!(breaker.state(), CircuitState::Closed);
    }

    /// A service whose calls hang until `release` is notified, then succeed.
    fn hanging(
        breaker: &Breaker,
        release: Arc<tokio::sync::Notify>,
        calls: Arc<AtomicUsize>,
    ) -> BreakerService<impl Service<(), Response = (), Error = BoxError, Future = impl Send> + Clone>
    {
        BreakerLayer::new(breaker.clone()).layer(service_fn(move |_: ()| {
            calls.fetch_add(1, Ordering::SeqCst);
            let release = release.clone();
            async move {
                release.notified().await;
                Ok::<_, BoxError>(())
            }
        }))
    }

    async fn open_then_cool_down(breaker: &Breaker) {
        for _ in 0..3 {
            let p = breaker.acquire().expect("closed");
            breaker.record(p, true);
        }
        assert_eq!(breaker.state(), CircuitState::Open);
        tokio::time::advance(Duration::from_secs(30)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_dropped_mid_flight_gives_its_slot_back() {
        let breaker = Breaker::new(settings(), |_| {});
        open_then_cool_down(&breaker).await;
        let release = Arc::new(tokio::sync::Notify::new());
        let calls = Arc::new(AtomicUsize::new(0));
        let svc = hanging(&breaker, release.clone(), calls.clone());

        // The probe starts, then its caller gives up (a client that went away).
        let probe = tokio::spawn(svc.clone().oneshot(()));
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "the probe reached the upstream"
        );
        assert!(
            svc.clone().oneshot(()).await.is_err(),
            "a second probe waits while the first is in flight"
        );
        probe.abort();
        assert!(probe.await.expect_err("aborted").is_cancelled());
        assert_eq!(breaker.state(), CircuitState::HalfOpen);

        // The upstream is back: the next call is the probe, and it closes the circuit.
        let next = tokio::spawn(svc.clone().oneshot(()));
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "the next call was let through"
        );
        release.notify_waiters();
        next.await.expect("joined").expect("the probe succeeds");
        assert_eq!(breaker.state(), CircuitState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_of_an_earlier_half_open_phase_neither_closes_nor_frees_a_slot() {
        let breaker = Breaker::new(settings(), |_| {});
        open_then_cool_down(&breaker).await;
        let late = breaker.permit().expect("first phase's probe");
        let failed = breaker.permit();
        assert!(failed.is_err(), "one probe at a time");
        // Another caller's probe of the same phase fails: open again, then half-open again.
        {
            let mut inner = breaker.lock();
            breaker.open(&mut inner);
        }
        tokio::time::advance(Duration::from_secs(30)).await;
        let current = breaker.permit().expect("second phase's probe");
        late.record(false);
        assert_eq!(
            breaker.state(),
            CircuitState::HalfOpen,
            "an outcome from before the circuit reopened says nothing of the upstream now"
        );
        assert!(
            breaker.permit().is_err(),
            "the current probe still holds the slot"
        );
        current.record(false);
        assert_eq!(breaker.state(), CircuitState::Closed);
    }
}
