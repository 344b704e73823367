//! Rate limits at the edge: a tower layer over the whole router that counts each request
//! against its caller, per kind of route, with the `governor` crate's keyed limiters (GCRA:
//! a burst, then a steady rate).
//!
//! - The caller is the `mall_session` cookie, else the bearer token (each hashed, so the
//!   limiter's memory holds no credential), else the client's address.
//! - Every request of an address, signed in or not, also counts against that address, at
//!   `address_factor` times a caller's quota: inventing session cookies gains nothing past
//!   it, while many people behind one NAT still get their own quota each.
//! - Routes: `/graphql` (queries, mutations, subscription upgrades, GraphiQL), `/auth/*`
//!   (sign-in: a small quota against password guessing), the shop's and GraphiQL's files
//!   (exempt by default), and the probes (`/healthz`, `/readyz`, `/metrics`: never limited).
//! - Past its quota a request is answered `429 Too Many Requests` with `Retry-After` (whole
//!   seconds) and a body that says when to try again: a GraphQL error (`extensions.code`
//!   `RATE_LIMITED`) on `/graphql`, a problem+json document elsewhere.
//! - The client's address is the TCP peer, as axum's `ConnectInfo<SocketAddr>` gives it
//!   (serve the router with `into_make_service_with_connect_info::<SocketAddr>()`), or, when
//!   the peer is one of `trusted_proxies`, the last address of `X-Forwarded-For` that is not
//!   itself a trusted proxy (a client can prepend anything to that header; only what the
//!   proxies appended counts). Loopback clients (tests, benchmarks, a health checker on the
//!   host) are exempt unless `exempt_loopback = false`. A request with no known address and
//!   no credential is not limited (logged once).

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The session cookie whose value keys a signed-in caller.
pub const SESSION_COOKIE: &str = "mall_session";

/// Rate limits per caller and route (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSettings {
    /// Off: nothing is limited.
    pub enabled: bool,
    /// Requests from a loopback client are not limited (tests, benchmarks, probes on the
    /// host). A proxy on the same host must be in `trusted_proxies`, or every client it
    /// forwards is taken for loopback.
    pub exempt_loopback: bool,
    /// Every request of one address also counts against that address, at this many times
    /// a caller's quota (burst and rate).
    pub address_factor: u32,
    /// The proxies in front of the BFF (CIDR ranges: `10.0.0.0/8`, one address as
    /// `10.1.2.3/32`): a request from one of them is keyed by the client address they
    /// appended to `X-Forwarded-For`. Empty: the TCP peer is the client. From the
    /// environment: `MALL_BFF__RATE_LIMITS__TRUSTED_PROXIES=10.0.0.0/8,172.16.0.0/12`.
    #[serde(deserialize_with = "crate::setting_list::deserialize")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `/graphql`: queries, mutations, subscription upgrades and GraphiQL's page.
    pub graphql: RouteLimit,
    /// `/auth/*`: sign-up, sign-in, sign-out.
    pub auth: RouteLimit,
    /// The shop's files and GraphiQL's assets.
    pub static_files: RouteLimit,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings {
            enabled: true,
            exempt_loopback: true,
            address_factor: 10,
            trusted_proxies: Vec::new(),
            // A page of the shop makes a handful of GraphQL requests; a person never makes
            // 200 at once nor keeps up 20 a second.
            graphql: RouteLimit {
                enabled: true,
                burst: 200,
                per_minute: 1200,
            },
            // Enough to mistype a password many times, far too few to guess one.
            auth: RouteLimit {
                enabled: true,
                burst: 20,
                per_minute: 30,
            },
            static_files: RouteLimit {
                enabled: false,
                burst: 1000,
                per_minute: 6000,
            },
        }
    }
}

/// One route's quota per caller: `burst` requests at once, refilled at `per_minute`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouteLimit {
    /// Off: the route is not limited.
    pub enabled: bool,
    /// Requests a caller may make at once, after a quiet while.
    pub burst: u32,
    /// Requests a caller may keep making per minute.
    pub per_minute: u32,
}

impl Default for RouteLimit {
    fn default() -> Self {
        RouteLimit {
            enabled: true,
            burst: 100,
            per_minute: 600,
        }
    }
}

impl RouteLimit {
    fn quota(&self, factor: u32) -> Option<Quota> {
        if !self.enabled {
            return None;
        }
        let per_minute = NonZeroU32::new(self.per_minute.saturating_mul(factor))?;
        let burst = NonZeroU32::new(self.burst.saturating_mul(factor))?;
        Some(Quota::per_minute(per_minute).allow_burst(burst))
    }
}

/// The kinds of routes, each with its own quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Graphql,
    Auth,
    StaticFiles,
    /// `/healthz`, `/readyz`, `/metrics`: never limited (a prober must always get through).
    Probe,
}

impl Route {
    /// The kind of route a path is.
    pub fn of(path: &str) -> Route {
        match path {
            "/healthz" | "/readyz" | "/metrics" => Route::Probe,
            "/graphql" | "/graphql/" | "/graphql/ws" => Route::Graphql,
            _ if path.starts_with("/auth/") || path == "/auth" => Route::Auth,
            _ => Route::StaticFiles,
        }
    }
}

/// Who a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Caller {
    /// A session cookie's value, hashed.
    Session([u8; 16]),
    /// A bearer token, hashed.
    Token([u8; 16]),
    /// No credential: the client's address.
    Address(IpAddr),
}

impl Caller {
    /// The caller of a request with `headers` from `address`; `None` when there is neither
    /// a credential nor an address.
    pub fn of(headers: &HeaderMap, address: Option<IpAddr>) -> Option<Caller> {
        if let Some(session) = session_cookie(headers) {
            return Some(Caller::Session(digest(session.as_bytes())));
        }
        if let Some(token) = bearer_token(headers) {
            return Some(Caller::Token(digest(token.as_bytes())));
        }
        address.map(Caller::Address)
    }
}

fn digest(secret: &[u8]) -> [u8; 16] {
    let full = Sha256::digest(secret);
    let mut short = [0u8; 16];
    short.copy_from_slice(&full[..16]);
    short
}

/// The value of the `mall_session` cookie, when one is sent.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == SESSION_COOKIE && !value.is_empty())
        .map(|(_, value)| value)
}

/// The token of `Authorization: Bearer <token>`, when one is sent.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The client's address: the peer, or behind trusted proxies the last address of
/// `X-Forwarded-For` that is not a trusted proxy (the first one a trusted proxy saw).
pub fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[ipnet::IpNet],
) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |a: &IpAddr| trusted.iter().any(|net| net.contains(a));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        // What a trusted proxy appended parses; past an unreadable hop nothing is known.
        let Ok(address) = hop.parse::<IpAddr>() else {
            break;
        };
        client = address;
        if !is_trusted(&address) {
            break;
        }
    }
    Some(client)
}

/// The limiters of one route: per caller, and per address.
#[derive(Debug)]
struct RouteLimiters {
    callers: DefaultKeyedRateLimiter<Caller>,
    addresses: DefaultKeyedRateLimiter<IpAddr>,
}

/// The layer's state: a pair of limiters per limited route.
#[derive(Debug, Clone)]
pub struct RateLimits {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    exempt_loopback: bool,
    trusted_proxies: Vec<ipnet::IpNet>,
    graphql: Option<RouteLimiters>,
    auth: Option<RouteLimiters>,
    static_files: Option<RouteLimiters>,
    clock: DefaultClock,
    /// Requests checked, to sweep the limiters' forgotten callers now and then.
    checked: AtomicU64,
    warned_no_address: AtomicBool,
}

/// Every this many requests, callers whose quota is whole again are forgotten (their
/// entries would behave exactly as absent ones).
const SWEEP_EVERY: u64 = 4096;

/// Why a request was refused: the route and how long until it would pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub route: Route,
    pub retry_after: Duration,
}

impl RateLimits {
    /// The limiters of `settings`; `None` when nothing is limited.
    pub fn new(settings: &RateLimitSettings) -> Option<RateLimits> {
        if !settings.enabled {
            return None;
        }
        let factor = settings.address_factor.max(1);
        let limiters = |limit: &RouteLimit| {
            Some(RouteLimiters {
                callers: DefaultKeyedRateLimiter::keyed(limit.quota(1)?),
                addresses: DefaultKeyedRateLimiter::keyed(limit.quota(factor)?),
            })
        };
        let inner = Inner {
            exempt_loopback: settings.exempt_loopback,
            trusted_proxies: settings.trusted_proxies.clone(),
            graphql: limiters(&settings.graphql),
            auth: limiters(&settings.auth),
            static_files: limiters(&settings.static_files),
            clock: DefaultClock::default(),
            checked: AtomicU64::new(0),
            warned_no_address: AtomicBool::new(false),
        };
        if inner.graphql.is_none() && inner.auth.is_none() && inner.static_files.is_none() {
            return None;
        }
        Some(RateLimits {
            inner: Arc::new(inner),
        })
    }

    /// Counts a request to `path` with `headers` from the TCP peer `peer`; `Err` when it is
    /// past a quota (and then it counts against nothing else).
    pub fn check(
        &self,
        path: &str,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
    ) -> Result<(), Limited> {
        let inner = &*self.inner;
        let address = client_address(peer, headers, &inner.trusted_proxies);
        let route = Route::of(path);
        let limiters = match route {
            Route::Graphql => &inner.graphql,
            Route::Auth => &inner.auth,
            Route::StaticFiles => &inner.static_files,
            Route::Probe => &None,
        };
        let Some(limiters) = limiters else {
            return Ok(());
        };
        if inner.exempt_loopback && address.is_some_and(|a| a.is_loopback()) {
            return Ok(());
        }
        if inner.checked.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            inner.sweep();
        }
        let Some(caller) = Caller::of(headers, address) else {
            if !inner.warned_no_address.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "a request came without the client's address, so anonymous requests are not \
                     rate limited: serve the router with into_make_service_with_connect_info"
                );
            }
            return Ok(());
        };
        let refused = |not_until: governor::NotUntil<_>| Limited {
            route,
            retry_after: not_until.wait_time_from(inner.clock.now()),
        };
        if let Some(address) = address {
            limiters.addresses.check_key(&address).map_err(refused)?;
        }
        limiters.callers.check_key(&caller).map_err(refused)
    }
}

impl Inner {
    fn sweep(&self) {
        for limiters in [&self.graphql, &self.auth, &self.static_files]
            .into_iter()
            .flatten()
        {
            limiters.callers.retain_recent();
            limiters.callers.shrink_to_fit();
            limiters.addresses.retain_recent();
            limiters.addresses.shrink_to_fit();
        }
    }
}

/// `router` with the rate limits of `settings` in front of every route.
pub fn apply(router: Router, settings: &RateLimitSettings) -> Router {
    match RateLimits::new(settings) {
        Some(limits) => router.layer(axum::middleware::from_fn_with_state(limits, limit)),
        None => router,
    }
}

async fn limit(State(limits): State<RateLimits>, request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    match limits.check(request.uri().path(), request.headers(), peer) {
        Ok(()) => next.run(request).await,
        Err(limited) => {
            // Debug, not info: a flood of refusals must not flood the log (the counter counts).
            tracing::debug!(route = ?limited.route, ?peer, "rate limited");
            metrics::counter!("bff_rate_limited_total", "route" => limited.route.as_str())
                .increment(1);
            limited.into_response()
        }
    }
}

impl Route {
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Graphql => "graphql",
            Route::Auth => "auth",
            Route::StaticFiles => "static_files",
            Route::Probe => "probe",
        }
    }
}

impl Limited {
    /// Whole seconds to wait, at least one.
    pub fn retry_after_secs(&self) -> u64 {
        let d = self.retry_after;
        (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
    }

    fn message(&self) -> String {
        let secs = self.retry_after_secs();
        let unit = if secs == 1 { "second" } else { "seconds" };
        format!("too many requests from this client; try again in {secs} {unit}")
    }
}

impl IntoResponse for Limited {
    fn into_response(self) -> Response {
        let message = self.message();
        let (content_type, mut body) = match self.route {
            Route::Graphql => (
                "application/json; charset=utf-8",
                serde_json::json!({
                    "errors": [{
                        "message": message,
                        "extensions": {
                            "code": "RATE_LIMITED",
                            "retryAfter": self.retry_after_secs(),
                        },
                    }],
                }),
            ),
            _ => (
                "application/problem+json",
                serde_json::json!({
                    "type": "about:blank",
                    "title": "Too Many Requests",
                    "status": 429,
                    "detail": message,
                }),
            ),
        };
        crate::request_id::tag_errors(&mut body);
        if let (Some(id), Some(problem)) = (crate::request_id::current(), body.as_object_mut()) {
            if !problem.contains_key("errors") {
                problem.insert("requestId".into(), serde_json::Value::String(id));
            }
        }
        let mut response = (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::CONTENT_TYPE, content_type)],
            body.to_string(),
        )
            .into_response();
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(self.retry_after_secs()),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).expect("valid"));
        }
        map
    }

    #[test]
    fn the_caller_is_the_session_then_the_token_then_the_address() {
        let address: IpAddr = "192.0.2.7".parse().expect("ip");
        let session = headers(&[
            (header::COOKIE, "theme=dark; mall_session=abc"),
            (header::AUTHORIZATION, "Bearer t"),
        ]);
        assert!(matches!(
            Caller::of(&session, Some(address)),
            Some(Caller::Session(_))
        ));
        let token = headers(&[(header::AUTHORIZATION, "bearer t")]);
        assert!(matches!(
            Caller::of(&token, Some(address)),
            Some(Caller::Token(_))
        ));
        assert_eq!(
            Caller::of(&HeaderMap::new(), Some(address)),
            Some(Caller::Address(address))
        );
        assert_eq!(Caller::of(&HeaderMap::new(), None), None);
    }

    #[test]
    fn routes_are_told_apart_by_path() {
        assert_eq!(Route::of("/graphql"), Route::Graphql);
        assert_eq!(Route::of("/graphql/ws"), Route::Graphql);
        assert_eq!(Route::of("/auth/login"), Route::Auth);
        assert_eq!(
            Route::of("/graphql/assets/graphiql.min.js"),
            Route::StaticFiles
        );
        assert_eq!(Route::of("/index.html"), Route::StaticFiles);
        assert_eq!(Route::of("/healthz"), Route::Probe);
    }

    #[test]
    fn past_the_burst_the_caller_waits_and_others_do_not() {
        let settings = RateLimitSettings {
            exempt_loopback: false,
            graphql: RouteLimit {
                enabled: true,
                burst: 3,
                per_minute: 1,
            },
            ..RateLimitSettings::default()
        };
        let limits = RateLimits::new(&settings).expect("limits");
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let b: IpAddr = "192.0.2.2".parse().expect("ip");
        for _ in 0..3 {
            limits
                .check("/graphql", &HeaderMap::new(), Some(a))
                .expect("within the burst");
        }
        let limited = limits
            .check("/graphql", &HeaderMap::new(), Some(a))
            .expect_err("past the burst");
        assert!(limited.retry_after_secs() >= 1);
        limits
            .check("/graphql", &HeaderMap::new(), Some(b))
            .expect("another address has its own quota");
        limits
            .check("/healthz", &HeaderMap::new(), Some(a))
            .expect("probes are never limited");
        limits
            .check("/index.html", &HeaderMap::new(), Some(a))
            .expect("files are exempt by default");
    }

    #[test]
    fn behind_trusted_proxies_the_client_is_what_they_appended() {
        let trusted: Vec<ipnet::IpNet> = vec![
            "10.0.0.0/8".parse().expect("net"),
            "127.0.0.1/32".parse().expect("net"),
        ];
        let ip = |s: &str| -> IpAddr { s.parse().expect("ip") };
        let forwarded =
            |v: &str| headers(&[(header::HeaderName::from_static("x-forwarded-for"), v)]);
        // A direct client: its own address, whatever it claims.
        assert_eq!(
            client_address(Some(ip("192.0.2.9")), &forwarded("198.51.100.1"), &trusted),
            Some(ip("192.0.2.9"))
        );
        // Through two proxies; the client's own claim (leftmost) is not believed.
        assert_eq!(
            client_address(
                Some(ip("127.0.0.1")),
                &forwarded("6.6.6.6, 192.0.2.7, 10.1.1.1"),
                &trusted
            ),
            Some(ip("192.0.2.7"))
        );
        // A proxy that appended nothing: the proxy itself.
        assert_eq!(
            client_address(Some(ip("10.2.2.2")), &HeaderMap::new(), &trusted),
            Some(ip("10.2.2.2"))
        );
    }

    #[test]
    fn invented_sessions_still_count_against_their_address() {
        let settings = RateLimitSettings {
            exempt_loopback: false,
            address_factor: 2,
            graphql: RouteLimit {
                enabled: true,
                burst: 2,
                per_minute: 1,
            },
            ..RateLimitSettings::default()
        };
        let limits = RateLimits::new(&settings).expect("limits");
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let refused = (0..10)
            .filter(|i| {
                let cookie = format!("mall_session=invented-{i}");
                limits
                    .check("/graphql", &headers(&[(header::COOKIE, &cookie)]), Some(a))
                    .is_err()
            })
            .count();
        assert_eq!(refused, 6, "the address's quota is twice a caller's burst");
    }
}
