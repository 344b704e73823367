//! A `myPage` subscriber over graphql-transport-ws, as a browser component would be one: its
//! own WebSocket to the BFF's `/graphql`, `connection_init` signed in as the customer (a
//! bearer token in its payload, as API clients do), one `subscribe`, the SNAPSHOT, then a
//! task that answers pings and reports each CHANGE (with the order ids it lists and when it
//! arrived) to the scenario.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The subscription of the issue, for one customer.
pub fn query(customer: &str) -> String {
    format!("subscription {{ myPage(customerId: {customer:?}) {{ kind rows {{ orderId }} }} }}")
}

/// What a subscriber saw.
#[derive(Debug, Clone)]
pub struct Change {
    pub subscriber: usize,
    pub order_ids: Vec<i64>,
    pub at: Instant,
}

/// A graphql-transport-ws message the scenario cares about.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    Ack,
    Ping,
    /// `next` with `myPage.kind` and the order ids of `myPage.rows`.
    Update {
        kind: String,
        order_ids: Vec<i64>,
    },
    /// `error`, or `next` with GraphQL errors.
    Error(String),
    Complete,
    Other,
}

/// Reads one server message of graphql-transport-ws.
pub fn parse(text: &str) -> Seen {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return Seen::Other;
    };
    match v.get("type").and_then(Value::as_str) {
        Some("connection_ack") => Seen::Ack,
        Some("ping") => Seen::Ping,
        Some("complete") => Seen::Complete,
        Some("error") => Seen::Error(v["payload"].to_string()),
        Some("next") => {
            if let Some(errors) = v.pointer("/payload/errors") {
                return Seen::Error(errors.to_string());
            }
            let page = &v["payload"]["data"]["myPage"];
            let order_ids = page["rows"]
                .as_array()
                .map(|rows| rows.iter().filter_map(|r| r["orderId"].as_i64()).collect())
                .unwrap_or_default();
            Seen::Update {
                kind: page["kind"].as_str().unwrap_or("").to_owned(),
                order_ids,
            }
        }
        _ => Seen::Other,
    }
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn next_seen(ws: &mut Socket, wait: Duration) -> Result<Seen> {
    loop {
        let message = tokio::time::timeout(wait, ws.next())
            .await
            .context("no message from the BFF in time")?
            .context("the BFF closed the socket")??;
        match message {
            Message::Text(t) => {
                let seen = parse(t.as_str());
                if seen == Seen::Ping {
                    ws.send(Message::Text(json!({"type": "pong"}).to_string().into()))
                        .await?;
                    continue;
                }
                return Ok(seen);
            }
            Message::Close(frame) => bail!("the BFF closed the socket: {frame:?}"),
            _ => {}
        }
    }
}

/// A socket held open: a subscriber that has its SNAPSHOT, or a bare connection ([`connect`]);
/// dropping it closes the socket.
pub struct Subscriber {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The `connection_init` message of a caller signed in by the bearer token `token`.
pub fn connection_init(token: &str) -> Value {
    json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}})
}

/// Opens a graphql-transport-ws socket to `ws_url` signed in as the caller of `token`, up to
/// its `connection_ack`.
async fn open(ws_url: &str, token: &str) -> Result<Socket> {
    let mut request = ws_url.into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws"
            .parse()
            .expect("a valid header value"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .with_context(|| format!("cannot open a WebSocket to {ws_url}"))?;
    ws.send(Message::Text(connection_init(token).to_string().into()))
        .await?;
    match next_seen(&mut ws, WAIT).await? {
        Seen::Ack => Ok(ws),
        other => bail!("expected connection_ack, got {other:?}"),
    }
}

/// How long the BFF may take to answer `connection_init` or a `subscribe`.
const WAIT: Duration = Duration::from_secs(30);

/// A signed-in connection with no subscription (what a connection costs by itself), kept
/// open and answering pings until dropped.
pub async fn connect(ws_url: &str, token: &str) -> Result<Subscriber> {
    let mut ws = open(ws_url, token).await?;
    let task = tokio::spawn(async move {
        while next_seen(&mut ws, Duration::from_secs(3600)).await.is_ok() {}
    });
    Ok(Subscriber { task })
}

/// Connects subscriber number `index` to `ws_url` as the caller of `token`, subscribes to
/// `customer`'s my page, waits for the SNAPSHOT, then reports every CHANGE on `changes`.
pub async fn subscribe(
    ws_url: &str,
    customer: &str,
    token: &str,
    index: usize,
    changes: mpsc::UnboundedSender<Change>,
) -> Result<Subscriber> {
    let mut ws = open(ws_url, token).await?;
    let wait = WAIT;
    ws.send(Message::Text(
        json!({"id": "1", "type": "subscribe", "payload": {"query": query(customer)}})
            .to_string()
            .into(),
    ))
    .await?;
    match next_seen(&mut ws, wait).await? {
        Seen::Update { kind, .. } if kind == "SNAPSHOT" => {}
        other => bail!("expected a SNAPSHOT first, got {other:?}"),
    }
    let task = tokio::spawn(async move {
        while let Ok(seen) = next_seen(&mut ws, Duration::from_secs(3600)).await {
            if let Seen::Update { kind, order_ids } = seen {
                if kind == "CHANGE" {
                    let change = Change {
                        subscriber: index,
                        order_ids,
                        at: Instant::now(),
                    };
                    if changes.send(change).is_err() {
                        break;
                    }
                }
            }
        }
    });
    Ok(Subscriber { task })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_are_read() {
        assert_eq!(parse(r#"{"type":"connection_ack"}"#), Seen::Ack);
        assert_eq!(parse(r#"{"type":"ping","payload":{}}"#), Seen::Ping);
        assert_eq!(
            parse(
                r#"{"id":"1","type":"next","payload":{"data":{"myPage":
                {"kind":"CHANGE","rows":[{"orderId":3},{"orderId":7}]}}}}"#
            ),
            Seen::Update {
                kind: "CHANGE".into(),
                order_ids: vec![3, 7]
            }
        );
        assert!(matches!(
            parse(r#"{"id":"1","type":"next","payload":{"data":null,"errors":[{"message":"x"}]}}"#),
            Seen::Error(_)
        ));
        assert_eq!(parse("not json"), Seen::Other);
    }

    #[test]
    fn connection_init_carries_the_bearer_token() {
        assert_eq!(
            connection_init("abc"),
            json!({"type": "connection_init", "payload": {"Authorization": "Bearer abc"}})
        );
    }

    #[test]
    fn the_query_quotes_the_customer() {
        assert_eq!(
            query("a@b"),
            r#"subscription { myPage(customerId: "a@b") { kind rows { orderId } } }"#
        );
    }
}
