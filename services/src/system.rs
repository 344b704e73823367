//! Starting and stopping services: each role's HTTP server, outbox relay and consumer, on a
//! shared event bus. [`System::start`] runs any set of roles in this process.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::access::ServiceAuth;
use crate::bus::embedded::EmbeddedBus;
use crate::bus::EventBus;
use crate::consumer::{self, ConsumerSettings, Handler, Progress};
use crate::context::Ctx;
use crate::problem::AppError;
use crate::retention::{self, Retention};
use crate::role::Role;
use crate::store::postgres::PostgresStore;
use crate::store::sqlite::SqliteStore;
use crate::store::{self, Store};
use crate::urls::Urls;
use crate::{delivery, mypage, ops, order, problem, product, relay};

#[derive(Debug, thiserror::Error)]
pub enum SystemError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the {role} store: {source}")]
    Store {
        role: Role,
        #[source]
        source: store::StoreError,
    },
    #[error("cannot open the event bus: {0}")]
    Bus(#[from] crate::bus::BusError),
    #[error("cannot listen on {addr} for the {role} service: {source}")]
    Bind {
        role: Role,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Where the services keep their documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// One SQLite file per service in the data directory.
    Embedded,
    /// A PostgreSQL database shared by the services, one schema each (`<prefix><role>`).
    Postgres { url: String, schema_prefix: String },
}

/// What to start.
#[derive(Debug, Clone)]
pub struct SystemConfig {
    /// Where the stores (and the embedded bus) keep their files.
    pub data_dir: PathBuf,
    pub database: Database,
    pub roles: Vec<Role>,
    /// Address to listen on.
    pub host: IpAddr,
    /// Port per role; a role missing here gets its course port, 0 means any free port.
    pub ports: HashMap<Role, u16>,
    /// Public base URLs for links; roles not started here (and unset ones) default to the
    /// address they listen on or their course port on 127.0.0.1.
    pub public_urls: Option<Urls>,
    /// Roles whose consumer does not start (until [`System::resume_consumer`]).
    pub paused_consumers: Vec<Role>,
    /// Roles whose outbox relay does not start (until [`System::resume_relay`]).
    pub paused_relays: Vec<Role>,
    /// How long the stores keep idempotency keys (and what else they prune).
    pub retention: Retention,
    /// The consumers' attempts before dead-lettering an event.
    pub consumers: ConsumerSettings,
    /// Who may call the services: the BFF's signed tokens checked (the `mall` binary), or
    /// nothing checked (the library's tests).
    pub auth: ServiceAuth,
}

impl SystemConfig {
    /// Every role on the course ports, data under `data_dir`.
    pub fn all(data_dir: impl Into<PathBuf>) -> SystemConfig {
        SystemConfig {
            data_dir: data_dir.into(),
            database: Database::Embedded,
            roles: Role::ALL.to_vec(),
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            ports: HashMap::new(),
            public_urls: None,
            paused_consumers: vec![],
            paused_relays: vec![],
            retention: Retention::default(),
            consumers: ConsumerSettings::default(),
            auth: ServiceAuth::Open,
        }
    }

    /// Every role on free ports of 127.0.0.1 (tests).
    pub fn ephemeral(data_dir: impl Into<PathBuf>) -> SystemConfig {
        let mut c = SystemConfig::all(data_dir);
        c.ports = Role::ALL.into_iter().map(|r| (r, 0)).collect();
        c
    }
}

struct Running {
    ctx: Ctx,
    consumers: ConsumerSettings,
    server: JoinHandle<()>,
    pruner: JoinHandle<()>,
    relay: Option<JoinHandle<()>>,
    consumer: Option<JoinHandle<()>>,
    progress: Arc<Progress>,
}

/// A set of running services.
pub struct System {
    pub urls: Urls,
    pub bus: Arc<dyn EventBus>,
    roles: HashMap<Role, Running>,
    log_pruner: JoinHandle<()>,
    shutdown: watch::Sender<bool>,
}

/// Opens the embedded bus for a data directory.
pub fn open_embedded_bus(data_dir: &std::path::Path) -> Result<Arc<dyn EventBus>, SystemError> {
    std::fs::create_dir_all(data_dir).map_err(|source| SystemError::DataDir {
        path: data_dir.to_owned(),
        source,
    })?;
    Ok(Arc::new(EmbeddedBus::open(&data_dir.join("bus.db"))?))
}

/// Opens a role's store as `config` says (also for tools such as `mall dlq`).
pub async fn open_store(config: &SystemConfig, role: Role) -> Result<Arc<dyn Store>, SystemError> {
    let store: Arc<dyn Store> = match &config.database {
        Database::Embedded => {
            let path = config.data_dir.join(format!("{}.db", role.name()));
            Arc::new(
                SqliteStore::open(&path).map_err(|source| SystemError::Store { role, source })?,
            )
        }
        Database::Postgres { url, schema_prefix } => {
            let (url, schema) = (url.clone(), format!("{schema_prefix}{}", role.name()));
            let store = tokio::task::spawn_blocking(move || PostgresStore::open(&url, &schema))
                .await
                .map_err(|e| SystemError::Store {
                    role,
                    source: store::StoreError::Task(e.to_string()),
                })?
                .map_err(|source| SystemError::Store { role, source })?;
            Arc::new(store)
        }
    };
    Ok(store)
}

/// A role's consumer name and policy; `None` for a role that consumes nothing.
pub fn policy(role: Role) -> Option<(&'static str, Handler)> {
    match role {
        Role::Order => None,
        Role::Delivery => Some((delivery::CONSUMER, delivery::policy())),
        Role::Product => Some((product::CONSUMER, product::policy())),
        Role::Mypage => Some((mypage::CONSUMER, mypage::policy())),
    }
}

fn routes(role: Role, ctx: Ctx) -> Router {
    match role {
        Role::Order => order::http::router(ctx),
        Role::Delivery => delivery::http::router(ctx),
        Role::Product => product::http::router(ctx),
        Role::Mypage => mypage::http::router(ctx),
    }
}

/// A role's whole HTTP surface: its REST API, the operations endpoints, metrics, limits
/// and problem documents for unknown routes and methods.
pub fn app(
    role: Role,
    ctx: Ctx,
    bus: Arc<dyn EventBus>,
    progress: Arc<Progress>,
    auth: &ServiceAuth,
) -> Router {
    let store = Arc::clone(&ctx.store);
    let ready: ops::ReadyCheck = Arc::new(move || {
        let (store, bus, progress) = (Arc::clone(&store), Arc::clone(&bus), Arc::clone(&progress));
        Box::pin(async move {
            tokio::task::spawn_blocking(move || store.ping())
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("store: {e}"))?;
            bus.ping().await.map_err(|e| format!("event bus: {e}"))?;
            if policy(role).is_some() && !progress.caught_up() {
                return Err("still catching up with the event log".into());
            }
            Ok(())
        })
    });
    routes(role, ctx)
        .merge(ops::router(ready))
        .fallback(|| async {
            AppError::NotFound("no such resource; `GET /` lists what this service offers".into())
        })
        // 405 with the `Allow` header axum fills in; `problem::uniform` writes the problem.
        .method_not_allowed_fallback(|| async { axum::http::StatusCode::METHOD_NOT_ALLOWED })
        .layer(axum::middleware::from_fn_with_state(
            auth.for_role(role),
            crate::access::resolve,
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            problem::MAX_BODY_BYTES,
        ))
        .layer(axum::middleware::from_fn(problem::uniform))
        .layer(axum::middleware::from_fn_with_state(
            role.name(),
            ops::track,
        ))
}

impl System {
    /// Opens the stores, seeds the catalogue, binds every role's listener, then starts the
    /// servers, relays and consumers on the embedded bus of `config.data_dir`.
    pub async fn start(config: SystemConfig) -> Result<System, SystemError> {
        let bus = open_embedded_bus(&config.data_dir)?;
        System::start_with_bus(config, bus).await
    }

    /// As [`System::start`], on a given bus.
    pub async fn start_with_bus(
        config: SystemConfig,
        bus: Arc<dyn EventBus>,
    ) -> Result<System, SystemError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| SystemError::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
        let mut listeners = Vec::new();
        let mut urls = config.public_urls.clone().unwrap_or_default();
        for &role in &config.roles {
            let port = config
                .ports
                .get(&role)
                .copied()
                .unwrap_or(role.default_port());
            let addr = SocketAddr::new(config.host, port);
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| SystemError::Bind { role, addr, source })?;
            let local =
                listener
                    .local_addr()
                    .map_err(|source| SystemError::Bind { role, addr, source })?;
            if config.public_urls.is_none() {
                let host = if local.ip().is_unspecified() {
                    IpAddr::V4(Ipv4Addr::LOCALHOST)
                } else {
                    local.ip()
                };
                let url = format!("http://{}", SocketAddr::new(host, local.port()));
                urls.set(role, url);
            }
            listeners.push((role, listener));
        }
        let urls = Arc::new(urls.normalised());
        let (shutdown, _) = watch::channel(false);
        let mut roles = HashMap::new();
        for (role, listener) in listeners {
            let store = open_store(&config, role).await?;
            if role == Role::Product {
                store::transact(&store, |tx| product::seed(tx))
                    .await
                    .map_err(|source| SystemError::Store { role, source })?;
            }
            let ctx = Ctx {
                store,
                urls: Arc::clone(&urls),
                outbox: Arc::new(Notify::new()),
                retention: config.retention,
            };
            let progress = Arc::new(Progress::default());
            let router = app(
                role,
                ctx.clone(),
                Arc::clone(&bus),
                Arc::clone(&progress),
                &config.auth,
            );
            let mut stop = shutdown.subscribe();
            let server = tokio::spawn(async move {
                let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                });
                if let Err(e) = serve.await {
                    tracing::error!(role = role.name(), error = %e, "server failed");
                }
            });
            let pruner = tokio::spawn(retention::run(
                role.name(),
                Arc::clone(&ctx.store),
                ctx.retention,
            ));
            let mut running = Running {
                ctx,
                consumers: config.consumers,
                server,
                pruner,
                relay: None,
                consumer: None,
                progress,
            };
            if !config.paused_relays.contains(&role) {
                running.relay = Some(spawn_relay(role, &running.ctx, &bus));
            }
            if !config.paused_consumers.contains(&role) {
                running.consumer = spawn_consumer(role, &running, &bus);
            }
            tracing::info!(role = role.name(), url = %role_url(&urls, role), "service started");
            roles.insert(role, running);
        }
        // Every consumer of the mall, not only those started here: the log keeps what any
        // of them has not acknowledged yet.
        let consumers = Role::ALL
            .into_iter()
            .filter_map(|r| policy(r).map(|(name, _)| name))
            .collect();
        let log_pruner = tokio::spawn(retention::run_log(
            Arc::clone(&bus),
            consumers,
            config.retention,
        ));
        Ok(System {
            urls: (*urls).clone(),
            bus,
            roles,
            log_pruner,
            shutdown,
        })
    }

    /// Starts a paused consumer; it catches up from where it stopped.
    pub fn resume_consumer(&mut self, role: Role) {
        let bus = Arc::clone(&self.bus);
        if let Some(r) = self.roles.get_mut(&role) {
            if r.consumer.is_none() {
                r.consumer = spawn_consumer(role, r, &bus);
            }
        }
    }

    /// Stops a role's consumer (as if it crashed); events wait in the log.
    pub fn pause_consumer(&mut self, role: Role) {
        if let Some(c) = self.roles.get_mut(&role).and_then(|r| r.consumer.take()) {
            c.abort();
        }
    }

    /// Starts a paused outbox relay.
    pub fn resume_relay(&mut self, role: Role) {
        let bus = Arc::clone(&self.bus);
        if let Some(r) = self.roles.get_mut(&role) {
            if r.relay.is_none() {
                r.relay = Some(spawn_relay(role, &r.ctx, &bus));
            }
        }
    }

    /// A role's store (tests and tools).
    pub fn store(&self, role: Role) -> Option<Arc<dyn Store>> {
        self.roles.get(&role).map(|r| Arc::clone(&r.ctx.store))
    }

    /// Stops everything: servers drain, background tasks end, stores close.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        self.log_pruner.abort();
        for (_, r) in self.roles.drain() {
            if let Some(t) = r.consumer {
                t.abort();
            }
            if let Some(t) = r.relay {
                t.abort();
            }
            r.pruner.abort();
            let mut server = r.server;
            if tokio::time::timeout(Duration::from_secs(5), &mut server)
                .await
                .is_err()
            {
                server.abort();
            }
        }
    }
}

/// Resolves when `ctrl-c` (or SIGTERM on Unix) arrives.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

pub fn role_url(urls: &Urls, role: Role) -> &str {
    &urls[role]
}

fn spawn_relay(role: Role, ctx: &Ctx, bus: &Arc<dyn EventBus>) -> JoinHandle<()> {
    tokio::spawn(relay::run(
        role.name(),
        Arc::clone(&ctx.store),
        Arc::clone(bus),
        Arc::clone(&ctx.outbox),
    ))
}

fn spawn_consumer(role: Role, r: &Running, bus: &Arc<dyn EventBus>) -> Option<JoinHandle<()>> {
    let (name, handler) = policy(role)?;
    Some(tokio::spawn(consumer::run(
        name,
        Arc::clone(bus),
        Arc::clone(&r.ctx.store),
        handler,
        Arc::clone(&r.ctx.outbox),
        Arc::clone(&r.progress),
        r.consumers,
    )))
}
