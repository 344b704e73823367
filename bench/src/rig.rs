//! The system under test: the four HAL services in this process (each behind a proxy, or
//! reached directly), seeded with orders, and the BFF as its own `mall --target bff` process
//! so that its CPU time and memory are its own.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use mall_services::{Role, System, SystemConfig, Urls};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::machine::Proc;
use crate::proxy::{Mode, Proxy};
use crate::tokens::Tokens;

/// One proxy per service.
pub struct Proxies {
    pub order: Proxy,
    pub delivery: Proxy,
    pub product: Proxy,
    pub mypage: Proxy,
}

impl Proxies {
    pub fn all(&self) -> [&Proxy; 4] {
        [&self.order, &self.delivery, &self.product, &self.mypage]
    }

    pub fn set_mode(&self, mode: Mode) {
        for p in self.all() {
            p.set_mode(mode);
        }
    }

    pub fn requests(&self) -> u64 {
        self.all().iter().map(|p| p.requests()).sum()
    }
}

/// The services, where they listen and where their links point.
pub struct Rig {
    pub system: System,
    /// Where each service listens (no proxy).
    pub direct: Urls,
    /// What the services' links point at: the proxies, or `direct` when there are none.
    pub public: Urls,
    pub proxies: Option<Proxies>,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("no free port on 127.0.0.1")?;
    Ok(l.local_addr()?.port())
}

impl Rig {
    /// Starts the services on free ports of 127.0.0.1, in a fresh data directory; with
    /// `proxied`, each behind its own [`Proxy`] and with every link pointing at the proxies.
    pub async fn start(proxied: bool) -> Result<Rig> {
        let dir = tempfile::tempdir().context("cannot create a data directory")?;
        let mut config = SystemConfig::ephemeral(dir.path());
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .context("cannot build an HTTP client")?;
        if !proxied {
            let system = System::start(config).await?;
            let urls = system.urls.clone();
            return Ok(Rig {
                system,
                direct: urls.clone(),
                public: urls,
                proxies: None,
                client,
                _dir: dir,
            });
        }
        let mut listeners = Vec::new();
        for _ in 0..4 {
            listeners.push(Proxy::bind().await?);
        }
        let mut ports = Vec::new();
        for role in Role::ALL {
            let port = free_port()?;
            config.ports.insert(role, port);
            ports.push((role, port));
        }
        let url_of = |role: Role| {
            let port = ports
                .iter()
                .find(|(r, _)| *r == role)
                .map(|(_, p)| *p)
                .unwrap_or(0);
            format!("http://127.0.0.1:{port}")
        };
        let direct: Urls = Role::ALL.into_iter().map(|r| (r, url_of(r))).collect();
        let mut listeners = listeners.into_iter();
        let mut next = |upstream: &str| -> Result<Proxy> {
            let (l, url) = listeners.next().context("four proxy listeners")?;
            Ok(Proxy::start(l, url, upstream.to_owned()))
        };
        let proxies = Proxies {
            order: next(&direct[Role::Order])?,
            delivery: next(&direct[Role::Delivery])?,
            product: next(&direct[Role::Product])?,
            mypage: next(&direct[Role::Mypage])?,
        };
        let public: Urls = [
            (Role::Order, proxies.order.url.clone()),
            (Role::Delivery, proxies.delivery.url.clone()),
            (Role::Product, proxies.product.url.clone()),
            (Role::Mypage, proxies.mypage.url.clone()),
        ]
        .into_iter()
        .collect();
        config.public_urls = Some(public.clone());
        let system = System::start(config).await?;
        Ok(Rig {
            system,
            direct,
            public,
            proxies: Some(proxies),
            client,
            _dir: dir,
        })
    }

    async fn total(&self, url: &str) -> Result<u64> {
        let doc: Value = self
            .client
            .get(url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        doc.pointer("/page/totalElements")
            .and_then(Value::as_u64)
            .with_context(|| format!("{url} has no page.totalElements"))
    }

    /// Places orders (directly at the order service, proxies passing) until there are `n`,
    /// then waits until each has its delivery.
    pub async fn seed_orders(&self, n: u64) -> Result<()> {
        if let Some(p) = &self.proxies {
            p.set_mode(Mode::Pass);
        }
        let orders_url = format!("{}/orders?size=1", self.direct[Role::Order]);
        let have = self.total(&orders_url).await?;
        let products = crate::PRODUCTS;
        let mut pending = futures::stream::FuturesUnordered::new();
        for i in have..n {
            let body = json!({
                "productId": 1 + (i % products),
                "quantity": 1,
                "customerId": format!("{}@uengine.org", 1 + i % 10),
                "customerName": "Bench",
                "customerAddr": format!("Seoul {i}"),
            });
            let request = self
                .client
                .post(format!("{}/orders", self.direct[Role::Order]))
                .json(&body)
                .send();
            pending.push(request);
            if pending.len() >= 8 {
                use futures::StreamExt as _;
                if let Some(r) = pending.next().await {
                    r?.error_for_status()?;
                }
            }
        }
        use futures::StreamExt as _;
        while let Some(r) = pending.next().await {
            r?.error_for_status()?;
        }
        let deliveries_url = format!("{}/deliveries?size=1", self.direct[Role::Delivery]);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mypage = self
                .total(&format!("{}/myPages?size=1", self.direct[Role::Mypage]))
                .await?;
            if self.total(&deliveries_url).await? >= n && mypage >= n {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("the deliveries of {n} orders did not all start within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(self) {
        drop(self.proxies);
        self.system.stop().await;
    }
}

/// The repository root (where dist/ and BENCHMARKS.md live).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the bench crate sits in the workspace root")
        .to_owned()
}

/// Builds the `mall` binary next to this one (a no-op when it is up to date) and returns it.
pub fn mall_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the running executable")?;
    let bin_dir = exe.parent().context("the executable has a directory")?;
    // target/<profile>/mall-bench → the target directory is two levels up.
    let target_dir = bin_dir
        .parent()
        .context("the executable sits in target/<profile>")?;
    println!("building the mall binary: cargo build --release -p mall");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["build", "--release", "-p", "mall"])
        .env("CARGO_TARGET_DIR", target_dir)
        .current_dir(repo_root())
        .status()
        .context("cannot run cargo to build the mall binary")?;
    if !status.success() {
        bail!("`cargo build --release -p mall` failed");
    }
    let mall = target_dir.join("release").join("mall");
    if !mall.exists() {
        bail!(
            "cargo built the mall binary but {} is missing",
            mall.display()
        );
    }
    Ok(mall)
}

/// A `mall` process (the BFF alone, or every role), stopped when dropped.
pub struct MallProcess {
    child: Child,
    pub url: String,
    pub proc: Proc,
    /// Its data directory (the stores, and the identity store with its signing key).
    data_dir: tempfile::TempDir,
}

impl MallProcess {
    /// `mall --target bff` against the given service URLs.
    pub async fn bff(mall: &Path, upstreams: &Urls) -> Result<MallProcess> {
        MallProcess::bff_with(mall, upstreams, &[]).await
    }

    /// `mall --target bff` with extra flags (such as `--bff-config FILE`).
    pub async fn bff_with(mall: &Path, upstreams: &Urls, extra: &[&str]) -> Result<MallProcess> {
        let mut args = vec![
            "--target",
            "bff",
            "--order-url",
            &upstreams[Role::Order],
            "--delivery-url",
            &upstreams[Role::Delivery],
            "--product-url",
            &upstreams[Role::Product],
            "--mypage-url",
            &upstreams[Role::Mypage],
        ];
        args.extend_from_slice(extra);
        MallProcess::spawn(mall, &args, &repo_root().join("dist")).await
    }

    /// `mall --target all` (services, bus and BFF in one process).
    pub async fn all(mall: &Path) -> Result<MallProcess> {
        MallProcess::all_serving(mall, &repo_root().join("dist")).await
    }

    /// `mall --target all` serving the shop from `dist` (a copy with its own manifest).
    pub async fn all_serving(mall: &Path, dist: &Path) -> Result<MallProcess> {
        MallProcess::spawn(mall, &["--target", "all"], dist).await
    }

    async fn spawn(mall: &Path, args: &[&str], dist: &Path) -> Result<MallProcess> {
        let dir = tempfile::tempdir()?;
        let mut child = Command::new(mall)
            .args(args)
            .arg("--any-port")
            .arg("--host")
            .arg("127.0.0.1")
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--dist")
            .arg(dist)
            // `MALL_BENCH_RUST_LOG=mall_bff=debug` shows the BFF's call timestamps.
            .env(
                "RUST_LOG",
                std::env::var("MALL_BENCH_RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", mall.display()))?;
        let pid = child.id().context("the mall process has a pid")?;
        let stdout = child.stdout.take().context("piped stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = parse_open_url(&line) {
                    return Ok(url);
                }
            }
            bail!("the mall process ended before saying where it listens")
        })
        .await
        .context("the mall process did not start within 60 s")??;
        // Keep reading so the process never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(MallProcess {
            child,
            url,
            proc: Proc::new(pid),
            data_dir: dir,
        })
    }

    pub fn graphql_url(&self) -> String {
        format!("{}/graphql", self.url)
    }

    /// The URL of the BFF's graphql-transport-ws endpoint.
    pub fn ws_url(&self) -> String {
        format!("{}/graphql", self.url.replacen("http", "ws", 1))
    }

    /// Bearer tokens this process's BFF accepts (signed with its key).
    pub fn tokens(&self) -> Result<Tokens> {
        Tokens::open(self.data_dir.path(), &self.url)
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// The URL in the `12st mall is running: open http://…/` line, without its trailing slash.
pub fn parse_open_url(line: &str) -> Option<String> {
    let at = line.find("open http")?;
    let url = line[at + "open ".len()..].split_whitespace().next()?;
    Some(url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_url_is_read_from_the_banner() {
        assert_eq!(
            parse_open_url("12st mall is running: open http://127.0.0.1:40123/"),
            Some("http://127.0.0.1:40123".to_owned())
        );
        assert_eq!(
            parse_open_url("  GraphQL (and GraphiQL): http://x/graphql"),
            None
        );
    }
}
