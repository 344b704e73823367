//! Runs the Playwright suite (e2e/) in Debian's Chromium against the real mall binary.
//!
//! 1. builds the test-only variant of the order bundle (`test-hooks`, never in components.json)
//!    that the isolation suite swaps in to make the order component panic;
//! 2. starts `target/release/mall --target all --dist dist --data-dir <fresh temp dir>` and
//!    runs the `shop` project (journey, isolation matrix);
//! 3. deploys only the product component under a new version, runs the `deploy` project, and
//!    puts the manifest back;
//! 4. restarts the mall with the BFF's delivery upstream pointing at a closed port
//!    (`--delivery-url`) and runs the `delivery-down` project;
//! 5. starts an external OpenID provider ([`oidc_provider`]) and a mall whose BFF signs in
//!    there (`--bff-config` with `[auth.oidc]`), and runs the `oidc` project.
//!
//! `cargo xtask e2e --project NAME` runs one project (and starts only what it needs).
//! Each run's mall starts on a fresh data directory, so it makes its first staff account and
//! prints the password once: the suite gets it as `MALL_STAFF_EMAIL` / `MALL_STAFF_PASSWORD`
//! (and the log shows it redacted). The mall is stopped (SIGTERM, then SIGKILL) whatever
//! happens.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};

use crate::wasm::{self, DIST};
use crate::{mall_binary, step};

mod oidc_provider;

use oidc_provider::OidcProvider;

/// Names another `mall` binary to test than `target/release/mall` (which a shared build
/// directory may have rebuilt from another tree meanwhile).
pub const BINARY_ENV: &str = "MALL_E2E_BINARY";

/// The binary the suite runs.
fn binary() -> PathBuf {
    std::env::var_os(BINARY_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(mall_binary)
}

/// How long the mall may take to print its URL.
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// A port nothing listens on: the BFF's delivery upstream in the delivery-down run.
const CLOSED_DELIVERY_URL: &str = "http://127.0.0.1:9";

/// The Playwright projects, in the order they run.
pub const PROJECTS: [&str; 4] = ["shop", "deploy", "delivery-down", "oidc"];

/// Runs the whole browser suite, or only the project `only`.
pub fn run(only: Option<&str>) -> Result<()> {
    if let Some(project) = only {
        if !PROJECTS.contains(&project) {
            bail!("no Playwright project {project}; the projects are {PROJECTS:?}");
        }
    }
    let wanted = |project: &str| only.is_none_or(|o| o == project);
    if wanted("shop") || wanted("deploy") {
        shop_and_deploy(wanted("shop"), wanted("deploy"))?;
    }
    if wanted("delivery-down") {
        let mall = Mall::start(&["--delivery-url", CLOSED_DELIVERY_URL])?;
        playwright("delivery-down", &mall, &[])?;
    }
    if wanted("oidc") {
        oidc()?;
    }
    Ok(())
}

/// Signing in at an external OpenID provider: the provider first (the mall reads its
/// discovery document when it starts), then a mall configured for it.
fn oidc() -> Result<()> {
    let provider = OidcProvider::start()?;
    let config = std::env::temp_dir().join(format!("mall-e2e-oidc-{}.toml", std::process::id()));
    provider.write_bff_config(&config)?;
    let result =
        Mall::start(&["--any-port", "--bff-config", &config.to_string_lossy()]).and_then(|mall| {
            playwright(
                "oidc",
                &mall,
                &[("MALL_OIDC_NAME", oidc_provider::NAME.to_owned())],
            )
        });
    let _ = std::fs::remove_file(&config);
    result
}

/// The shop project (journey, isolation matrix) and the deploy project, on one mall.
fn shop_and_deploy(shop: bool, deploy: bool) -> Result<()> {
    let hooks_env = if shop {
        let order_version = wasm::crate_version(wasm::component("order")?.dir)?;
        let hooks = wasm::build_variant(
            "order",
            &["test-hooks"],
            &format!("{order_version}-test-hooks"),
        )?;
        Some(("MALL_TEST_HOOKS_ORDER_ENTRY", hooks.entry))
    } else {
        None
    };
    let mall = Mall::start(&[])?;
    if let Some(hooks_env) = hooks_env {
        playwright("shop", &mall, &[hooks_env])?;
    }
    if deploy {
        let before = snapshot()?;
        // Not under target/: that directory may be shared with other builds.
        let snapshot_file = std::env::temp_dir().join(format!(
            "mall-e2e-before-deploy-{}.json",
            std::process::id()
        ));
        std::fs::write(&snapshot_file, serde_json::to_string_pretty(&before)?)?;
        let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
        let product_version = wasm::crate_version(wasm::component("product")?.dir)?;
        let deployed = format!("{product_version}-deploy.{stamp}");
        step(&format!(
            "deploying only the product component as {deployed}"
        ));
        let previous = wasm::deploy("product", &deployed)?;
        let result = playwright(
            "deploy",
            &mall,
            &[
                ("MALL_DEPLOYED_VERSION", deployed.clone()),
                (
                    "MALL_DEPLOY_SNAPSHOT",
                    absolute(&snapshot_file)?.display().to_string(),
                ),
            ],
        );
        if let Some(entry) = previous {
            step("putting the product entry of components.json back");
            wasm::restore("product", entry)?;
        }
        let _ = std::fs::remove_dir_all(Path::new(DIST).join("components/product").join(&deployed));
        let _ = std::fs::remove_file(&snapshot_file);
        result?;
    }
    Ok(())
}

fn absolute(path: &Path) -> Result<PathBuf> {
    Ok(std::env::current_dir()?.join(path))
}

/// Size and modification time (ns) of every file of the shell and the bundles, so the deploy
/// test can show which files a deploy touched.
fn snapshot() -> Result<BTreeMap<String, (u64, String)>> {
    let mut files = BTreeMap::new();
    collect(Path::new(DIST), &mut files)?;
    Ok(files)
}

fn collect(dir: &Path, files: &mut BTreeMap<String, (u64, String)>) -> Result<()> {
    for item in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let item = item?;
        let path = item.path();
        if item.file_type()?.is_dir() {
            collect(&path, files)?;
        } else {
            let meta = item.metadata()?;
            let modified = meta
                .modified()?
                .duration_since(UNIX_EPOCH)?
                .as_nanos()
                .to_string();
            let relative = path
                .strip_prefix(DIST)?
                .to_string_lossy()
                .replace('\\', "/");
            files.insert(relative, (meta.len(), modified));
        }
    }
    Ok(())
}

fn playwright(project: &str, mall: &Mall, envs: &[(&str, String)]) -> Result<()> {
    step(&format!(
        "running the Playwright project {project} against {} (Chromium)",
        mall.url
    ));
    let mut command = Command::new("npx");
    if let Some(staff) = &mall.staff {
        command
            .env("MALL_STAFF_EMAIL", &staff.email)
            .env("MALL_STAFF_PASSWORD", &staff.password);
    }
    let status = command
        .args(["playwright", "test", "--project", project])
        .current_dir("e2e")
        .env("MALL_URL", &mall.url)
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .status()
        .context("running npx playwright test (npm ci installs it)")?;
    if !status.success() {
        bail!("the Playwright project {project} failed ({status})");
    }
    Ok(())
}

/// The mall binary running for a test run, stopped on drop.
struct Mall {
    child: Child,
    url: String,
    /// The staff account the mall made on its first start.
    staff: Option<Staff>,
    data_dir: PathBuf,
}

/// An account's email and password.
struct Staff {
    email: String,
    password: String,
}

/// What the suite needs from the mall's start-up output.
enum Started {
    Url(String),
    Staff(Staff),
    /// The last line of the start-up output.
    Ready,
}

/// Reads one line of the mall's output: `  first start: staff account E with password P (shown
/// once; …)`.
fn first_staff(line: &str) -> Option<Staff> {
    let rest = line.split("first start: staff account ").nth(1)?;
    let (email, rest) = rest.split_once(" with password ")?;
    let password = rest.split(" (shown once").next()?;
    Some(Staff {
        email: email.trim().to_owned(),
        password: password.to_owned(),
    })
}

impl Mall {
    fn start(extra: &[&str]) -> Result<Mall> {
        let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
        let data_dir =
            std::env::temp_dir().join(format!("mall-e2e-{}-{stamp}", std::process::id()));
        std::fs::create_dir_all(&data_dir)?;
        let mut args = vec!["--target", "all", "--dist", DIST, "--data-dir"];
        let data = data_dir.to_string_lossy().into_owned();
        args.push(&data);
        // Free ports, so the suite neither needs nor disturbs a mall on the course ports. Not
        // with an upstream URL flag: `mall` then takes every service's public URL from the
        // flags (the course ports by default), which free ports would not match.
        if extra.is_empty() {
            args.push("--any-port");
        }

        args.extend_from_slice(extra);
        step(&format!(
            "starting {} {}",
            binary().display(),
            args.join(" ")
        ));
        let mut child = Command::new(binary())
            .args(&args)
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", binary().display()))?;
        let stdout = child.stdout.take().context("the mall's stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(staff) = first_staff(&line) {
                    println!(
                        "[mall]   first start: staff account {} (its password goes to the suite)",
                        staff.email
                    );
                    let _ = tx.send(Started::Staff(staff));
                    continue;
                }
                println!("[mall] {line}");
                if let Some(url) = line.split("open ").nth(1) {
                    let _ = tx.send(Started::Url(url.trim().trim_end_matches('/').to_owned()));
                }
                if line.starts_with("Press Ctrl-C") {
                    let _ = tx.send(Started::Ready);
                }
            }
        });
        let mut mall = Mall {
            child,
            url: String::new(),
            staff: None,
            data_dir,
        };
        loop {
            match rx.recv_timeout(START_TIMEOUT) {
                Ok(Started::Url(url)) => mall.url = url,
                Ok(Started::Staff(staff)) => mall.staff = Some(staff),
                Ok(Started::Ready) => break,
                Err(_) => bail!("the mall did not finish starting within {START_TIMEOUT:?}"),
            }
        }
        if mall.url.is_empty() {
            bail!("the mall started without printing its URL");
        }
        Ok(mall)
    }
}

impl Drop for Mall {
    fn drop(&mut self) {
        step(&format!("stopping the mall (pid {})", self.child.id()));
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

#[cfg(test)]
mod tests {
    use super::first_staff;

    #[test]
    fn the_first_staff_account_is_read_from_the_start_up_line() {
        let line = "  first start: staff account staff@12st.example with password a b-c (shown \
                    once; change it with `mall accounts password --email staff@12st.example`)";
        let staff = first_staff(line).expect("a staff line");
        assert_eq!(staff.email, "staff@12st.example");
        assert_eq!(staff.password, "a b-c");
        assert!(first_staff("12st mall is running: open http://127.0.0.1:8088/").is_none());
    }
}
