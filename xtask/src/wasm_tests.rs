//! The wasm crates' browser tests: `wasm_bindgen_test`s compiled for wasm32 and run by the
//! pinned CLI's `wasm-bindgen-test-runner` in headless Chromium through Debian's chromedriver
//! (the runner starts both; it adds `--headless` and `--no-sandbox` itself).

use std::process::Command;

use anyhow::{ensure, Context, Result};

use crate::{setup, step};

/// (package, test target): the kit's JavaScript codec and the shell's manifest and contract
/// checks. Only these targets: the crates' plain `#[test]`s run natively in `cargo test`.
pub const SUITES: [(&str, &str); 2] = [("mall-kit", "js_codec"), ("mall-shell", "manifest")];

/// Runs every suite; fails on the first that fails.
pub fn run() -> Result<()> {
    for (package, test) in SUITES {
        step(&format!(
            "running {package}'s browser tests `{test}` in headless Chromium (wasm-bindgen-test-runner)"
        ));
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "test",
                "--target",
                "wasm32-unknown-unknown",
                "-p",
                package,
                "--test",
                test,
            ])
            .env(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
                "wasm-bindgen-test-runner",
            )
            .env("CHROMEDRIVER", setup::CHROMEDRIVER)
            .status()
            .with_context(|| format!("running the browser tests of {package}"))?;
        ensure!(
            status.success(),
            "{package}'s browser tests failed ({status})"
        );
    }
    Ok(())
}
