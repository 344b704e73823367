//! The one `mall` binary's library: which roles to run, on which bus and store, and
//! starting them (the BFF and the four domain services) in this process.
//!
//! - [`Target`]: `all` (the default) or one role per process for scale-out
//! - [`MallConfig`]: everything the flags decide
//! - [`start`]: binds, starts and returns the running [`Mall`]
//! - [`start_bff`]: the BFF alone on a given bus (what `start` runs for the BFF role)
//! - [`live`]: the services' my-page feed, handed to the BFF's subscriptions

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::str::FromStr;

use std::sync::Arc;

use mall_services::access::{Keys, ServiceAuth};
use mall_services::bus::nats::NatsBus;
use mall_services::bus::EventBus;
use mall_services::{Database, Role, System, SystemConfig};

pub use bff::{bind_bff, serve_bff, settings, start_bff, BffProcess, BoundBff, FIRST_STAFF_EMAIL};

/// The JetStream stream that holds the mall's event log.
pub const NATS_STREAM: &str = "MALL";

/// The port of the BFF and the static files (the course's gateway port).
pub const BFF_PORT: u16 = 8088;

/// What one process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Every role in one process, on the embedded bus and stores.
    All,
    Bff,
    Service(Role),
}

impl FromStr for Target {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "all" => Ok(Target::All),
            "bff" => Ok(Target::Bff),
            other => other.parse().map(Target::Service).map_err(|_| {
                format!(
                    "unknown target `{other}`; expected all, bff, order, delivery, product or mypage"
                )
            }),
        }
    }
}

/// Which event bus to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusChoice {
    Embedded,
    Nats(String),
}

impl FromStr for BusChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "embedded" {
            Ok(BusChoice::Embedded)
        } else if s.starts_with("nats://") {
            Ok(BusChoice::Nats(s.to_owned()))
        } else {
            Err(format!(
                "unknown bus `{s}`; use `embedded` or a NATS URL such as nats://127.0.0.1:4222"
            ))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MallError {
    #[error(
        "the `{0}` role alone needs an event bus that reaches the other processes, and the \
         embedded bus lives inside one process. Run every role together with `--target all` \
         (the default), or give a shared bus with `--bus nats://HOST:4222`"
    )]
    EmbeddedBusAlone(Role),
    #[error("cannot connect to the event bus: {0}")]
    Bus(#[from] mall_services::bus::BusError),
    #[error(transparent)]
    Services(#[from] mall_services::system::SystemError),
    #[error("cannot start the BFF: {0}")]
    Bff(String),
}

/// Everything the flags decide.
///
/// One precedence for every setting: a flag (or the variable named beside it in `mall
/// --help`) over the environment's `MALL_BFF__<PATH>` over the `--bff-config` file over the
/// default. [`mall_bff::BffConfig::load`] layers the file and the environment into
/// [`MallConfig::bff`]; the flags here go over it when the BFF starts.
#[derive(Debug, Clone)]
pub struct MallConfig {
    pub target: Target,
    pub data_dir: PathBuf,
    /// `--dist` (or MALL_DIST), when given: the BFF's static directory, over the settings'
    /// `static_dir`.
    pub dist_dir: Option<PathBuf>,
    pub host: IpAddr,
    pub bus: BusChoice,
    pub database: Database,
    /// Ports of the services and the BFF; 0 for any free port (tests).
    pub ports: Ports,
    /// The services' URLs given by flags (`--order-url`…): the public URLs of the services
    /// run here (their links; the others then keep their course URL) and the BFF's
    /// upstreams, over its settings. A service not named here is reached where this process
    /// listens, or at its course URL.
    pub urls: BTreeMap<Role, String>,
    /// The BFF's settings: the file and the environment, layered by
    /// [`mall_bff::BffConfig::load`]. An upstream URL they do not name is the service's in
    /// this process, if it runs here.
    pub bff: mall_bff::BffConfig,
    /// How long the services' stores keep idempotency keys.
    pub retention: mall_services::retention::Retention,
    /// The services' consumers: attempts before an event is dead-lettered.
    pub consumers: mall_services::consumer::ConsumerSettings,
    /// The shop's public URL (cookies, token issuer, OpenID callback); unset: where the
    /// BFF listens.
    pub public_url: Option<String>,
    /// Where services of this process fetch the BFF's token keys when the BFF runs in
    /// another process (`<bff_url>/auth/jwks.json`).
    pub bff_url: String,
}

/// The BFF's port and each service's.
#[derive(Debug, Clone)]
pub struct Ports {
    pub bff: u16,
    /// A role missing here listens on its course port.
    pub services: BTreeMap<Role, u16>,
}

impl Ports {
    pub fn course() -> Ports {
        Ports {
            bff: BFF_PORT,
            services: Role::ALL.map(|r| (r, r.default_port())).into(),
        }
    }

    pub fn any() -> Ports {
        Ports {
            bff: 0,
            services: Role::ALL.map(|r| (r, 0)).into(),
        }
    }

    fn of(&self, role: Role) -> u16 {
        self.services
            .get(&role)
            .copied()
            .unwrap_or(role.default_port())
    }
}

impl Default for MallConfig {
    fn default() -> Self {
        MallConfig {
            target: Target::All,
            data_dir: PathBuf::from("data"),
            dist_dir: None,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            bus: BusChoice::Embedded,
            database: Database::Embedded,
            ports: Ports::course(),
            urls: BTreeMap::new(),
            bff: mall_bff::BffConfig::default(),
            retention: Default::default(),
            consumers: Default::default(),
            public_url: None,
            bff_url: format!("http://127.0.0.1:{BFF_PORT}"),
        }
    }
}

/// A running mall process.
pub struct Mall {
    pub services: Option<System>,
    /// Where the BFF (and the shop page) answers, if this process runs it.
    pub bff_url: Option<String>,
    /// The BFF, if this process runs it.
    pub bff: Option<BffProcess>,
}

/// Where the identity store lives: beside the services' stores (SQLite in the data
/// directory, or schema `<prefix>identity` of the shared PostgreSQL).
pub fn identity_store(config: &MallConfig) -> mall_auth::store::StoreLocation {
    use mall_auth::store::StoreLocation;
    match &config.database {
        Database::Embedded => StoreLocation::Embedded(config.data_dir.clone()),
        Database::Postgres { url, schema_prefix } => StoreLocation::Postgres {
            url: url.clone(),
            schema: format!("{schema_prefix}identity"),
        },
    }
}

/// The BFF's identity core: accounts, sessions and the signing key (blocking store open,
/// on a blocking thread).
pub async fn open_auth(
    config: &MallConfig,
    public_url: &str,
) -> Result<mall_auth::http::AuthState, MallError> {
    let location = identity_store(config);
    let settings = config.bff.auth.clone();
    let url = public_url.to_owned();
    tokio::task::spawn_blocking(move || {
        mall_auth::http::AuthState::open(&location, &settings, &url)
    })
    .await
    .map_err(|e| MallError::Bff(e.to_string()))?
    .map_err(|e| MallError::Bff(e.to_string()))
}

impl Mall {
    pub async fn stop(self) {
        if let Some(b) = self.bff {
            b.stop().await;
        }
        if let Some(s) = self.services {
            s.stop().await;
        }
    }
}

/// Checks the combination of flags and starts what the target asks for.
pub async fn start(config: MallConfig) -> Result<Mall, MallError> {
    // The process's one Prometheus recorder, before any role records anything; every role's
    // `/metrics` renders it.
    mall_services::ops::prometheus();
    let roles: Vec<Role> = match config.target {
        Target::All => Role::ALL.to_vec(),
        Target::Bff => vec![],
        Target::Service(role) => vec![role],
    };
    if let (BusChoice::Embedded, Target::Service(role)) = (&config.bus, config.target) {
        return Err(MallError::EmbeddedBusAlone(role));
    }
    let bus: Option<Arc<dyn EventBus>> = match &config.bus {
        BusChoice::Nats(url) => Some(Arc::new(NatsBus::connect(url, NATS_STREAM).await?)),
        BusChoice::Embedded if roles.is_empty() => None,
        BusChoice::Embedded => Some(mall_services::system::open_embedded_bus(&config.data_dir)?),
    };
    let bound = match config.target {
        Target::All | Target::Bff => Some(bind_bff(&config).await?),
        Target::Service(_) => None,
    };
    let services = if roles.is_empty() {
        None
    } else {
        let mut sc = SystemConfig::all(&config.data_dir);
        sc.roles = roles;
        sc.host = config.host;
        sc.ports = Role::ALL
            .into_iter()
            .map(|r| (r, config.ports.of(r)))
            .collect();
        sc.public_urls =
            (!config.urls.is_empty()).then(|| config.urls.clone().into_iter().collect());
        sc.database = config.database.clone();
        sc.retention = config.retention;
        sc.consumers = config.consumers;
        sc.auth = service_auth(&config, bound.as_ref());
        let bus = bus.clone().expect("a bus is opened whenever services run");
        Some(System::start_with_bus(sc, bus).await?)
    };
    // The services of this process are the BFF's upstreams unless a flag or its settings
    // name others (`bff::settings`).
    let upstreams = services
        .as_ref()
        .map(|s| s.urls.clone())
        .unwrap_or_default();
    let bff = match bound {
        Some(bound) => Some(serve_bff(&config, bound, upstreams, bus).await?),
        None => None,
    };
    Ok(Mall {
        services,
        bff_url: bff.as_ref().map(|b| b.url.clone()),
        bff,
    })
}

/// How this process's services check the BFF's tokens: with its keys at hand when the BFF
/// runs here, else fetched from `<bff_url>/auth/jwks.json`.
fn service_auth(config: &MallConfig, bff: Option<&BoundBff>) -> ServiceAuth {
    match bff {
        Some(b) => ServiceAuth::Verify {
            keys: Keys::Fixed(b.auth.issuer.key().jwks()),
            issuer: b.auth.issuer.issuer().to_owned(),
        },
        None => {
            let bff_url = config.bff_url.trim_end_matches('/');
            let issuer = config.bff.auth.tokens.issuer.clone();
            let issuer = if issuer == mall_auth::token::DEFAULT_ISSUER {
                config
                    .public_url
                    .clone()
                    .unwrap_or_else(|| bff_url.to_owned())
            } else {
                issuer
            };
            ServiceAuth::Verify {
                keys: Keys::Remote {
                    jwks_url: format!("{bff_url}/auth/jwks.json"),
                    settings: config.bff.auth.jwks.clone(),
                },
                issuer: issuer.trim_end_matches('/').to_owned(),
            }
        }
    }
}

pub mod live {
    //! The services' [`MyPageFeed`] as the BFF's [`LiveFeed`] port: the one place that knows
    //! both crates' my-page rows.

    use futures::stream::BoxStream;
    use futures::StreamExt;
    use mall_bff::live::{LiveFeed, LiveItem};
    use mall_bff::model::MyPageRow;
    use mall_services::mypage::feed::{FeedItem, MyPageFeed};

    /// Adapts the feed; cheap to clone, like the feed.
    #[derive(Clone)]
    pub struct FeedPort(pub MyPageFeed);

    impl LiveFeed for FeedPort {
        fn subscribe(&self, customer_id: &str) -> BoxStream<'static, LiveItem> {
            self.0
                .subscribe(customer_id)
                .map(|item| match item {
                    FeedItem::Changed(change) => LiveItem::Changed(row(change.row)),
                    FeedItem::Lagged => LiveItem::Lagged,
                })
                .boxed()
        }
    }

    fn row(r: mall_services::mypage::MyPageRow) -> MyPageRow {
        MyPageRow {
            order_id: r.order_id,
            customer_id: r.customer_id,
            product_id: r.product_id,
            product_name: r.product_name,
            quantity: r.quantity,
            price: r.price,
            order_status_text: r.order_status.unwrap_or_default(),
            delivery_id: r.delivery_id,
            delivery_status_text: r.delivery_status,
        }
    }
}

mod bff {
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
}
