//! `cargo xtask`: the project's own build, run, test and bench commands.
//!
//! - `setup`: installs what the build needs (rustup target, wasm-bindgen CLI, npm packages, chromium)
//! - `wasm`: builds the shell and the component bundles into `dist/`, writes `dist/components.json`,
//!   and checks each bundle's size against its budget (`wasm::budget`)
//! - `e2e`: runs the Playwright suite against a running mall
//! - `bench`: builds what the benchmarks need, then runs `mall-bench` (see bench/)
//! - `image`: builds the `mall` container image with podman (a static binary on `scratch`)
//! - `python`: the pinned Python tools (Schemathesis, kubernetes-validate) in target/tools/venv
//! - `fuzz`: Schemathesis against each service's OpenAPI document (bounded in `test`, long in
//!   `fuzz`, which writes RELIABILITY.md's Fuzzing section)
//! - `cargo_fuzz`: the cargo-fuzz targets of `fuzz/` on nightly, for a bounded time (in
//!   `fuzz` only; their kept inputs run in `cargo test`)
//! - `chaos`: the real binary under SIGKILLs and upstream faults; checks the stores after and
//!   writes RELIABILITY.md's Chaos section (a short version runs in `test`)

mod cargo_fuzz;
mod chaos;
mod e2e;
mod fuzz;
mod image;
mod python;
mod reliability;
mod setup;
mod wasm;
mod wasm_tests;

use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Build, run and test the 12st mall")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the mall binary (release) and every wasm bundle into dist/.
    Build {
        /// Build only these components (repeatable); the others and the shell are left as they are.
        #[arg(long = "component")]
        components: Vec<String>,
    },
    /// Build everything, then run the whole system on embedded defaults.
    Run {
        /// Extra arguments passed to `mall`.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Run every test: unit and integration tests, lints, then the Playwright suite in Chromium.
    Test,
    /// Run only the Playwright suite against what `cargo xtask build` left in dist/ and target/.
    E2e {
        /// Run only this Playwright project (shop, deploy, delivery-down, oidc).
        #[arg(long)]
        project: Option<String>,
    },
    /// Run the benchmarks against the real system on 127.0.0.1; print the table and write
    /// BENCHMARKS.md.
    Bench {
        /// Run only these scenarios (comma-separated numbers, e.g. `--only 1,2`).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// An older `mall` binary whose BFF scenario 2 runs beside this build's, to compare
        /// their CPU per query (build one from an earlier commit with `cargo build --release
        /// -p mall` and copy it aside).
        #[arg(long)]
        baseline: Option<std::path::PathBuf>,
    },
    /// Build the `mall` container image offline with Debian's podman: a static musl binary,
    /// the shop and GraphiQL's files on `scratch` (installs podman and musl-tools if missing).
    Image {
        /// The image's tag (default: 12st-mall:<the mall crate's version>).
        #[arg(long)]
        tag: Option<String>,
    },
    /// Fuzz each service's OpenAPI document and the BFF with Schemathesis for long (about
    /// 10,000 cases per service), then each cargo-fuzz target of fuzz/ (nightly, installed if
    /// missing) for a bounded time, and write the Fuzzing section of RELIABILITY.md.
    Fuzz {
        /// Examples per API operation.
        #[arg(long, default_value_t = fuzz::LONG.examples)]
        examples: u32,
        /// Seed of the generated data (the same seed repeats the same run).
        #[arg(long, default_value_t = fuzz::LONG.seed)]
        seed: u64,
        /// Fuzz this `mall` binary instead of building the release one.
        #[arg(long)]
        mall: Option<std::path::PathBuf>,
        /// Seconds each cargo-fuzz target runs.
        #[arg(long, default_value_t = 60)]
        libfuzzer_seconds: u64,
        /// libFuzzer's seed.
        #[arg(long, default_value_t = 12)]
        libfuzzer_seed: u64,
        /// Run only one of the two fuzzers.
        #[arg(long, value_enum)]
        only: Option<Fuzzer>,
    },
    /// Kill, hang and slow the real mall's processes under load, check that no order was lost
    /// or doubled and that the BFF answered every request well, and write the Chaos section
    /// of RELIABILITY.md.
    Chaos {
        /// The short version that `test` runs (a few kills, one fault per upstream); prints
        /// its figures and writes nothing.
        #[arg(long)]
        short: bool,
        /// SIGKILLs per crash run (one on the embedded mall, one scaled out).
        #[arg(long, default_value_t = chaos::LONG.rounds)]
        rounds: u32,
        /// Seconds each upstream fault (kill, hang, slow-down) lasts.
        #[arg(long, default_value_t = chaos::LONG.hold.as_secs_f64())]
        duration: f64,
        /// Seed of the run's choices (what is ordered, which process dies when).
        #[arg(long, default_value_t = chaos::LONG.seed)]
        seed: u64,
        /// Attack this `mall` binary instead of building the release one.
        #[arg(long)]
        mall: Option<std::path::PathBuf>,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Build { components } => {
            setup::ensure_all()?;
            if std::env::var_os("LOCAL_SKIP_NATIVE").is_none() {
                build_native()?;
            }
            wasm::build(&components)
        }
        Cmd::Run { args } => {
            setup::ensure_all()?;
            build_native()?;
            wasm::build(&[])?;
            step("starting the mall (every role in one process); Ctrl-C stops it");
            let status = Command::new(mall_binary())
                .args(["--target", "all", "--dist", "dist"])
                .args(args)
                .status()
                .context("starting target/release/mall")?;
            if !status.success() {
                bail!("mall exited with {status}");
            }
            Ok(())
        }
        Cmd::Test => {
            setup::ensure_all()?;
            step("checking formatting (cargo fmt --check)");
            cargo(&["fmt", "--all", "--check"])?;
            step("linting native crates (cargo clippy --all-targets -D warnings)");
            cargo(&["clippy", "--all-targets", "--", "-D", "warnings"])?;
            step("linting the wasm crates (cargo clippy --target wasm32-unknown-unknown -D warnings)");
            let mut wasm_lint = vec!["clippy", "--target", "wasm32-unknown-unknown"];
            for bundle in std::iter::once(&wasm::SHELL).chain(wasm::COMPONENTS.iter()) {
                wasm_lint.extend(["-p", bundle.package]);
            }
            wasm_lint.extend(["-p", "mall-kit", "--", "-D", "warnings"]);
            cargo(&wasm_lint)?;
            step("running unit and integration tests (cargo test)");
            cargo(&["test"])?;
            wasm_tests::run()?;
            build_native()?;
            fuzz::suite(&mall_binary())?;
            chaos::suite(&mall_binary())?;
            wasm::build(&[])?;
            wasm::budget::check(&wasm::built()?)?;
            e2e::run(None)
        }
        Cmd::E2e { project } => {
            setup::ensure_all()?;
            e2e::run(project.as_deref())
        }
        Cmd::Bench { only, baseline } => bench(&only, baseline.as_deref()),
        Cmd::Image { tag } => image::build(tag),
        Cmd::Fuzz {
            examples,
            seed,
            mall,
            libfuzzer_seconds,
            libfuzzer_seed,
            only,
        } => {
            // Both run even when the first finds something; the command fails after.
            let schemathesis = if only != Some(Fuzzer::CargoFuzz) {
                let mall = given_or_built(mall)?;
                fuzz::long(
                    &mall,
                    fuzz::Budget {
                        examples,
                        seed,
                        stateful: true,
                    },
                )
            } else {
                Ok(())
            };
            let libfuzzer = if only != Some(Fuzzer::Schemathesis) {
                cargo_fuzz::long(cargo_fuzz::Budget {
                    seconds: libfuzzer_seconds,
                    seed: libfuzzer_seed,
                })
            } else {
                Ok(())
            };
            schemathesis.and(libfuzzer)
        }
        Cmd::Chaos {
            short,
            rounds,
            duration,
            seed,
            mall,
        } => {
            let mall = given_or_built(mall)?;
            if short {
                chaos::suite(&mall)
            } else {
                let hold = std::time::Duration::try_from_secs_f64(duration)
                    .context("--duration must be a number of seconds")?;
                chaos::long(
                    &mall,
                    chaos::Budget {
                        rounds,
                        hold,
                        seed,
                        short: false,
                    },
                )
            }
        }
    }
}

/// The `mall` binary a command was given, or the release one, built now.
fn given_or_built(mall: Option<std::path::PathBuf>) -> Result<std::path::PathBuf> {
    match mall {
        Some(path) => Ok(path),
        None => {
            build_native()?;
            Ok(mall_binary())
        }
    }
}

/// The scenario of the benchmarks that loads the bundles in Chromium.
const BENCH_BROWSER_SCENARIO: &str = "5";

/// Builds the release `mall` binary (and the bundles when the browser scenario runs), then
/// runs the benchmarks in release mode.
fn bench(only: &[String], baseline: Option<&std::path::Path>) -> Result<()> {
    let browser = only.is_empty() || only.iter().any(|s| s == BENCH_BROWSER_SCENARIO);
    if browser {
        setup::ensure_all()?;
    }
    build_native()?;
    if browser {
        wasm::build(&[])?;
    }
    step("running the benchmarks (cargo run --release -p mall-bench)");
    let mall = std::env::current_dir()
        .context("no current directory")?
        .join(mall_binary());
    let mall = mall.to_string_lossy();
    let mut args = vec![
        "run",
        "--release",
        "-p",
        "mall-bench",
        "--",
        "--mall",
        mall.as_ref(),
    ];
    let only = only.join(",");
    if !only.is_empty() {
        args.extend(["--only", only.as_str()]);
    }
    let baseline = baseline.map(|p| p.to_string_lossy().into_owned());
    if let Some(path) = &baseline {
        args.extend(["--baseline", path.as_str()]);
    }
    cargo(&args)
}

/// The two fuzzers of `cargo xtask fuzz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Fuzzer {
    /// Schemathesis against the services' OpenAPI documents and the BFF.
    Schemathesis,
    /// The cargo-fuzz targets of fuzz/ (our parsers).
    CargoFuzz,
}

/// Prints what the command is doing, so a new user can follow along.
pub fn step(what: &str) {
    println!("\n==> {what}");
}

fn build_native() -> Result<()> {
    step("building the mall binary (cargo build --release -p mall)");
    cargo(&["build", "--release", "-p", "mall"])
}

pub fn mall_binary() -> std::path::PathBuf {
    std::path::Path::new("target").join("release").join("mall")
}

/// Runs cargo with these arguments in the workspace root, failing on a non-zero exit.
pub fn cargo(args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(args)
        .status()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}
