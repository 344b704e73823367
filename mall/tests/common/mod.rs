//! Shared helpers of the subscription tests: a whole mall on free ports, and a GraphQL
//! WebSocket client speaking graphql-transport-ws (connection_init, connection_ack,
//! subscribe, next…) over a real socket. Every wait has a deadline; nothing sleeps.

#![allow(dead_code)]

use mall_services::Role;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Mutex, OnceLock};

use mall_auth::http::BFF_AUDIENCE;
use mall_auth::policy::Caller;
use mall_auth::token::TokenIssuer;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use mall::{start, Mall, MallConfig, Ports};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// How long any one expected message may take.
pub const DEADLINE: Duration = Duration::from_secs(20);

pub const MY_PAGE: &str = "subscription ($c: String!) { myPage(customerId: $c) { kind \
    rows { orderId customerId orderStatus deliveryStatus } \
    row { orderId customerId orderStatus deliveryStatus } } }";

/// A mall with every role, on free ports, in a fresh data directory.
pub async fn mall() -> (Mall, tempfile::TempDir) {
    mall_with(|_| {}).await
}

pub async fn mall_with(tweak: impl FnOnce(&mut MallConfig)) -> (Mall, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = MallConfig {
        data_dir: dir.path().to_owned(),
        ports: Ports::any(),
        ..MallConfig::default()
    };
    tweak(&mut config);
    let mall = start(config).await.expect("the mall starts");
    register_mall(&mall);
    (mall, dir)
}

/// Remembers the signing key of a mall's BFF under its URL and its services' URLs, so the
/// helpers below can call them as a signed-in caller.
pub fn register_mall(mall: &Mall) {
    let (Some(bff), Some(url)) = (&mall.bff, &mall.bff_url) else {
        return;
    };
    register(url, bff.auth().issuer.clone());
    if let Some(services) = &mall.services {
        let u = &services.urls;
        for service in [
            &u[Role::Order],
            &u[Role::Delivery],
            &u[Role::Product],
            &u[Role::Mypage],
        ] {
            register(service, bff.auth().issuer.clone());
        }
    }
}

fn issuers() -> &'static Mutex<HashMap<String, TokenIssuer>> {
    static ISSUERS: OnceLock<Mutex<HashMap<String, TokenIssuer>>> = OnceLock::new();
    ISSUERS.get_or_init(Default::default)
}

/// `host:port` of a URL: the registry's key.
fn authority(url: &str) -> String {
    let rest = url.split("://").nth(1).unwrap_or(url);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

/// Tokens for the BFF (or services) at `url` are signed with `issuer`.
pub fn register(url: &str, issuer: TokenIssuer) {
    issuers()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(authority(url), issuer);
}

/// The staff member the helpers act as.
pub const STAFF: &str = "staff@test.example";

/// A token for `caller` at the BFF or service at `url` (audience: the BFF, or `audience`).
pub fn token_for(url: &str, caller: &Caller, audience: &str) -> String {
    token_lasting(url, caller, audience, Duration::from_secs(3600))
}

/// A token as [`token_for`] that expires `ttl` from now (as `mall token --ttl` makes).
pub fn token_lasting(url: &str, caller: &Caller, audience: &str, ttl: Duration) -> String {
    let found = issuers()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&authority(url))
        .cloned();
    let issuer = found.unwrap_or_else(|| panic!("no mall registered at {url}"));
    issuer
        .sign(
            caller.id().expect("a signed-in caller"),
            caller.roles(),
            audience,
            ttl,
        )
        .expect("token")
}

pub fn staff() -> Caller {
    Caller::Staff { id: STAFF.into() }
}

pub fn customer(id: &str) -> Caller {
    Caller::Customer { id: id.into() }
}

/// The WebSocket URL of the subscriptions of a BFF at `http_url`.
pub fn ws_url(http_url: &str, path: &str) -> String {
    format!("{}{path}", http_url.replacen("http://", "ws://", 1))
}

/// POSTs a GraphQL operation to the BFF as staff and returns the whole response.
pub async fn graphql(bff: &str, query: &str, variables: Value) -> Value {
    graphql_as(bff, &staff(), query, variables).await
}

/// POSTs a GraphQL operation to the BFF as `caller`.
pub async fn graphql_as(bff: &str, caller: &Caller, query: &str, variables: Value) -> Value {
    let token = token_for(bff, caller, BFF_AUDIENCE);
    post_graphql(bff, query, variables, |r| r.bearer_auth(token)).await
}

/// POSTs a GraphQL operation to the BFF as the browser does: with the session `cookie`.
pub async fn graphql_by_cookie(bff: &str, cookie: &str, query: &str, variables: Value) -> Value {
    post_graphql(bff, query, variables, |r| r.header("cookie", cookie)).await
}

/// POSTs a GraphQL operation to the BFF, signed in by `sign`, and returns the whole response.
async fn post_graphql(
    bff: &str,
    query: &str,
    variables: Value,
    sign: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
) -> Value {
    sign(reqwest::Client::new().post(format!("{bff}/graphql")))
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .expect("graphql request")
        .json()
        .await
        .expect("graphql json")
}

/// What `POST /auth/signup` set: the whole `Set-Cookie` header, and the `name=value` pair a
/// browser sends back.
pub struct SignedUp {
    pub set_cookie: String,
    pub cookie: String,
}

/// Signs a new customer up at the BFF (a valid password); fails unless it is 201.
pub async fn sign_up(bff: &str, email: &str, name: &str) -> SignedUp {
    let r = reqwest::Client::new()
        .post(format!("{bff}/auth/signup"))
        .json(&json!({"email": email, "name": name, "address": "Seoul",
                      "password": "correct horse battery staple"}))
        .send()
        .await
        .expect("signup");
    assert_eq!(
        r.status(),
        reqwest::StatusCode::CREATED,
        "sign-up of {email}"
    );
    let set_cookie = r.headers()["set-cookie"]
        .to_str()
        .expect("a cookie")
        .to_owned();
    let cookie = set_cookie.split(';').next().expect("name=value").to_owned();
    SignedUp { set_cookie, cookie }
}

/// The configuration of another BFF replica of `mall`'s shop, on free ports and the same
/// data: replicas share the shop's public URL, the issuer of the tokens the services check.
pub fn replica_config(mall: &Mall, data_dir: &std::path::Path) -> MallConfig {
    MallConfig {
        data_dir: data_dir.to_owned(),
        ports: Ports::any(),
        public_url: mall.bff_url.clone(),
        ..MallConfig::default()
    }
}

/// Places an order through the BFF's placeOrder mutation; its id.
pub async fn place_order(bff: &str, customer_id: &str) -> i64 {
    let customer = customer_id;
    let r = graphql_as(
        bff,
        &self::customer(customer),
        "mutation ($c: String!) { placeOrder(input: {productId: 1, quantity: 1, customerId: $c, \
         customerName: \"Jay\", customerAddr: \"Seoul\"}) { id } }",
        json!({"c": customer}),
    )
    .await;
    r["data"]["placeOrder"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("order placed: {r}"))
}

/// Cancels an order through the BFF's cancelOrder mutation.
pub async fn cancel_order(bff: &str, order: i64) {
    let r = graphql(
        bff,
        "mutation ($o: Int!) { cancelOrder(orderId: $o) { id status } }",
        json!({"o": order}),
    )
    .await;
    assert_eq!(r["data"]["cancelOrder"]["status"], "CANCELLED", "{r}");
}

/// Places an order straight at the order service (not through the BFF).
pub async fn place_order_at_service(order_service: &str, customer: &str) -> i64 {
    let r: Value = reqwest::Client::new()
        .post(format!("{order_service}/orders"))
        .bearer_auth(token_for(order_service, &self::customer(customer), "order"))
        .json(
            &json!({"productId": 1, "quantity": 1, "customerId": customer,
                      "customerName": "Jay", "customerAddr": "Seoul"}),
        )
        .send()
        .await
        .expect("order request")
        .json()
        .await
        .expect("order json");
    r["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("order placed: {r}"))
}

/// The value of an unlabelled metric in `/metrics` (0 when it was never recorded).
pub async fn metric(bff: &str, name: &str) -> f64 {
    let text = reqwest::get(format!("{bff}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .map(|v| v.trim().parse().expect("a number"))
        .unwrap_or(0.0)
}

/// Waits until `check` holds, polling; panics with `what` at the deadline.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// What the client saw next.
#[derive(Debug)]
pub enum Seen {
    /// A `next` message: the subscription id and the GraphQL response.
    Next(String, Value),
    /// Any other protocol message (complete, error, pong…).
    Other(Value),
    /// The server closed the connection (code and reason), or it broke.
    Closed(Option<(u16, String)>),
}

/// A graphql-transport-ws client.
pub struct Client {
    ws: WebSocketStream<TcpStream>,
    /// Answers the server's pings (on by default, as every graphql-ws client does).
    pub answer_pings: bool,
    pub pings: usize,
    /// Where it connected (the registry finds the BFF's key by it).
    url: String,
}

impl Client {
    /// Opens the socket (no init yet).
    pub async fn open(url: &str) -> Client {
        Client::open_with(url, None).await
    }

    /// Opens the socket; `recv_buffer` shrinks the client's kernel receive buffer (for a
    /// reader that stops reading to fill up quickly).
    pub async fn open_with(url: &str, recv_buffer: Option<u32>) -> Client {
        let mut request = url.into_client_request().expect("ws request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().expect("header"),
        );
        let host = request.uri().host().expect("host").to_owned();
        let port = request.uri().port_u16().expect("port");
        let addr: SocketAddr = format!("{host}:{port}").parse().expect("address");
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size).expect("receive buffer");
        }
        let stream = socket.connect(addr).await.expect("connect");
        let (ws, response) = tokio_tungstenite::client_async(request, stream)
            .await
            .expect("WebSocket handshake");
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            "graphql-transport-ws",
            "the server speaks graphql-transport-ws"
        );
        Client {
            ws,
            answer_pings: true,
            pings: 0,
            url: url.to_owned(),
        }
    }

    /// Lets the socket take up to `bytes` unread again (a reader that caught up after
    /// opening with a small buffer): with a window of a few kB the server's backlog would
    /// trickle over on zero-window probes, minutes for a megabyte.
    pub fn widen_receive_buffer(&self, bytes: usize) {
        socket2::SockRef::from(self.ws.get_ref())
            .set_recv_buffer_size(bytes)
            .expect("receive buffer");
    }

    /// Opens the socket and completes connection_init / connection_ack.
    pub async fn connect(url: &str) -> Client {
        let mut c = Client::open(url).await;
        c.init().await;
        c
    }

    pub async fn init(&mut self) {
        let token = token_for(&self.url, &staff(), BFF_AUDIENCE);
        self.send(json!({"type": "connection_init",
                         "payload": {"Authorization": format!("Bearer {token}")}}))
            .await;
        match self.next().await {
            Seen::Other(m) if m["type"] == "connection_ack" => {}
            other => panic!("expected connection_ack, got {other:?}"),
        }
    }

    pub async fn send(&mut self, message: Value) {
        self.send_text(&message.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .expect("send");
    }

    /// Subscribes to `customer`'s my page under `id`.
    pub async fn subscribe(&mut self, id: &str, customer: &str) {
        self.send(json!({"id": id, "type": "subscribe",
                         "payload": {"query": MY_PAGE, "variables": {"c": customer}}}))
            .await;
    }

    /// The next message (pings answered and skipped), within the deadline.
    pub async fn next(&mut self) -> Seen {
        self.next_within(DEADLINE)
            .await
            .unwrap_or_else(|| panic!("no message within {DEADLINE:?}"))
    }

    /// The next message, or None if nothing came within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Seen> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return None,
                Ok(None) | Ok(Some(Err(_))) => return Some(Seen::Closed(None)),
                Ok(Some(Ok(m))) => m,
            };
            let text = match message {
                Message::Text(t) => t.to_string(),
                Message::Close(frame) => {
                    return Some(Seen::Closed(frame.map(|CloseFrame { code, reason }| {
                        (u16::from(code), reason.to_string())
                    })))
                }
                _ => continue,
            };
            let value: Value = serde_json::from_str(&text).expect("JSON from the server");
            match value["type"].as_str() {
                Some("ping") => {
                    self.pings += 1;
                    if self.answer_pings {
                        self.send(json!({"type": "pong"})).await;
                    }
                }
                Some("next") => {
                    let id = value["id"].as_str().expect("id").to_owned();
                    return Some(Seen::Next(id, value["payload"].clone()));
                }
                _ => return Some(Seen::Other(value)),
            }
        }
    }

    /// Answers pings until `n` have come; anything else (a close) fails.
    pub async fn await_pings(&mut self, n: usize) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while self.pings < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} pings within {DEADLINE:?}",
                self.pings
            );
            if let Some(seen) = self.next_within(Duration::from_millis(100)).await {
                panic!("only pings expected, got {seen:?}");
            }
        }
    }

    /// The next update's `myPage` (panics on errors or anything else).
    pub async fn update(&mut self) -> Value {
        match self.next().await {
            Seen::Next(_, payload) => {
                assert!(payload.get("errors").is_none(), "no errors: {payload}");
                payload["data"]["myPage"].clone()
            }
            other => panic!("expected an update, got {other:?}"),
        }
    }

    /// Subscribes and returns the first update, which must be a SNAPSHOT.
    pub async fn snapshot_of(&mut self, id: &str, customer: &str) -> Value {
        self.subscribe(id, customer).await;
        let first = self.update().await;
        assert_eq!(first["kind"], "SNAPSHOT", "{first}");
        first
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
        // Read until the server's close comes back (or the socket ends).
        let _ = tokio::time::timeout(DEADLINE, async {
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
    }
}

/// What a started `mall` binary printed before "Press Ctrl-C": the BFF's URL (without the
/// trailing `/`) and each service's URL by name.
pub struct Greeting {
    pub bff: Option<String>,
    pub services: HashMap<String, String>,
}

/// Reads `child`'s greeting from its piped stdout, then keeps draining it (on a thread) so
/// the child never blocks on a full pipe.
pub fn read_greeting(child: &mut std::process::Child) -> Greeting {
    use std::io::{BufRead, BufReader};
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let mut greeting = Greeting {
        bff: None,
        services: HashMap::new(),
    };
    loop {
        let line = lines
            .next()
            .expect("mall printed its URLs before exiting")
            .expect("line");
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("12st mall is running: open ") {
            greeting.bff = Some(rest.trim_end_matches('/').to_owned());
        }
        if let Some(rest) = line.strip_prefix("services:") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            for pair in words.chunks(2) {
                if let [name, url] = pair {
                    greeting.services.insert(name.to_string(), url.to_string());
                }
            }
        }
        if line.starts_with("Press Ctrl-C") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    greeting
}
