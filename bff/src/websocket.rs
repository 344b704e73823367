//! GraphQL subscriptions over WebSocket: the graphql-transport-ws protocol (what the
//! `graphql-ws` npm client and the components' client speak; the older `graphql-ws`
//! subprotocol of subscriptions-transport-ws is accepted too, as async-graphql speaks both).
//!
//! async-graphql runs the protocol; this module adds what a long-lived connection needs:
//!
//! - a `ping` every `subscriptions.ping_interval` (clients answer `pong`), and a close after
//!   `subscriptions.idle_timeout` without any message from the client;
//! - a client that does not take a message within `subscriptions.send_timeout` is
//!   disconnected, so a reader that stopped reading holds its socket buffers and its feed
//!   registration for that long at most (its feed buffer is bounded meanwhile and it is
//!   resynchronised if it catches up);
//! - the protocol's close codes: 4400 with the parse error for a malformed message, 4401 for
//!   a `subscribe` before `connection_init`, 4408 when `connection_init` has not come within
//!   `subscriptions.init_timeout` (a deadline from the upgrade that no other message, not
//!   even a `pong`, moves);
//! - limits on what one client can hold: at most `subscriptions.max_subscriptions_per_connection`
//!   operations at a time on a connection (one more answers an `error` message for its id and
//!   the connection stays open), at most `subscriptions.max_connections_per_session`
//!   connections of one signed-in session (one more is closed at its `connection_init` with
//!   1008 and a reason that names the setting), and at most `subscriptions.max_connections`
//!   connections in the whole BFF (one more is refused with 503 before the upgrade);
//! - the upgrade's request id (`x-request-id` of its answer) for the whole connection: the
//!   connection's log lines carry it, and so does every GraphQL error sent on it
//!   (`extensions.requestId`), as on HTTP;
//! - 1001 (going away) to every connection when the BFF shuts down, so clients reconnect;
//! - `bff_websocket_connections_active`, `bff_websocket_disconnects_total{reason}` and
//!   `bff_websocket_refused_total{reason}` in `/metrics`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::http::{
    ClientMessage, WebSocket as ProtocolSocket, WebSocketProtocols as Protocols, WsMessage,
};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use tokio::sync::{oneshot, watch, OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;

use crate::gateway::Gateway;
use crate::request_context::RequestContext;
use crate::schema::{self, BffSchema};
use crate::socket_auth::{self, Upgrader};
use crate::websocket_settings::SubscriptionSettings;
use mall_auth::http::principal::Via;
use mall_auth::http::AuthState;
use mall_auth::session::SessionKey;
use std::sync::OnceLock;

/// Open WebSocket connections (gauge).
pub const METRIC_CONNECTIONS: &str = "bff_websocket_connections_active";
/// Connections the BFF closed, by `reason` (slow_reader, idle, init_timeout,
/// invalid_message, shutdown, session_ended, token_expired, too_many_session_connections).
pub const METRIC_DISCONNECTS: &str = "bff_websocket_disconnects_total";

/// Upgrades, connections and subscribes the BFF refused, by `reason` (too_many_connections,
/// too_many_session_connections, too_many_subscriptions, origin, caller).
pub const METRIC_REFUSED: &str = "bff_websocket_refused_total";

/// The longest close reason a close frame may carry (RFC 6455: 125 bytes minus the code).
const MAX_REASON: usize = 123;

/// Bytes read from a socket at a time, and the read buffer an idle connection holds. Clients
/// send a few small messages (`connection_init` with a token is the largest, under 1 KiB);
/// a longer one grows the buffer for as long as it is read. Every open connection holds this
/// much: at 4 KiB it was a sixth of what a subscriber costs.
const READ_BUFFER_BYTES: usize = 512;
/// Bytes of outgoing frames gathered before a write.
const WRITE_BUFFER_BYTES: usize = 8 * 1024;
/// The largest message (and frame) a client may send.
const MAX_CLIENT_MESSAGE_BYTES: usize = 64 * 1024;

/// The close reason's start of a connection refused past the per-session cap (the socket
/// maps it to 1008, policy violation).
pub const TOO_MANY_SESSION_CONNECTIONS: &str = "Too many connections for this session";

/// The code of the `error` message that refuses a subscription past the per-connection cap.
pub const TOO_MANY_SUBSCRIPTIONS: &str = "TOO_MANY_SUBSCRIPTIONS";

/// Rejections waiting to be sent; a client that floods subscribes past the cap waits for them.
const REJECTIONS_QUEUED: usize = 8;

/// The connection slots of one BFF: one permit per open connection, shared by every
/// upgrade, and the connections each signed-in session holds (build it once, from
/// `subscriptions.max_connections` and `subscriptions.max_connections_per_session`).
#[derive(Clone, Debug)]
pub struct ConnectionSlots {
    permits: Arc<Semaphore>,
    max: usize,
    sessions: Arc<Mutex<HashMap<SessionKey, usize>>>,
    max_per_session: usize,
}

impl ConnectionSlots {
    pub fn new(settings: &SubscriptionSettings) -> ConnectionSlots {
        let max = settings.max_connections.min(Semaphore::MAX_PERMITS);
        ConnectionSlots {
            permits: Arc::new(Semaphore::new(max)),
            max,
            sessions: Arc::default(),
            max_per_session: settings.max_connections_per_session,
        }
    }

    /// One more connection of the session `key`, unless it holds the most it may. Only
    /// sessions with open connections have an entry, so the map is bounded by the
    /// connection cap.
    fn take_for_session(&self, key: &SessionKey) -> Option<SessionSlot> {
        let mut held = self
            .sessions
            .lock()
            .expect("the lock is never held across a panic");
        let count = held.entry(key.clone()).or_default();
        if *count >= self.max_per_session {
            if *count == 0 {
                held.remove(key);
            }
            return None;
        }
        *count += 1;
        Some(SessionSlot {
            sessions: self.sessions.clone(),
            key: key.clone(),
        })
    }
}

/// A connection of a session, counted while it is held.
struct SessionSlot {
    sessions: Arc<Mutex<HashMap<SessionKey, usize>>>,
    key: SessionKey,
}

impl Drop for SessionSlot {
    fn drop(&mut self) {
        let mut held = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = held.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.key);
            }
        }
    }
}

/// What the connections of one BFF share: the schema and gateway they execute against, the
/// settings, the connection slots and the shutdown signal. One allocation for all of them:
/// every open connection's task holds a pointer to it, not copies (a connection's task is
/// the largest part of what an idle subscriber costs).
#[derive(Clone)]
pub struct Subscriptions(Arc<Shared>);

struct Shared {
    schema: BffSchema,
    gateway: Arc<Gateway>,
    settings: SubscriptionSettings,
    slots: ConnectionSlots,
    closing: watch::Receiver<bool>,
    auth: AuthState,
}

impl Subscriptions {
    pub fn new(
        schema: BffSchema,
        gateway: Arc<Gateway>,
        settings: SubscriptionSettings,
        slots: ConnectionSlots,
        closing: watch::Receiver<bool>,
        auth: AuthState,
    ) -> Subscriptions {
        Subscriptions(Arc::new(Shared {
            schema,
            gateway,
            settings,
            slots,
            closing,
            auth,
        }))
    }

    /// Accepts the upgrade if the client asked for a GraphQL subprotocol from an allowed
    /// origin (see [`crate::socket_auth`]), and serves it.
    pub async fn upgrade(self, headers: &HeaderMap, upgrade: WebSocketUpgrade) -> Response {
        let upgrader = match socket_auth::check_upgrade(
            &self.0.auth,
            headers,
            &self.0.settings.allowed_origins,
        )
        .await
        {
            Ok(u) => u,
            Err(refused) => {
                let reason = if refused.status() == StatusCode::FORBIDDEN {
                    "origin"
                } else {
                    "caller"
                };
                metrics::counter!(METRIC_REFUSED, "reason" => reason).increment(1);
                return refused;
            }
        };
        let Some(protocol) = requested_protocol(headers) else {
            return (
                StatusCode::BAD_REQUEST,
                "GraphQL subscriptions need the WebSocket subprotocol graphql-transport-ws \
                 (Sec-WebSocket-Protocol: graphql-transport-ws), as the graphql-ws client sends\n",
            )
                .into_response();
        };
        let Ok(slot) = self.0.slots.permits.clone().try_acquire_owned() else {
            metrics::counter!(METRIC_REFUSED, "reason" => "too_many_connections").increment(1);
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "5")],
                format!(
                    "too many subscription connections: this BFF holds at most {} \
                     (subscriptions.max_connections); try again later\n",
                    self.0.slots.max
                ),
            )
                .into_response();
        };
        // The connection runs on a task of its own, known by the upgrade's request id.
        let request_id = crate::request_id::current();
        // Clients only send small protocol messages (init, subscribe, pong, complete): a
        // small read buffer keeps an idle connection cheap (the default is 128 KiB each),
        // and a message cap keeps one client from making the BFF buffer megabytes.
        upgrade
            .protocols([protocol.sec_websocket_protocol()])
            .read_buffer_size(READ_BUFFER_BYTES)
            .write_buffer_size(WRITE_BUFFER_BYTES)
            .max_message_size(MAX_CLIENT_MESSAGE_BYTES)
            .max_frame_size(MAX_CLIENT_MESSAGE_BYTES)
            .on_upgrade(move |socket| {
                let span = match &request_id {
                    Some(id) => {
                        tracing::info_span!("request", request_id = %id, path = "websocket")
                    }
                    None => tracing::Span::none(),
                };
                self.serve(socket, protocol, slot, upgrader, request_id)
                    .instrument(span)
            })
    }

    async fn serve(
        self,
        socket: WebSocket,
        protocol: Protocols,
        _slot: OwnedSemaphorePermit,
        upgrader: Upgrader,
        request_id: Option<String>,
    ) {
        metrics::gauge!(METRIC_CONNECTIONS).increment(1.0);
        let _open = Defer(|| metrics::gauge!(METRIC_CONNECTIONS).decrement(1.0));
        let shared = self.0;
        let settings = &shared.settings;
        let (mut sink, incoming) = socket.split();
        let active = Arc::new(Mutex::new(HashSet::<String>::new()));
        // futures' channel allocates per message; tokio's allocates a block of 32 slots up
        // front, a kilobyte per connection for messages that almost never come.
        let (reject, mut rejections) = mpsc::channel::<String>(REJECTIONS_QUEUED);
        let cap = Cap {
            active: active.clone(),
            max: settings.max_subscriptions_per_connection,
            reject,
            protocol,
            request_id: request_id.clone(),
        };
        let incoming = incoming
            .take_while(|m| futures::future::ready(m.is_ok()))
            .filter_map(|m| {
                futures::future::ready(match m {
                    Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                        Some(ClientMessage::from_bytes(m.into_data()))
                    }
                    _ => None,
                })
            })
            .filter_map(move |m| cap.clone().admit(m))
            .boxed();
        let context = Arc::new(OnceLock::<RequestContext>::new());
        let executor = Executor {
            schema: shared.schema.clone(),
            gateway: shared.gateway.clone(),
            context: context.clone(),
            request_id: request_id.clone(),
        };
        let (initialised, mut init_seen) = oneshot::channel::<()>();
        // When the bearer token of `connection_init` expires (nothing is sent for a cookie).
        let (token_expiry, token_expires) = oneshot::channel::<tokio::time::Instant>();
        let upgrader = Arc::new(upgrader);
        let on_init = shared.clone();
        let signed_in = context.clone();
        let upgraded = upgrader.clone();
        let mut graphql = ProtocolSocket::from_message_stream(executor, incoming, protocol)
            .keepalive_timeout(settings.idle_timeout)
            .on_connection_init(move |payload| async move {
                let _ = initialised.send(());
                let caller = socket_auth::on_init(&on_init.auth, &upgraded, &payload)
                    .await
                    .map_err(async_graphql::Error::new)?;
                if let Some(at) = caller.token_expires {
                    let left = at
                        .duration_since(std::time::SystemTime::now())
                        .unwrap_or_default();
                    let _ = token_expiry.send(tokio::time::Instant::now() + left);
                }
                let principal = caller.principal;
                // The connection's data lives as long as the connection: so does its slot.
                let mut data = async_graphql::Data::default();
                if let Via::Session(key) = &principal.via {
                    let slot = on_init.slots.take_for_session(key).ok_or_else(|| {
                        metrics::counter!(METRIC_REFUSED, "reason" => "too_many_session_connections")
                            .increment(1);
                        async_graphql::Error::new(format!(
                            "{TOO_MANY_SESSION_CONNECTIONS}: at most {} at a time \
                             (subscriptions.max_connections_per_session); close another tab",
                            on_init.slots.max_per_session
                        ))
                    })?;
                    data.insert(slot);
                }
                let _ = signed_in.set(RequestContext::new(principal).with_request_id(request_id));
                Ok(data)
            });
        // Never ends for a cookie or an anonymous caller; at the token's expiry otherwise.
        let token_deadline = async move {
            match token_expires.await {
                Ok(at) => tokio::time::sleep_until(at).await,
                Err(_) => futures::future::pending().await,
            }
        };
        tokio::pin!(token_deadline);
        let mut closing = shared.closing.clone();
        let mut ended_sessions = shared.auth.ended_sessions();
        // Only a connection that came with a session cookie has a session to check.
        let mut recheck = upgrader.session.is_some().then(|| {
            let mut every =
                tokio::time::interval(settings.session_recheck.max(Duration::from_secs(1)));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            every
        });
        let by_cookie = |context: &OnceLock<RequestContext>| match context.get() {
            Some(c) => match &c.principal().via {
                Via::Session(key) => Some(key.clone()),
                _ => None,
            },
            None => None,
        };
        // The init deadline counts from the upgrade; unlike the idle timeout, no message
        // but `connection_init` stops it.
        let init_deadline = tokio::time::sleep(settings.init_timeout);
        tokio::pin!(init_deadline);
        let mut waiting_for_init = true;
        let mut ping = tokio::time::interval_at(
            tokio::time::Instant::now() + settings.ping_interval,
            settings.ping_interval.max(Duration::from_millis(10)),
        );
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut recheck_due = false;
        loop {
            let (message, last) = if std::mem::take(&mut recheck_due)
                && session_is_over(&shared.auth, &upgrader).await
            {
                session_ended()
            } else {
                tokio::select! {
                biased;
                _ = closing.wait_for(|c| *c) => {
                    metrics::counter!(METRIC_DISCONNECTS, "reason" => "shutdown").increment(1);
                    (close(1001, "the server is shutting down; reconnect"), true)
                }
                _ = &mut init_deadline, if waiting_for_init => {
                    metrics::counter!(METRIC_DISCONNECTS, "reason" => "init_timeout").increment(1);
                    (close(4408, "Connection initialisation timeout"), true)
                }
                _ = &mut init_seen, if waiting_for_init => {
                    waiting_for_init = false;
                    continue;
                }
                () = &mut token_deadline => token_expired(),
                _ = ping.tick() => (Message::Text(ping_message(protocol).into()), false),
                ended = ended_sessions.recv(), if by_cookie(&context).is_some() => {
                    match ended {
                        Ok(key) if Some(&key) == by_cookie(&context).as_ref() => session_ended(),
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                            ended_sessions = shared.auth.ended_sessions();
                            continue;
                        }
                        _ => continue,
                    }
                }
                _ = async {
                    match recheck.as_mut() {
                        Some(every) => every.tick().await,
                        None => futures::future::pending().await,
                    }
                }, if by_cookie(&context).is_some() => {
                    recheck_due = true;
                    continue;
                }
                Some(rejection) = rejections.next() => (Message::Text(rejection.into()), false),
                next = graphql.next() => match next {
                    Some(WsMessage::Text(text)) => {
                        if let Some(id) = completed_id(&text) {
                            active.lock().expect("the lock is never held across a panic").remove(&id);
                        }
                        (Message::Text(text.into()), false)
                    }
                    Some(WsMessage::Close(code, reason)) => {
                        let (code, reason, why) = close_code(code, reason);
                        metrics::counter!(METRIC_DISCONNECTS, "reason" => why).increment(1);
                        (close(code, &reason), true)
                    }
                    None => break,
                },
                }
            };
            match tokio::time::timeout(settings.send_timeout, sink.send(message)).await {
                Ok(Ok(())) if !last => {}
                Ok(_) => break,
                Err(_) => {
                    metrics::counter!(METRIC_DISCONNECTS, "reason" => "slow_reader").increment(1);
                    tracing::debug!("a subscriber stopped reading its socket; disconnected");
                    break;
                }
            }
        }
        // Dropping `graphql` drops every subscription stream of this connection, and with
        // them their feed registrations.
    }
}

/// The per-connection cap on operations: what the incoming stream admits to the protocol.
#[derive(Clone)]
struct Cap {
    /// The ids of the operations running on this connection.
    active: Arc<Mutex<HashSet<String>>>,
    max: usize,
    reject: mpsc::Sender<String>,
    protocol: Protocols,
    /// The connection's request id, for the `error` messages.
    request_id: Option<String>,
}

impl Cap {
    /// Passes a client message on, except a `subscribe` past the cap, which is answered
    /// with an `error` message for its id instead.
    async fn admit(
        mut self,
        message: serde_json::Result<ClientMessage>,
    ) -> Option<serde_json::Result<ClientMessage>> {
        let refused = match &message {
            Ok(ClientMessage::Start { id, .. }) => {
                let mut active = self
                    .active
                    .lock()
                    .expect("the lock is never held across a panic");
                if active.contains(id) || active.len() < self.max {
                    active.insert(id.clone());
                    None
                } else {
                    Some(id.clone())
                }
            }
            Ok(ClientMessage::Stop { id }) => {
                self.active
                    .lock()
                    .expect("the lock is never held across a panic")
                    .remove(id);
                None
            }
            _ => None,
        };
        let Some(id) = refused else {
            return Some(message);
        };
        metrics::counter!(METRIC_REFUSED, "reason" => "too_many_subscriptions").increment(1);
        // Waits while earlier rejections are unsent: a flooding client slows itself down.
        let _ = self
            .reject
            .send(too_many_subscriptions(
                self.protocol,
                &id,
                self.max,
                self.request_id.as_deref(),
            ))
            .await;
        None
    }
}

/// The `error` message refusing operation `id` past the cap.
fn too_many_subscriptions(
    protocol: Protocols,
    id: &str,
    max: usize,
    request_id: Option<&str>,
) -> String {
    let mut error = serde_json::json!({
        "message": format!(
            "too many subscriptions on this connection: at most {max} at a time \
             (subscriptions.max_subscriptions_per_connection); complete one first"
        ),
        "extensions": {"code": TOO_MANY_SUBSCRIPTIONS},
    });
    if let Some(request_id) = request_id {
        error["extensions"]["requestId"] = request_id.into();
    }
    let payload = match protocol {
        Protocols::GraphQLWS => serde_json::Value::Array(vec![error]),
        Protocols::SubscriptionsTransportWS => error,
    };
    serde_json::json!({"id": id, "type": "error", "payload": payload}).to_string()
}

/// The id of a `complete` message the server sends (the operation ended, or the client
/// stopped it): its slot is free again.
fn completed_id(text: &str) -> Option<String> {
    // async-graphql writes the tag first; only these short messages are parsed.
    if !text.starts_with(r#"{"type":"complete""#) {
        return None;
    }
    #[derive(serde::Deserialize)]
    struct Complete {
        id: String,
    }
    serde_json::from_str::<Complete>(text).ok().map(|c| c.id)
}

/// Runs the schema for the protocol: every operation gets its per-request loaders, every
/// error its code.
#[derive(Clone)]
struct Executor {
    schema: BffSchema,
    gateway: Arc<Gateway>,
    /// Who the connection belongs to, set by `connection_init` (nothing runs before it).
    context: Arc<OnceLock<RequestContext>>,
    /// The upgrade's request id, given to every error sent on the connection.
    request_id: Option<String>,
}

impl Executor {
    fn context(&self) -> RequestContext {
        self.context
            .get()
            .cloned()
            .unwrap_or_else(RequestContext::anonymous)
    }
}

impl async_graphql::Executor for Executor {
    async fn execute(&self, request: async_graphql::Request) -> async_graphql::Response {
        let mut response =
            schema::execute(&self.schema, &self.gateway, self.context(), request).await;
        tag_errors(&mut response, self.request_id.as_deref());
        response
    }

    fn execute_stream(
        &self,
        request: async_graphql::Request,
        session: Option<Arc<async_graphql::Data>>,
    ) -> futures::stream::BoxStream<'static, async_graphql::Response> {
        let request_id = self.request_id.clone();
        schema::execute_stream(
            &self.schema,
            &self.gateway,
            self.context(),
            request,
            session,
        )
        .map(move |mut response| {
            tag_errors(&mut response, request_id.as_deref());
            response
        })
        .boxed()
    }
}

/// Gives every error of `response` the connection's request id (`extensions.requestId`).
fn tag_errors(response: &mut async_graphql::Response, request_id: Option<&str>) {
    let Some(id) = request_id else {
        return;
    };
    for error in &mut response.errors {
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("requestId", id);
    }
}

/// The GraphQL subprotocol the client asked for, if any.
fn requested_protocol(headers: &HeaderMap) -> Option<Protocols> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|p| p.trim().parse::<Protocols>().ok())
        // The current protocol wins when a client offers both.
        .max_by_key(|p| *p == Protocols::GraphQLWS)
}

fn ping_message(protocol: Protocols) -> &'static str {
    match protocol {
        Protocols::GraphQLWS => r#"{"type":"ping"}"#,
        Protocols::SubscriptionsTransportWS => r#"{"type":"ka"}"#,
    }
}

/// The protocol's close codes for what async-graphql closes with, and why (for metrics).
fn close_code(code: u16, reason: String) -> (u16, String, &'static str) {
    match code {
        // A refused `connection_init` (see `socket_auth`).
        1002 if reason.starts_with(socket_auth::FORBIDDEN) => (4403, reason, "forbidden"),
        // A `connection_init` past the session's cap: a policy of this server, not a
        // malformed message.
        1002 if reason.starts_with(TOO_MANY_SESSION_CONNECTIONS) => {
            (1008, reason, "too_many_session_connections")
        }
        // async-graphql closes with 1002 when a message cannot be parsed.
        1002 => (
            4400,
            format!("invalid message: {reason}"),
            "invalid_message",
        ),
        // ... and with 1011 on a subscribe before connection_init.
        1011 => (
            4401,
            "Unauthorized: send connection_init and wait for connection_ack first".to_owned(),
            "invalid_message",
        ),
        3008 => (
            4408,
            "nothing received from the client for too long (no pong)".to_owned(),
            "idle",
        ),
        other => (other, reason, "protocol"),
    }
}

/// Whether the session of the upgrade's cookie has ended (expired, or ended on another
/// replica). A store that cannot be asked keeps the connection; it is asked again later.
async fn session_is_over(auth: &AuthState, upgrader: &Upgrader) -> bool {
    let Some(id) = &upgrader.session else {
        return false;
    };
    match auth.identity.session(id).await {
        Ok(live) => live.is_none(),
        Err(e) => {
            tracing::warn!(error = %e, "a subscription's session could not be checked");
            false
        }
    }
}

/// The close of a connection whose session ended (signed out, expired, revoked).
fn session_ended() -> (Message, bool) {
    metrics::counter!(METRIC_DISCONNECTS, "reason" => "session_ended").increment(1);
    (
        close(4403, "Forbidden: the session ended; sign in again"),
        true,
    )
}

/// The close of a connection whose bearer token expired: the client gets a new token and
/// connects again, as it would for a request.
fn token_expired() -> (Message, bool) {
    metrics::counter!(METRIC_DISCONNECTS, "reason" => "token_expired").increment(1);
    (
        close(
            4403,
            "Forbidden: the bearer token expired; connect again with a new one",
        ),
        true,
    )
}

fn close(code: u16, reason: &str) -> Message {
    let mut end = reason.len().min(MAX_REASON);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    Message::Close(Some(CloseFrame {
        code,
        reason: reason[..end].into(),
    }))
}

/// Runs a closure when dropped (however the connection ends).
struct Defer<F: FnMut()>(F);

impl<F: FnMut()> Drop for Defer<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_protocol_is_preferred_and_none_is_none() {
        let mut h = HeaderMap::new();
        assert_eq!(requested_protocol(&h), None);
        h.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            "graphql-ws, graphql-transport-ws".parse().expect("header"),
        );
        assert_eq!(requested_protocol(&h), Some(Protocols::GraphQLWS));
        h.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            "chat".parse().expect("header"),
        );
        assert_eq!(requested_protocol(&h), None);
    }

    #[test]
    fn close_reasons_fit_a_close_frame() {
        let long = "é".repeat(200);
        let Message::Close(Some(frame)) = close(4400, &long) else {
            panic!("a close frame");
        };
        assert!(frame.reason.as_str().len() <= MAX_REASON);
        assert_eq!(close_code(1002, "x".into()).0, 4400);
        assert_eq!(close_code(1011, "x".into()).0, 4401);
        assert_eq!(
            close_code(1002, format!("{TOO_MANY_SESSION_CONNECTIONS}: at most 2")).0,
            1008
        );
    }

    #[test]
    fn a_complete_message_frees_its_id() {
        assert_eq!(
            completed_id(r#"{"type":"complete","id":"7"}"#).as_deref(),
            Some("7")
        );
        assert_eq!(
            completed_id(r#"{"type":"next","id":"7","payload":{}}"#),
            None
        );
    }
}
