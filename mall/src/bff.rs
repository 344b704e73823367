//! Starting the BFF on its port.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mall_bff::upstream::Upstream;
use mall_services::bus::EventBus;
use mall_services::mypage::feed::MyPageFeed;
use mall_services::Urls;
use tokio::net::TcpListener;

use super::{MallConfig, MallError};
use mall_auth::http::oidc::OidcLogin;
use mall_auth::http::AuthState;
use mall_auth::identity::BootstrapStaff;

/// The first staff account's email (its password is random, printed once).
pub const FIRST_STAFF_EMAIL: &str = "staff@12st.example";

/// Deletes long-ended sessions now and then.
fn spawn_session_purge(auth: AuthState) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            if let Err(e) = auth.identity.purge_sessions().await {
                tracing::warn!(error = %e, "ended sessions not purged");
            }
        }
    });
}

/// A running BFF.
pub struct BffProcess {
    /// Where it answers (`http://HOST:PORT`).
    pub url: String,
    /// The my-page feed of its subscriptions (one bus subscription), when it has a bus.
    pub feed: Option<MyPageFeed>,
    /// The staff account made on this first start, with its password: print it once.
    /// `None` on every later start.
    pub first_staff: Option<BootstrapStaff>,
    bff: mall_bff::Bff,
    handle: tokio::task::JoinHandle<()>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl BffProcess {
    /// Accounts, sessions and the key of the tokens this BFF signs.
    pub fn auth(&self) -> &AuthState {
        self.bff.auth()
    }

    /// Closes the subscription connections (1001, so clients reconnect), then drains
    /// the requests in flight.
    pub async fn stop(self) {
        self.bff.close_subscriptions();
        let _ = self.stop.send(true);
        if tokio::time::timeout(Duration::from_secs(5), self.handle)
            .await
            .is_err()
        {
            tracing::warn!("the BFF did not drain in time");
        }
    }
}

/// Starts the BFF on `config.ports.bff` in front of `upstreams` (where the BFF's
/// settings and flags name no other URL, see [`settings`]). With a bus, its
/// `myPage` subscription is fed by one bus subscription for the whole process.
pub async fn start_bff(
    config: &MallConfig,
    upstreams: Urls,
    bus: Option<Arc<dyn EventBus>>,
) -> Result<BffProcess, MallError> {
    let bound = bind_bff(config).await?;
    serve_bff(config, bound, upstreams, bus).await
}

/// The BFF's listener, bound, and its identity core opened: what the services of the
/// same process need first (the keys their tokens are checked with).
pub struct BoundBff {
    listener: TcpListener,
    url: String,
    public_url: String,
    pub auth: AuthState,
}

/// Binds the BFF's port and opens its identity store.
pub async fn bind_bff(config: &MallConfig) -> Result<BoundBff, MallError> {
    // One Prometheus recorder per process, installed before anything records: the
    // services' (already installed when services run here) renders the BFF's and the
    // feed's metrics too, and the BFF installs none of its own (see `build`).
    mall_services::ops::prometheus();
    let addr = SocketAddr::new(config.host, config.ports.bff);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| MallError::Bff(format!("cannot listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| MallError::Bff(e.to_string()))?;
    let host = if local.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        local.ip().to_string()
    };
    let url = format!("http://{host}:{}", local.port());
    let public_url = config.public_url.clone().unwrap_or_else(|| url.clone());
    let auth = super::open_auth(config, &public_url).await?;
    Ok(BoundBff {
        listener,
        url,
        public_url,
        auth,
    })
}

/// Serves the bound BFF in front of `upstreams`.
pub async fn serve_bff(
    config: &MallConfig,
    bound: BoundBff,
    upstreams: Urls,
    bus: Option<Arc<dyn EventBus>>,
) -> Result<BffProcess, MallError> {
    let BoundBff {
        listener,
        url,
        public_url,
        auth,
    } = bound;
    let first_staff = auth
        .identity
        .bootstrap_staff(FIRST_STAFF_EMAIL)
        .await
        .map_err(|e| MallError::Bff(format!("cannot make the first staff account: {e}")))?;
    let mut extra = axum::Router::new();
    let mut auth = auth;
    if let Some(oidc) = config.bff.auth.oidc.clone() {
        let http = reqwest::Client::new();
        let verifier = oidc
            .verifier(http)
            .await
            .map_err(|e| MallError::Bff(format!("[auth.oidc]: {e}")))?;
        auth = auth
            .accept_bearer(verifier)
            .offer_sign_in_with(&oidc.display_name());
        let login = OidcLogin::discover(oidc, &public_url)
            .await
            .map_err(|e| MallError::Bff(format!("[auth.oidc]: {e}")))?;
        extra = mall_auth::http::oidc::router(auth.clone(), login);
    }
    spawn_session_purge(auth.clone());
    let feed = match bus {
        Some(bus) => Some(MyPageFeed::start(bus).await?),
        None => None,
    };
    let mut bff = build(config, upstreams, auth).await?;
    if let Some(feed) = &feed {
        bff = bff.with_live_feed(Arc::new(super::live::FeedPort(feed.clone())));
    }
    let router = bff.clone().router_with(extra);
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let handle = tokio::spawn(async move {
        // The peer's address keys the rate limits of anonymous callers.
        let router = router.into_make_service_with_connect_info::<SocketAddr>();
        let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|s| *s).await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "BFF server failed");
        }
    });
    Ok(BffProcess {
        url,
        first_staff,
        feed,
        bff,
        handle,
        stop,
    })
}

/// The BFF's settings as this process runs them, by the one precedence (flag >
/// environment > file > default): `config.bff` holds the file and the environment; the
/// flags go over it (`--dist`, `--<service>-url`); an upstream that none of them names is
/// the one in `services` (the services of this process, or their course URLs). A
/// `--bff-config` file's `[urls]` are honoured even where this process runs the service
/// (the BFF may front another implementation of it); a warning at start says so.
pub fn settings(config: &MallConfig, services: &Urls) -> mall_bff::BffConfig {
    let mut bff = config.bff.clone();
    if let Some(dist) = &config.dist_dir {
        bff.static_dir = dist.clone();
    }
    for (role, url) in services.iter() {
        let Some(upstream) = Upstream::ALL
            .into_iter()
            .find(|u| u.as_str() == role.name())
        else {
            continue;
        };
        if let Some(flag) = config.urls.get(&role) {
            bff.urls.set(upstream, flag.clone());
        } else if let Some(named) = bff.urls.named(upstream) {
            if named.trim_end_matches('/') != url {
                tracing::warn!(
                    upstream = %upstream,
                    url = named,
                    in_this_process = url,
                    "the BFF calls this upstream where its settings say, not the service \
                     of this process"
                );
            }
        } else {
            bff.urls.set(upstream, url);
        }
    }
    bff
}

async fn build(
    config: &MallConfig,
    upstreams: Urls,
    auth: AuthState,
) -> Result<mall_bff::Bff, MallError> {
    let bff = settings(config, &upstreams);
    let metrics = mall_services::ops::prometheus().clone();
    mall_bff::Bff::new_with_metrics(bff, auth, metrics)
        .await
        .map_err(|e| MallError::Bff(e.to_string()))
}
