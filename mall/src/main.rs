//! `mall`: runs the 12st mall, every role in one process (`--target all`, the default) or
//! one role per process; `mall dlq` inspects and replays dead letters ([`dlq`]).

mod accounts;
mod dlq;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Result;
use std::time::Duration;

use clap::{Parser, Subcommand};
use mall::{BusChoice, MallConfig, Ports, Target};
use mall_services::consumer::ConsumerSettings;
use mall_services::retention::Retention;
use mall_services::{Database, Role, SystemConfig};

#[derive(Parser)]
#[command(
    name = "mall",
    version,
    about = "The 12st mall: domain services, GraphQL BFF and shop page",
    after_help = "Settings: a flag (or the variable shown beside it) wins over the \
    environment's MALL_BFF__<PATH> settings, which win over the --bff-config file, which wins \
    over the default. Under --target all, the BFF's upstreams default to the services of this \
    process."
)]
struct Flags {
    #[command(subcommand)]
    command: Option<Command>,
    /// What this process runs: all, bff, order, delivery, product or mypage.
    #[arg(long, default_value = "all", env = "MALL_TARGET")]
    target: Target,
    /// Where the stores and the embedded event log keep their files.
    #[arg(long, default_value = "data", env = "MALL_DATA_DIR", global = true)]
    data_dir: PathBuf,
    /// The built shop page and micro-frontend bundles (`cargo xtask build` writes them).
    /// Unset: the BFF settings' `static_dir` (from MALL_BFF__STATIC_DIR or the file), else
    /// `dist`.
    #[arg(long, env = "MALL_DIST")]
    dist: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1", env = "MALL_HOST")]
    host: IpAddr,
    /// Event bus: `embedded` (in this process) or `nats://HOST:PORT`.
    #[arg(long, default_value = "embedded", env = "MALL_BUS")]
    bus: BusChoice,
    /// Store: `embedded` (SQLite files in the data directory) or a PostgreSQL URL
    /// (one schema per service).
    #[arg(long, default_value = "embedded", env = "MALL_DATABASE", global = true)]
    database: String,
    /// How long an order's Idempotency-Key answers with its first order before it is pruned
    /// (e.g. `24h`, `30m`).
    #[arg(long, default_value = "24h", env = "MALL_IDEMPOTENCY_KEYS_KEPT", value_parser = humantime::parse_duration)]
    idempotency_keys_kept: Duration,
    /// Attempts at one event before a consumer puts it in its dead-letter table (`mall dlq`).
    #[arg(long, default_value_t = mall_services::consumer::DEFAULT_MAX_ATTEMPTS, env = "MALL_CONSUMER_MAX_ATTEMPTS", value_parser = clap::value_parser!(u32).range(1..))]
    consumer_max_attempts: u32,
    /// The BFF's configuration file (TOML: upstream URLs, timeouts, circuit breakers,
    /// retries, limits; every setting is shown in bff/bff.example.toml; MALL_BFF__<PATH>
    /// variables override it, and flags override both).
    #[arg(long, env = "MALL_BFF_CONFIG")]
    bff_config: Option<PathBuf>,
    /// Listen on free ports instead of the course ports (8081-8084, 8088).
    #[arg(long)]
    any_port: bool,
    /// Public URL of the order service (its links, and the BFF's upstream over the BFF's
    /// settings).
    #[arg(long, env = "MALL_ORDER_URL")]
    order_url: Option<String>,
    /// Public URL of the delivery service.
    #[arg(long, env = "MALL_DELIVERY_URL")]
    delivery_url: Option<String>,
    /// Public URL of the product service.
    #[arg(long, env = "MALL_PRODUCT_URL")]
    product_url: Option<String>,
    /// Public URL of the mypage service.
    #[arg(long, env = "MALL_MYPAGE_URL")]
    mypage_url: Option<String>,
    /// The shop's public URL as browsers reach it (cookies are `Secure` when it is https;
    /// the issuer of the tokens the BFF signs). Unset: where the BFF listens.
    #[arg(long, env = "MALL_PUBLIC_URL", global = true)]
    public_url: Option<String>,
    /// Where services in other processes fetch the BFF's token keys
    /// (`<URL>/auth/jwks.json`).
    #[arg(long, default_value = "http://127.0.0.1:8088", env = "MALL_BFF_URL")]
    bff_url: String,
}

#[derive(Subcommand)]
enum Command {
    /// Dead letters: events a service's consumer gave up on.
    #[command(subcommand)]
    Dlq(dlq::Dlq),
    /// Accounts of the shop's sign-in (the identity store of `--data-dir` / `--database`).
    #[command(subcommand)]
    Accounts(accounts::Accounts),
    /// Prints a bearer token for the BFF's API, for scripts and curl:
    /// `curl -H "Authorization: Bearer $(mall token --account EMAIL)" …`.
    Token {
        /// The account's email.
        #[arg(long)]
        account: String,
        /// How long the token lives (e.g. `1h`, `30m`).
        #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
        ttl: Duration,
        /// Who the token is for: `bff` (the GraphQL API), or a service (`order`,
        /// `delivery`, `product`, `mypage`) called directly, as tests and fuzzers do.
        #[arg(long, default_value = "bff", value_parser = ["bff", "order", "delivery", "product", "mypage"])]
        audience: String,
    },
}

fn database(flag: &str) -> Result<Database> {
    Ok(match flag {
        "embedded" => Database::Embedded,
        url if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Database::Postgres {
                url: url.to_owned(),
                schema_prefix: "mall_".into(),
            }
        }
        other => anyhow::bail!(
            "unknown database `{other}`; use `embedded` or a URL such as postgres://postgres@127.0.0.1:5432/postgres"
        ),
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
    let flags = Flags::parse();
    let urls: BTreeMap<Role, String> = [
        (Role::Order, flags.order_url),
        (Role::Delivery, flags.delivery_url),
        (Role::Product, flags.product_url),
        (Role::Mypage, flags.mypage_url),
    ]
    .into_iter()
    .filter_map(|(role, url)| Some((role, url?)))
    .collect();
    let database = database(&flags.database)?;
    let identity_config = MallConfig {
        data_dir: flags.data_dir.clone(),
        database: database.clone(),
        ..MallConfig::default()
    };
    let token_issuer_url = flags
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}:{}", flags.host, mall::BFF_PORT));
    match flags.command {
        Some(Command::Dlq(command)) => {
            let mut stores = SystemConfig::all(&flags.data_dir);
            stores.database = database;
            print!("{}", dlq::run(command, &stores).await?);
            return Ok(());
        }
        Some(Command::Accounts(command)) => {
            let auth = mall::open_auth(&identity_config, &token_issuer_url).await?;
            print!("{}", accounts::run(command, &auth).await?);
            return Ok(());
        }
        Some(Command::Token {
            account,
            ttl,
            audience,
        }) => {
            let auth = mall::open_auth(&identity_config, &token_issuer_url).await?;
            print!(
                "{}",
                accounts::token(&auth, &account, ttl, &audience).await?
            );
            return Ok(());
        }
        None => {}
    }
    // The file and the environment in one layered read; the flags go over it (`MallConfig`).
    let file = match &flags.bff_config {
        None => None,
        Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!("cannot read the BFF configuration {}: {e}", path.display())
        })?),
    };
    let bff = mall_bff::BffConfig::load(file.as_deref(), std::env::vars()).map_err(|e| {
        let from = match &flags.bff_config {
            Some(path) => format!(" ({} and the environment)", path.display()),
            None => String::new(),
        };
        anyhow::anyhow!("the BFF's settings{from}: {e}")
    })?;
    let config = MallConfig {
        bff,
        database,
        target: flags.target,
        data_dir: flags.data_dir,
        dist_dir: flags.dist,
        host: flags.host,
        bus: flags.bus,
        ports: if flags.any_port {
            Ports::any()
        } else {
            Ports::course()
        },
        urls,
        retention: Retention {
            idempotency_keys: flags.idempotency_keys_kept,
            ..Retention::default()
        },
        consumers: ConsumerSettings {
            max_attempts: flags.consumer_max_attempts,
        },
        public_url: flags.public_url,
        bff_url: flags.bff_url,
    };
    let mall = mall::start(config).await?;
    if let Some(url) = &mall.bff_url {
        println!("12st mall is running: open {url}/");
        println!("  GraphQL (and GraphiQL): {url}/graphql");
    }
    if let Some(staff) = mall.bff.as_ref().and_then(|b| b.first_staff.as_ref()) {
        println!(
            "  first start: staff account {} with password {} (shown once; change it with \
             `mall accounts password --email {}`)",
            staff.email,
            staff.password.expose(),
            staff.email
        );
    }
    if let Some(s) = &mall.services {
        let listed: Vec<String> = s.urls.iter().map(|(r, u)| format!("{r} {u}")).collect();
        println!("  services: {}", listed.join("  "));
    }
    println!("Press Ctrl-C to stop.");
    mall_services::system::shutdown_signal().await;
    println!("stopping…");
    mall.stop().await;
    Ok(())
}
