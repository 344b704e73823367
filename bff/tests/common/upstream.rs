//! A small HTTP upstream on `127.0.0.1:0` for the tests: it answers requests with a
//! [`Responder`], logs every request with its start and end instants, and can be told to
//! hang, to fail with 503, or be stopped (its port then refuses connections) and started
//! again on the same port.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::Router;
use futures::future::BoxFuture;
use http::StatusCode;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Answers a request (`method`, path with query) with a status and a JSON body; `None` for
/// 404.
pub type Responder = Arc<dyn Fn(&str, &str) -> Option<(StatusCode, String)> + Send + Sync>;

/// Runs before a request is answered (given its path and query), e.g. to make two requests
/// wait for each other.
pub type Hook = Arc<dyn Fn(String) -> BoxFuture<'static, ()> + Send + Sync>;

/// How the upstream behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Up,
    /// Accepts requests and never answers them.
    Hang,
    /// Answers every request 503.
    Unavailable,
}

/// One request the upstream received.
#[derive(Debug, Clone)]
pub struct Hit {
    pub method: String,
    pub path: String,
    pub started: Instant,
    pub ended: Option<Instant>,
}

struct Shared {
    responder: Responder,
    mode: Mutex<Mode>,
    hook: Mutex<Option<Hook>>,
    hits: Mutex<Vec<Hit>>,
    /// The next `n` requests whose path contains the text answer 503.
    fail_next: Mutex<Option<(String, usize)>>,
    /// Wakes the hanging requests (when the mode changes or the upstream stops).
    release: tokio::sync::Notify,
}

pub struct FakeUpstream {
    pub addr: SocketAddr,
    pub url: String,
    shared: Arc<Shared>,
    server: Option<(watch::Sender<bool>, JoinHandle<()>)>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl FakeUpstream {
    /// Binds a free port (serving starts with [`FakeUpstream::serve`], so the URLs of
    /// several upstreams can be known before their documents are built).
    pub async fn bind() -> (tokio::net::TcpListener, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let addr = listener.local_addr().expect("local address");
        (listener, format!("http://{addr}"))
    }

    pub fn serve(listener: tokio::net::TcpListener, responder: Responder) -> FakeUpstream {
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            responder,
            mode: Mutex::new(Mode::Up),
            hook: Mutex::new(None),
            hits: Mutex::new(Vec::new()),
            fail_next: Mutex::new(None),
            release: tokio::sync::Notify::new(),
        });
        let mut upstream = FakeUpstream {
            addr,
            url: format!("http://{addr}"),
            shared,
            server: None,
        };
        upstream.spawn(listener);
        upstream
    }

    fn spawn(&mut self, listener: tokio::net::TcpListener) {
        let (stop, mut stopped) = watch::channel(false);
        let router = Router::new()
            .fallback(answer)
            .with_state(self.shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await;
        });
        self.server = Some((stop, task));
    }

    pub fn set_mode(&self, mode: Mode) {
        *lock(&self.shared.mode) = mode;
        self.shared.release.notify_waiters();
    }

    pub fn set_hook(&self, hook: Option<Hook>) {
        *lock(&self.shared.hook) = hook;
    }

    /// Makes the next `n` requests whose path (with query) contains `part` answer 503.
    pub fn fail_next(&self, part: &str, n: usize) {
        *lock(&self.shared.fail_next) = Some((part.to_owned(), n));
    }

    /// Every request so far.
    pub fn hits(&self) -> Vec<Hit> {
        lock(&self.shared.hits).clone()
    }

    /// The requests so far whose path (with query) contains `part`.
    pub fn hits_to(&self, part: &str) -> Vec<Hit> {
        self.hits()
            .into_iter()
            .filter(|h| h.path.contains(part))
            .collect()
    }

    pub fn clear_hits(&self) {
        lock(&self.shared.hits).clear();
    }

    /// Stops serving: open connections are closed and the port refuses new ones.
    pub async fn stop(&mut self) {
        self.shared.release.notify_waiters();
        if let Some((stop, task)) = self.server.take() {
            let _ = stop.send(true);
            task.await.expect("the upstream's server ends");
        }
    }

    /// Serves again on the same port.
    pub async fn restart(&mut self) {
        self.stop().await;
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .expect("the port is free again");
        self.spawn(listener);
    }
}

async fn answer(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let method = request.method().as_str().to_owned();
    let index = {
        let mut hits = lock(&shared.hits);
        hits.push(Hit {
            method: method.clone(),
            path: path.clone(),
            started: Instant::now(),
            ended: None,
        });
        hits.len() - 1
    };
    let released = shared.release.notified();
    let mode = *lock(&shared.mode);
    let hook = lock(&shared.hook).clone();
    if let Some(hook) = hook {
        hook(path.clone()).await;
    }
    let fail = {
        let mut next = lock(&shared.fail_next);
        match next.as_mut() {
            Some((part, n)) if *n > 0 && path.contains(part.as_str()) => {
                *n -= 1;
                true
            }
            _ => false,
        }
    };
    let (status, body) = match mode {
        _ if fail => unavailable(),
        Mode::Hang => {
            released.await;
            unavailable()
        }
        Mode::Unavailable => unavailable(),
        Mode::Up => (shared.responder)(&method, &path).unwrap_or((
            StatusCode::NOT_FOUND,
            r#"{"title":"Not Found","status":404,"detail":"no such resource"}"#.to_owned(),
        )),
    };
    if let Some(hit) = lock(&shared.hits).get_mut(index) {
        hit.ended = Some(Instant::now());
    }
    let content_type = if status.is_success() {
        "application/hal+json"
    } else {
        "application/problem+json"
    };
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .expect("a valid response")
}

fn unavailable() -> (StatusCode, String) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        r#"{"title":"Service Unavailable","status":503}"#.to_owned(),
    )
}
