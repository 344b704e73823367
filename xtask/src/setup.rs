//! Installs what the build and the tests need, each step saying what it does and skipping what
//! is already there: the wasm32 target, the wasm-bindgen CLI of exactly the version in
//! Cargo.lock (with its wasm-bindgen-test-runner), the npm tools (binaryen's wasm-opt,
//! Playwright, graphql-ws, GraphiQL), the OpenID provider of the sign-in tests
//! (oidc-provider) and Debian's Chromium and chromedriver for the browser tests.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::step;

/// Where Debian puts Chromium; Playwright drives this one (no browser download).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's chromedriver for that Chromium: wasm-bindgen-test-runner drives the browser
/// tests of the wasm crates through it.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The OpenID provider's script and npm package.
pub const OIDC_PROVIDER: &str = "auth/tests/oidc-provider";

/// Runs every setup step.
pub fn ensure_all() -> Result<()> {
    wasm_target()?;
    wasm_bindgen_cli()?;
    npm_packages()?;
    oidc_provider_package()?;
    crate::python::ensure()?;
    chromium()
}

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn run(program: &str, args: &[&str], envs: &[(&str, &str)]) -> Result<()> {
    let status = Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .status()
        .with_context(|| format!("running {program} {}", args.join(" ")))?;
    if !status.success() {
        bail!("{program} {} failed ({status})", args.join(" "));
    }
    Ok(())
}

fn wasm_target() -> Result<()> {
    let installed = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if installed
        .lines()
        .any(|t| t.trim() == "wasm32-unknown-unknown")
    {
        step("wasm32-unknown-unknown target: already installed");
        return Ok(());
    }
    step("installing the wasm32-unknown-unknown target (rustup target add)");
    run("rustup", &["target", "add", "wasm32-unknown-unknown"], &[])
}

/// The wasm-bindgen version Cargo.lock resolved (the workspace pins it with `=`).
pub fn locked_wasm_bindgen() -> Result<String> {
    let lock = std::fs::read_to_string("Cargo.lock").context("reading Cargo.lock")?;
    wasm_bindgen_in_lock(&lock)
}

fn wasm_bindgen_in_lock(lock: &str) -> Result<String> {
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            if let Some(version) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = "))
            {
                return Ok(version.trim_matches('"').to_owned());
            }
        }
    }
    bail!("Cargo.lock has no wasm-bindgen package")
}

fn wasm_bindgen_cli() -> Result<()> {
    let wanted = locked_wasm_bindgen()?;
    let found = output("wasm-bindgen", &["--version"]).unwrap_or_default();
    if found.split_whitespace().nth(1) == Some(wanted.as_str()) {
        step(&format!("wasm-bindgen CLI {wanted}: already installed"));
        return Ok(());
    }
    step(&format!(
        "installing the wasm-bindgen CLI {wanted} to match the crate (cargo install, about 2 minutes)"
    ));
    // Not --locked: the CLI's own lock file names a crate version the registry may lack.
    run(
        "cargo",
        &["install", "wasm-bindgen-cli", "--version", &wanted],
        &[],
    )
}

fn npm_packages() -> Result<()> {
    let needed = [
        "node_modules/.bin/wasm-opt",
        "node_modules/@playwright/test/package.json",
        "node_modules/graphql-ws/package.json",
        "node_modules/graphiql/package.json",
        "node_modules/graphql-http/package.json",
    ];
    let fresh = match (
        std::fs::metadata("node_modules/.package-lock.json").and_then(|m| m.modified()),
        std::fs::metadata("package-lock.json").and_then(|m| m.modified()),
    ) {
        (Ok(installed), Ok(locked)) => installed >= locked,
        _ => false,
    };
    if fresh && needed.iter().all(|p| Path::new(p).exists()) {
        step("npm packages (binaryen, Playwright, graphql-ws, graphql-http, GraphiQL): already installed");
        return Ok(());
    }
    step("installing the npm packages (npm ci; Playwright uses Debian's Chromium, no browser download)");
    run("npm", &["ci"], &[("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")])
}

/// The OpenID provider that the `oidc` e2e project and the `mall-auth` tests sign in at
/// (npm `oidc-provider`, its own package and lock file beside its script).
fn oidc_provider_package() -> Result<()> {
    let dir = Path::new(OIDC_PROVIDER);
    if dir.join("node_modules/oidc-provider/package.json").exists() {
        step("npm package of the OpenID provider (oidc-provider): already installed");
        return Ok(());
    }
    step(&format!(
        "installing the OpenID provider's npm package (npm ci in {OIDC_PROVIDER})"
    ));
    run(
        "npm",
        &["ci", "--prefix", OIDC_PROVIDER, "--no-audit", "--no-fund"],
        &[],
    )
}

fn chromium() -> Result<()> {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        step("Chromium and chromedriver: already installed");
        return Ok(());
    }
    step("installing Debian's Chromium and chromedriver for the browser tests (apt-get install -y chromium chromium-driver)");
    let packages = ["install", "-y", "chromium", "chromium-driver"];
    if run("apt-get", &packages, &[]).is_err() {
        step("apt-get install failed; updating the package lists and trying again");
        run("apt-get", &["update"], &[])?;
        run("apt-get", &packages, &[])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_locked_wasm_bindgen_is_the_pinned_one() {
        let manifest = include_str!("../../Cargo.toml");
        let locked =
            wasm_bindgen_in_lock(include_str!("../../Cargo.lock")).expect("locked version");
        assert!(
            manifest.contains(&format!("wasm-bindgen = \"={locked}\"")),
            "the workspace pins another wasm-bindgen than Cargo.lock's {locked}"
        );
    }
}
