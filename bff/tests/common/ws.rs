//! A graphql-transport-ws client over tokio-tungstenite, for the tests that talk to the BFF's
//! `/graphql/ws` on a real socket ([`super::TestBff::serve`]).

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::{Error, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The upgrade request to `/graphql/ws` at `addr`, asking for graphql-transport-ws (add
/// headers before connecting with it).
pub fn request(addr: SocketAddr) -> Request {
    let mut request = format!("ws://{addr}/graphql/ws")
        .into_client_request()
        .expect("ws request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    request
}

/// Opens `/graphql/ws` at `addr` and initialises it with `payload` (`connection_init`),
/// expecting the `connection_ack`.
pub async fn initialised(addr: SocketAddr, payload: Value) -> Ws {
    let mut ws = connect(addr).await.expect("WebSocket handshake");
    send(
        &mut ws,
        json!({"type": "connection_init", "payload": payload}),
    )
    .await;
    assert_eq!(next_message(&mut ws).await["type"], "connection_ack");
    ws
}

/// Opens `/graphql/ws` at `addr` (the handshake's refusal is the error).
pub async fn connect(addr: SocketAddr) -> Result<Ws, Error> {
    tokio_tungstenite::connect_async(request(addr))
        .await
        .map(|(ws, _)| ws)
}

pub async fn send(ws: &mut Ws, message: Value) {
    ws.send(Message::Text(message.to_string().into()))
        .await
        .expect("send");
}

/// The next protocol message (the BFF's pings skipped), failing after 5 s.
pub async fn next_message(ws: &mut Ws) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a message within 5 s");
        match m {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).expect("JSON");
                if v["type"] != "ping" {
                    return v;
                }
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected a protocol message, got {other:?}"),
        }
    }
}
