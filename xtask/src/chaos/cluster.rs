//! The deployments the chaos run attacks, each in a temporary directory of its own:
//! - [`Layout::Embedded`]: one `mall` process (every role, SQLite stores, embedded bus);
//! - [`Layout::Roles`]: one process per role (the BFF, order, two delivery replicas,
//!   product, mypage) on PostgreSQL (a database made for the run) and NATS JetStream (a
//!   server started for the run, so its `MALL` stream is the run's own), each service
//!   behind a [`Proxy`] that the BFF and the services' links go through.
//!
//! Each process listens on the course ports of a loopback address of its own
//! (127.x.y.z), so a restart comes back at the same address without fixed free ports.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use mall_services::bus::nats::NatsBus;
use mall_services::bus::EventBus;
use mall_services::{Database, Role, SystemConfig};

use super::process::{NotUp, Probe, Process};
use super::proxy::Proxy;
use super::rng::Rng;

/// The BFF's port (`mall::BFF_PORT`, the course's gateway port).
const BFF_PORT: u16 = 8088;
/// The JetStream stream of the mall's log (`mall::NATS_STREAM`).
const NATS_STREAM: &str = "MALL";
/// The schema prefix `mall --database` uses.
const SCHEMA_PREFIX: &str = "mall_";
/// The PostgreSQL server the scale-out layout runs on (trust authentication).
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";
/// How long a (re)started process may take to answer.
const READY_WITHIN: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Embedded,
    Roles,
}

impl Layout {
    pub fn describe(self) -> &'static str {
        match self {
            Layout::Embedded => "one `mall` process (embedded stores and bus)",
            Layout::Roles => {
                "one process per role (BFF, order, 2 delivery replicas, product, mypage) on PostgreSQL and NATS JetStream"
            }
        }
    }
}

/// One of the run's `mall` processes and the role it plays (`None`: the BFF, or all).
#[derive(Debug)]
pub struct Member {
    pub role: Option<Role>,
    pub process: Process,
}

pub struct Cluster {
    /// The BFF's URL.
    pub bff: String,
    pub members: Vec<Member>,
    pub proxies: HashMap<Role, Proxy>,
    /// Processes that exited on start (and were started again), with their error.
    pub exits_on_start: Vec<String>,
    stores: SystemConfig,
    nats: Option<(Process, String)>,
    database: Option<String>,
    http: reqwest::Client,
    // Last: the directory goes after the processes that write into it.
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Prepares a layout (nothing runs until [`Cluster::start`]).
    pub async fn new(layout: Layout, mall: &Path, env: &[(String, String)]) -> Result<Cluster> {
        let dir = tempfile::Builder::new()
            .prefix("mall-chaos-")
            .tempdir()
            .context("making the run's directory")?;
        let logs = dir.path().join("logs");
        std::fs::create_dir_all(&logs)?;
        let mut hosts = Rng::new(entropy());
        let mut env: Vec<(String, String)> = env.to_vec();
        env.push(("RUST_LOG".into(), "warn".into()));
        env.push(("RUST_BACKTRACE".into(), "0".into()));
        env.push(("RUST_LIB_BACKTRACE".into(), "0".into()));
        let no_dist = dir.path().join("no-dist").display().to_string();
        let mall = mall.to_owned();
        let http = reqwest::Client::new();
        match layout {
            Layout::Embedded => {
                let data = dir.path().join("mall");
                let host = free_host(&mut hosts, &all_ports())?;
                let mut probes = vec![Probe::Http(format!("http://{host}:{BFF_PORT}/healthz"))];
                probes.extend(
                    Role::ALL.map(|r| {
                        Probe::Http(format!("http://{host}:{}/healthz", r.default_port()))
                    }),
                );
                let args = vec![
                    "--target".into(),
                    "all".into(),
                    "--host".into(),
                    host.to_string(),
                    "--data-dir".into(),
                    data.display().to_string(),
                    "--dist".into(),
                    no_dist,
                ];
                let process = Process::new("mall", mall, args, env, logs.join("mall.log"), probes);
                Ok(Cluster {
                    bff: format!("http://{host}:{BFF_PORT}"),
                    members: vec![Member {
                        role: None,
                        process,
                    }],
                    proxies: HashMap::new(),
                    exits_on_start: vec![],
                    stores: SystemConfig::all(data),
                    nats: None,
                    database: None,
                    http,
                    _dir: dir,
                })
            }
            Layout::Roles => {
                let nats_port = free_port()?;
                let nats_url = format!("nats://127.0.0.1:{nats_port}");
                let nats = Process::new(
                    "nats-server",
                    PathBuf::from("nats-server"),
                    vec![
                        "-js".into(),
                        "-a".into(),
                        "127.0.0.1".into(),
                        "-p".into(),
                        nats_port.to_string(),
                        "-sd".into(),
                        dir.path().join("nats").display().to_string(),
                    ],
                    vec![],
                    logs.join("nats.log"),
                    vec![Probe::Tcp(format!("127.0.0.1:{nats_port}"))],
                );
                let database = format!("chaos_{}", uuid::Uuid::new_v4().simple());
                let url = format!("{POSTGRES}/{database}");
                create_database(&database).await?;
                let mut members = vec![];
                let mut places: Vec<(String, Option<Role>, Ipv4Addr)> = vec![];
                places.push(("bff".into(), None, free_host(&mut hosts, &[BFF_PORT])?));
                for (name, role) in [
                    ("order", Role::Order),
                    ("delivery-1", Role::Delivery),
                    ("delivery-2", Role::Delivery),
                    ("product", Role::Product),
                    ("mypage", Role::Mypage),
                ] {
                    let host = free_host(&mut hosts, &[role.default_port()])?;
                    places.push((name.into(), Some(role), host));
                }
                let mut proxies = HashMap::new();
                for role in Role::ALL {
                    let backends: Vec<SocketAddr> = places
                        .iter()
                        .filter(|(_, r, _)| *r == Some(role))
                        .map(|(_, _, host)| SocketAddr::from((*host, role.default_port())))
                        .collect();
                    proxies.insert(role, Proxy::start(backends).await?);
                }
                let mut bff = String::new();
                // Every process agrees on the shop's URL: the issuer of the tokens the
                // BFF signs, and where the services fetch its keys.
                let shop = places
                    .iter()
                    .find(|(_, role, _)| role.is_none())
                    .map(|(_, _, host)| format!("http://{host}:{BFF_PORT}"))
                    .unwrap_or_default();
                for (name, role, host) in places {
                    let (target, probe) = match role {
                        None => {
                            bff = format!("http://{host}:{BFF_PORT}");
                            ("bff", format!("{bff}/healthz"))
                        }
                        Some(r) => (
                            r.name(),
                            format!("http://{host}:{}/healthz", r.default_port()),
                        ),
                    };
                    let mut args: Vec<String> = vec![
                        "--target".into(),
                        target.into(),
                        "--host".into(),
                        host.to_string(),
                        "--data-dir".into(),
                        dir.path().join(&name).display().to_string(),
                        "--dist".into(),
                        no_dist.clone(),
                        "--bus".into(),
                        nats_url.clone(),
                        "--database".into(),
                        url.clone(),
                    ];
                    args.extend([
                        "--bff-url".into(),
                        shop.clone(),
                        "--public-url".into(),
                        shop.clone(),
                    ]);
                    for (r, proxy) in &proxies {
                        args.push(format!("--{}-url", r.name()));
                        args.push(proxy.url());
                    }
                    let log = logs.join(format!("{name}.log"));
                    let process = Process::new(
                        &name,
                        mall.clone(),
                        args,
                        env.clone(),
                        log,
                        vec![Probe::Http(probe)],
                    );
                    members.push(Member { role, process });
                }
                let mut stores = SystemConfig::all(dir.path().join("stores"));
                stores.database = Database::Postgres {
                    url,
                    schema_prefix: SCHEMA_PREFIX.into(),
                };
                Ok(Cluster {
                    bff,
                    members,
                    proxies,
                    exits_on_start: vec![],
                    stores,
                    nats: Some((nats, nats_url)),
                    database: Some(database),
                    http,
                    _dir: dir,
                })
            }
        }
    }

    /// Starts whatever is not running and waits until all of it answers.
    pub async fn start(&mut self) -> Result<()> {
        if let Some((nats, _)) = &mut self.nats {
            if nats.pid().is_none() {
                nats.start()?;
            }
            nats.ready(&self.http, READY_WITHIN).await?;
        }
        // One at a time: two replicas opening a fresh PostgreSQL schema at once race on
        // `CREATE ... IF NOT EXISTS`, and the loser exits.
        for i in 0..self.members.len() {
            self.restart(i).await?;
        }
        Ok(())
    }

    /// Starts member `i` if it is not running and waits until it answers. A process that
    /// exits on start is started again, as an orchestrator would, up to three times; each
    /// such exit is recorded in [`Cluster::exits_on_start`].
    pub async fn restart(&mut self, i: usize) -> Result<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let p = &mut self.members[i].process;
            if p.pid().is_none() {
                p.start()?;
            }
            match p.ready(&self.http, READY_WITHIN).await {
                Ok(()) => return Ok(()),
                Err(exit @ NotUp::Exited { .. }) if attempt < 4 => {
                    eprintln!("    {exit}; starting it again");
                    self.exits_on_start.push(exit.to_string());
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Stops every `mall` process gently (the NATS server keeps running).
    pub async fn stop(&mut self) {
        for m in &mut self.members {
            m.process.stop().await;
        }
    }

    /// The members playing `role`.
    pub fn of_role(&self, role: Role) -> Vec<usize> {
        (0..self.members.len())
            .filter(|i| self.members[*i].role == Some(role))
            .collect()
    }

    /// Where the stores are (for reading them through the store API).
    pub fn stores(&self) -> SystemConfig {
        self.stores.clone()
    }

    /// The event log (for rebuilding the projection).
    pub async fn bus(&self) -> Result<Arc<dyn EventBus>> {
        Ok(match &self.nats {
            Some((_, url)) => Arc::new(NatsBus::connect(url, NATS_STREAM).await?),
            None => mall_services::system::open_embedded_bus(&self.stores.data_dir)?,
        })
    }

    /// Stops everything and removes the run's database (its directory goes on drop).
    pub async fn close(mut self) -> Result<()> {
        self.stop().await;
        if let Some((nats, _)) = &mut self.nats {
            nats.stop().await;
        }
        if let Some(database) = self.database.take() {
            drop_database(&database).await?;
        }
        Ok(())
    }
}

impl Drop for Cluster {
    /// A run that failed half-way still removes its processes and its database.
    fn drop(&mut self) {
        for m in &mut self.members {
            m.process.kill();
        }
        if let Some(database) = self.database.take() {
            // On a thread of its own: the blocking client must not run inside the runtime.
            let _ = std::thread::spawn(move || drop_database_now(&database)).join();
        }
    }
}

fn all_ports() -> Vec<u16> {
    let mut ports: Vec<u16> = Role::ALL.map(Role::default_port).to_vec();
    ports.push(BFF_PORT);
    ports
}

/// A loopback address whose `ports` are all free.
fn free_host(rng: &mut Rng, ports: &[u16]) -> Result<Ipv4Addr> {
    for _ in 0..200 {
        let host = Ipv4Addr::new(
            127,
            1 + rng.below(254) as u8,
            rng.below(256) as u8,
            1 + rng.below(254) as u8,
        );
        if ports.iter().all(|p| TcpListener::bind((host, *p)).is_ok()) {
            return Ok(host);
        }
    }
    anyhow::bail!("found no loopback address with the course ports free")
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Different loopback addresses in concurrent runs.
fn entropy() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    nanos ^ (u64::from(std::process::id()) << 32)
}

/// Runs one statement on the server's `postgres` database (blocking).
fn admin_now(sql: &str) -> Result<()> {
    let mut client = postgres::Client::connect(&format!("{POSTGRES}/postgres"), postgres::NoTls)
        .context("connecting to PostgreSQL on 127.0.0.1:5432 as postgres")?;
    client
        .batch_execute(sql)
        .with_context(|| format!("running `{sql}`"))
}

async fn create_database(name: &str) -> Result<()> {
    let sql = format!("CREATE DATABASE {name}");
    tokio::task::spawn_blocking(move || admin_now(&sql)).await?
}

fn drop_database_now(name: &str) -> Result<()> {
    admin_now(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
}

async fn drop_database(name: &str) -> Result<()> {
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || drop_database_now(&name)).await?
}
