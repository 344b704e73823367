//! A small TCP proxy between the BFF and one service: forwards to the first of its backends
//! that accepts, in turn (so it also balances replicas), or slows down (delays every chunk
//! the service sends back).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Forward,
    /// Delays every chunk the service answers by this much.
    Slow(Duration),
}

#[derive(Debug)]
pub struct Proxy {
    pub addr: SocketAddr,
    mode: watch::Sender<Mode>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free port of 127.0.0.1 in front of `backends`.
    pub async fn start(backends: Vec<SocketAddr>) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (mode, watch) = watch::channel(Mode::Forward);
        let backends = Arc::new(backends);
        let turn = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let _ = client.set_nodelay(true);
                let start = turn.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(serve(client, Arc::clone(&backends), start, watch.clone()));
            }
        });
        Ok(Proxy { addr, mode, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    client: TcpStream,
    backends: Arc<Vec<SocketAddr>>,
    start: usize,
    mode: watch::Receiver<Mode>,
) {
    let mut upstream = None;
    for i in 0..backends.len() {
        if let Ok(s) = TcpStream::connect(backends[(start + i) % backends.len()]).await {
            upstream = Some(s);
            break;
        }
    }
    // No backend: the client sees the connection closed, as with a service that is down.
    let Some(upstream) = upstream else { return };
    let _ = upstream.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (upstream_read, upstream_write) = upstream.into_split();
    let requests = pump(client_read, upstream_write, mode.clone(), false);
    let answers = pump(upstream_read, client_write, mode.clone(), true);
    tokio::select! {
        _ = requests => {}
        _ = answers => {}
    }
}

/// Copies `from` to `to` until either ends; answers (`delay_answers`) wait out a slow mode.
async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    mode: watch::Receiver<Mode>,
    delay_answers: bool,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if delay_answers {
            let slow = *mode.borrow();
            if let Mode::Slow(delay) = slow {
                tokio::time::sleep(delay).await;
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
