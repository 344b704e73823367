//! The one `mall` binary's library: which roles to run, on which bus and store, and
//! starting them (the BFF and the four domain services) in this process.
//!
//! - [`Target`]: `all` (the default) or one role per process for scale-out
//! - [`MallConfig`]: everything the flags decide
//! - [`start`]: binds, starts and returns the running [`Mall`]
//! - [`start_bff`]: the BFF alone on a given bus (what `start` runs for the BFF role)
//! - [`live`]: the services' my-page feed, handed to the BFF's subscriptions
//!
//! One file per concept: `target` (roles and bus), `bff` (starting the BFF), [`live`]
//! (the feed port); this file composes them into [`start`].

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use std::sync::Arc;

use mall_services::access::{Keys, ServiceAuth};
use mall_services::bus::nats::NatsBus;
use mall_services::bus::EventBus;
use mall_services::{Database, Role, System, SystemConfig};

mod bff;
pub mod live;
mod target;

pub use bff::{bind_bff, serve_bff, settings, start_bff, BffProcess, BoundBff, FIRST_STAFF_EMAIL};
pub use target::{BusChoice, Target};

/// The JetStream stream that holds the mall's event log.
pub const NATS_STREAM: &str = "MALL";

/// The port of the BFF and the static files (the course's gateway port).
pub const BFF_PORT: u16 = 8088;

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
