//! A latency-injecting HTTP proxy put in front of one service: every request waits the
//! configured delay (or hangs until the mode changes) and is then forwarded to the service.
//! The services' public URLs point at the proxies, so every link the BFF follows goes through
//! one, and each proxy counts the requests it saw.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How the proxy treats requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward at once.
    Pass,
    /// Wait this long, then forward.
    Delay(Duration),
    /// Never answer while the mode stays `Hang`; when it changes, carry on as the new mode says.
    Hang,
}

struct Shared {
    upstream: String,
    mode: watch::Sender<Mode>,
    requests: AtomicU64,
    /// Each request's path and times (kept only while tracing).
    trace: std::sync::Mutex<Option<Vec<Traced>>>,
    client: reqwest::Client,
}

/// One request through the proxy, as the trace keeps it.
#[derive(Debug, Clone)]
pub struct Traced {
    /// Path and query.
    pub path: String,
    /// When it reached the proxy.
    pub arrived: Instant,
    /// When the delay was over and it left for the service.
    pub forwarded: Instant,
    /// When the service's whole answer had come back (the proxy then hands it over).
    pub answered: Instant,
}

/// A running proxy.
pub struct Proxy {
    pub url: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

/// Headers passed through in each direction (everything the HAL services and the BFF use).
const FORWARDED: &[&str] = &["content-type", "accept", "idempotency-key", "location"];

impl Proxy {
    /// Binds a listener on 127.0.0.1 first, so the services can be told the proxy's URL
    /// before they start.
    pub async fn bind() -> Result<(TcpListener, String)> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot bind a proxy on 127.0.0.1")?;
        let url = format!("http://{}", listener.local_addr()?);
        Ok((listener, url))
    }

    /// Serves on `listener`, forwarding to `upstream` (a base URL without a trailing slash).
    pub fn start(listener: TcpListener, url: String, upstream: String) -> Proxy {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .expect("a client without TLS or proxies always builds");
        let shared = Arc::new(Shared {
            upstream,
            mode: watch::channel(Mode::Pass).0,
            requests: AtomicU64::new(0),
            trace: std::sync::Mutex::new(None),
            client,
        });
        let app = Router::new()
            .fallback(forward)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Proxy { url, shared, task }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.shared.mode.send_replace(mode);
    }

    /// Starts recording when each request arrives (and forgets any earlier record).
    pub fn start_trace(&self) {
        *self.shared.trace.lock().expect("trace lock") = Some(Vec::new());
    }

    /// Stops recording; the requests answered since [`Proxy::start_trace`].
    pub fn take_trace(&self) -> Vec<Traced> {
        self.shared
            .trace
            .lock()
            .expect("trace lock")
            .take()
            .unwrap_or_default()
    }

    /// Requests seen since the proxy started.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // Release requests parked in `Hang` before the server goes.
        self.shared.mode.send_replace(Mode::Pass);
        self.task.abort();
    }
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let arrived = Instant::now();
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let mut mode_rx = shared.mode.subscribe();
    loop {
        let mode = *mode_rx.borrow_and_update();
        match mode {
            Mode::Pass => break,
            Mode::Delay(d) => {
                wait_until(arrived + d).await;
                break;
            }
            Mode::Hang => {
                if mode_rx.changed().await.is_err() {
                    return StatusCode::SERVICE_UNAVAILABLE.into_response();
                }
            }
        }
    }
    let forwarded = Instant::now();
    let answer = match relay(&shared, request).await {
        Ok(r) => r,
        Err(e) => (StatusCode::BAD_GATEWAY, format!("bench proxy: {e:#}")).into_response(),
    };
    if let Some(trace) = shared.trace.lock().expect("trace lock").as_mut() {
        trace.push(Traced {
            path,
            arrived,
            forwarded,
            answered: Instant::now(),
        });
    }
    answer
}

/// Waits until `deadline`, to a fraction of a millisecond: tokio's timer counts whole
/// milliseconds and rounds a sleep up to the next one, which would add up to a millisecond to
/// every injected delay; the last stretch is waited on a blocking thread instead, slept but
/// for its last 0.2 ms, which are spun (a thread's sleep overshoots by its timer slack and
/// its wake-up, 0.1 to 0.4 ms here, counted as the services' time in scenario 1).
async fn wait_until(deadline: Instant) {
    const TIMER_GRAIN: Duration = Duration::from_millis(2);
    const SPIN: Duration = Duration::from_micros(200);
    if let Some(coarse) = deadline.checked_sub(TIMER_GRAIN) {
        tokio::time::sleep_until(coarse.into()).await;
    }
    if Instant::now() < deadline {
        let _ = tokio::task::spawn_blocking(move || {
            let rest = deadline.saturating_duration_since(Instant::now());
            if let Some(sleep) = rest.checked_sub(SPIN) {
                std::thread::sleep(sleep);
            }
            while Instant::now() < deadline {
                std::hint::spin_loop();
            }
        })
        .await;
    }
}

async fn relay(shared: &Shared, request: Request) -> Result<Response> {
    let (parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let body = axum::body::to_bytes(body, 1 << 20).await?;
    let mut upstream = shared
        .client
        .request(parts.method, format!("{}{path}", shared.upstream))
        .body(body);
    for name in FORWARDED {
        if let Some(v) = parts.headers.get(*name) {
            upstream = upstream.header(*name, v.clone());
        }
    }
    let answer = upstream.send().await?;
    let mut response = Response::builder().status(answer.status());
    for name in FORWARDED {
        if let Some(v) = answer.headers().get(*name) {
            response = response.header(HeaderName::from_static(name), v.clone());
        }
    }
    let bytes = answer.bytes().await?;
    Ok(response.body(Body::from(bytes))?)
}
