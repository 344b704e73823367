//! The floor of a fan-out: what 10,000 sockets cost to reach on this machine when the server
//! does nothing but write one ready message to each.
//!
//! Scenario 4 (b) times a change from the mutation to the last of 10,000 subscribers of one
//! customer. Part of that time is the BFF's (the stream, the selection, the serialising), and
//! part would be any server's: one write per socket, the kernel's loopback, the bench reading
//! every socket on the same two cores. This server measures the second part alone. It speaks
//! just enough graphql-transport-ws for [`crate::subscriber`] (`connection_ack`, an empty
//! SNAPSHOT), and sends every line written to its stdin, as it is, to every socket: one task
//! per socket, one tokio broadcast channel, the text serialised once.
//!
//! It runs as its own process (`mall-bench --fanout-floor`), as the BFF does, so that each
//! side holds only its own end of the 10,000 sockets (a process may open 20,000 files here).

use std::process::Stdio;

use anyhow::{bail, Context as _, Result};
use futures::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Bytes, Message, Utf8Bytes};

/// The argument that runs this server instead of the bench.
pub const ARG: &str = "--fanout-floor";

/// The SNAPSHOT every subscriber gets first.
const SNAPSHOT: &str =
    r#"{"id":"1","type":"next","payload":{"data":{"myPage":{"kind":"SNAPSHOT","rows":[]}}}}"#;

/// The `next` message of a CHANGE listing `order_ids`, as the BFF writes it for the bench's
/// subscription (`kind rows { orderId }`).
pub fn change(order_ids: &[i64]) -> String {
    let rows: Vec<String> = order_ids
        .iter()
        .map(|id| format!(r#"{{"orderId":{id}}}"#))
        .collect();
    format!(
        r#"{{"id":"1","type":"next","payload":{{"data":{{"myPage":{{"kind":"CHANGE","rows":[{}]}}}}}}}}"#,
        rows.join(",")
    )
}

/// Serves until stdin closes: prints its WebSocket URL, then broadcasts each stdin line.
pub async fn serve() -> Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let (tx, _) = broadcast::channel::<Bytes>(16);
    println!("ws://{}/graphql", listener.local_addr()?);
    let accepting = tx.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let changes = accepting.subscribe();
            tokio::spawn(async move {
                let _ = socket(stream, changes).await;
            });
        }
    });
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let _ = tx.send(Bytes::from(line));
    }
    Ok(())
}

/// One subscriber's socket: the handshake, then every broadcast message.
async fn socket(stream: TcpStream, mut changes: broadcast::Receiver<Bytes>) -> Result<()> {
    stream.set_nodelay(true)?;
    let mut ws = tokio_tungstenite::accept_hdr_async(stream, with_protocol).await?;
    loop {
        tokio::select! {
            incoming = ws.next() => {
                let Some(Ok(Message::Text(text))) = incoming else {
                    return Ok(());
                };
                let answer = if text.contains(r#""connection_init""#) {
                    r#"{"type":"connection_ack"}"#
                } else if text.contains(r#""subscribe""#) {
                    SNAPSHOT
                } else {
                    continue;
                };
                ws.send(Message::Text(answer.into())).await?;
            }
            change = changes.recv() => {
                let text = Utf8Bytes::try_from(change?)?;
                ws.send(Message::Text(text)).await?;
            }
        }
    }
}

/// The handshake's answer names the subprotocol the subscribers ask for.
#[allow(
    clippy::result_large_err,
    reason = "the signature is tungstenite's handshake callback"
)]
fn with_protocol(_: &Request, mut response: Response) -> Result<Response, ErrorResponse> {
    response.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    Ok(response)
}

/// The server, run as a child process of the bench.
pub struct Floor {
    _child: Child,
    stdin: ChildStdin,
    url: String,
}

impl Floor {
    pub async fn start() -> Result<Floor> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg(ARG)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start the fan-out floor server")?;
        let stdin = child.stdin.take().context("piped stdin")?;
        let stdout = child.stdout.take().context("piped stdout")?;
        let Some(url) = BufReader::new(stdout).lines().next_line().await? else {
            bail!("the fan-out floor server ended before saying where it listens");
        };
        Ok(Floor {
            _child: child,
            stdin,
            url,
        })
    }

    pub fn ws_url(&self) -> &str {
        &self.url
    }

    /// Sends `message` to every connected socket.
    pub async fn broadcast(&mut self, message: &str) -> Result<()> {
        self.stdin
            .write_all(format!("{message}\n").as_bytes())
            .await?;
        self.stdin.flush().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscriber::{parse, Seen};

    #[test]
    fn a_change_reads_as_the_bffs_does() {
        assert_eq!(
            parse(&change(&[3, 7])),
            Seen::Update {
                kind: "CHANGE".into(),
                order_ids: vec![3, 7]
            }
        );
        assert_eq!(
            parse(SNAPSHOT),
            Seen::Update {
                kind: "SNAPSHOT".into(),
                order_ids: vec![]
            }
        );
    }
}
