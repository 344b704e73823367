//! The cargo-fuzz targets of `fuzz/` (libFuzzer, nightly), each run for a bounded time by
//! `cargo xtask fuzz` after Schemathesis; writes the `### cargo-fuzz` part of RELIABILITY.md's
//! Fuzzing section. Never part of `cargo xtask test`: there, `tests/fuzz_regressions.rs` of
//! the BFF and the services run every kept input (`fuzz/regressions/<target>/`) through the
//! same properties on stable.
//!
//! Installs what it needs when missing: the nightly toolchain (`rustup toolchain install
//! nightly --profile minimal`) and cargo-fuzz (`cargo install cargo-fuzz --locked`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::reliability::{self, PATH as RELIABILITY};
use crate::step;

/// The fuzz crate, its own workspace.
const FUZZ_DIR: &str = "fuzz";
/// Where its nightly, instrumented build goes (kept apart from the stable build's files).
const TARGET_DIR: &str = "target/fuzz";

/// The targets, what each feeds its bytes to, in the order they run.
pub const TARGETS: [(&str, &str); 5] = [
    (
        "hal_document",
        "an upstream's HAL document: `_links`, `_embedded`, `page`, each item as every model reads it (BFF)",
    ),
    (
        "link_template",
        "a link's href: resolved against its document's URL and expanded (RFC 6570) with the BFF's variables",
    ),
    (
        "domain_event",
        "an event off the bus, decoded as the bus does, written back, then handled by the product, delivery and my-page policies",
    ),
    (
        "idempotency_key",
        "`Idempotency-Key`: read by the order service; a key the BFF passes on must be accepted unchanged",
    ),
    (
        "graphql_request",
        "the GraphQL over HTTP envelope: the bytes as a POST body, a GET query string and an `Accept` header (BFF)",
    ),
];

/// How long each target runs.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub seconds: u64,
    /// libFuzzer's `-seed` (the same seed and corpus repeat the same mutations).
    pub seed: u64,
}

/// What one target's run did.
#[derive(Debug, Default, PartialEq)]
struct Outcome {
    target: String,
    runs: u64,
    execs_per_sec: u64,
    /// Code edges covered at the end (libFuzzer's `cov:`).
    coverage: u64,
    /// Inputs in the corpus at the end.
    corpus: u64,
    /// libFuzzer stops at the first crash: 0 or 1 per run.
    crashes: u64,
    /// Where libFuzzer wrote the crashing input.
    artifact: Option<String>,
    took: Duration,
}

/// Runs every target for `budget.seconds`, writes the figures, then fails if any crashed.
pub fn long(budget: Budget) -> Result<()> {
    ensure()?;
    build()?;
    let mut outcomes = Vec::new();
    for (target, _) in TARGETS {
        outcomes.push(run(target, budget)?);
    }
    let section = section(
        &outcomes,
        budget,
        &reliability::date()?,
        &reliability::machine(),
        &nightly_version(),
    );
    reliability::write_subsection("## Fuzzing", "### cargo-fuzz", &section)?;
    step(&format!(
        "wrote the cargo-fuzz part of the Fuzzing section of {RELIABILITY}"
    ));
    print!("{section}");
    let crashed: Vec<_> = outcomes.iter().filter(|o| o.crashes > 0).collect();
    if !crashed.is_empty() {
        bail!(
            "cargo-fuzz found crashes: {} (each input is under fuzz/artifacts/<target>/; \
             fix the parser and keep the input in fuzz/regressions/<target>/)",
            crashed
                .iter()
                .map(|o| format!("{} ({})", o.target, o.artifact.as_deref().unwrap_or("?")))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

/// Installs the nightly toolchain and cargo-fuzz when they are missing.
fn ensure() -> Result<()> {
    let toolchains = Command::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .context("running rustup (cargo-fuzz needs the nightly toolchain through rustup)")?;
    if !String::from_utf8_lossy(&toolchains.stdout)
        .lines()
        .any(|l| l.starts_with("nightly"))
    {
        step("installing the nightly toolchain for cargo-fuzz (rustup toolchain install nightly --profile minimal)");
        run_ok(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))?;
    }
    let has_fuzz = Command::new("cargo")
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_fuzz {
        step("installing cargo-fuzz (cargo install cargo-fuzz --locked)");
        run_ok(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))?;
    }
    Ok(())
}

/// `cargo fuzz` on the nightly toolchain, from the repository root.
fn cargo_fuzz() -> Command {
    let mut command = Command::new("rustup");
    command
        .args(["run", "nightly", "cargo", "fuzz"])
        // The stable cargo that runs xtask must not stand in for nightly's.
        .env_remove("CARGO")
        .env_remove("RUSTUP_TOOLCHAIN");
    command
}

/// The build options: no sanitizer (the code under test is safe Rust; a panic is the
/// finding), and debug assertions with overflow checks on, as in the tests.
fn build_options() -> Vec<String> {
    let target_dir = std::env::current_dir()
        .map(|d| d.join(TARGET_DIR))
        .unwrap_or_else(|_| PathBuf::from(TARGET_DIR));
    vec![
        "--fuzz-dir".into(),
        FUZZ_DIR.into(),
        "--sanitizer".into(),
        "none".into(),
        "--debug-assertions".into(),
        "--target-dir".into(),
        target_dir.to_string_lossy().into_owned(),
    ]
}

fn build() -> Result<()> {
    step(&format!(
        "building the cargo-fuzz targets (nightly, into {TARGET_DIR}; minutes the first time)"
    ));
    run_ok(cargo_fuzz().arg("build").args(build_options()))
}

fn run(target: &str, budget: Budget) -> Result<Outcome> {
    let corpus = Path::new(FUZZ_DIR).join("corpus").join(target);
    let kept = Path::new(FUZZ_DIR).join("regressions").join(target);
    std::fs::create_dir_all(&corpus)?;
    step(&format!(
        "fuzzing `{target}` with libFuzzer for {} s (seed {}; corpus {}, kept inputs {})",
        budget.seconds,
        budget.seed,
        corpus.display(),
        kept.display()
    ));
    let started = Instant::now();
    let mut child = cargo_fuzz()
        .arg("run")
        .args(build_options())
        .arg(target)
        .arg(&corpus)
        .arg(&kept)
        .arg("--")
        .arg(format!("-max_total_time={}", budget.seconds))
        .arg(format!("-seed={}", budget.seed))
        // An input that takes this long is a finding too (a hang).
        .arg("-timeout=10")
        .arg("-print_final_stats=1")
        .stderr(Stdio::piped())
        .spawn()
        .context("running cargo fuzz")?;
    let stderr = child.stderr.take().context("libFuzzer's output")?;
    let mut text = String::new();
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        // libFuzzer's progress lines come every few thousand runs: show the ones that matter.
        let progress = line.starts_with('#') || line.trim_start().starts_with("NEW_FUNC");
        if !progress || line.contains("DONE") || line.contains("INITED") {
            eprintln!("{line}");
        }
        text.push_str(&line);
        text.push('\n');
    }
    let status = child.wait().context("waiting for cargo fuzz")?;
    let mut outcome = read_output(&text);
    outcome.target = target.to_owned();
    outcome.took = started.elapsed();
    if !status.success() && outcome.crashes == 0 {
        if outcome.runs == 0 {
            bail!("cargo fuzz run {target} failed ({status}) before fuzzing; its output is above");
        }
        outcome.crashes = 1;
    }
    Ok(outcome)
}

/// The figures of libFuzzer's output (`-print_final_stats=1`).
fn read_output(text: &str) -> Outcome {
    let stat = |name: &str| {
        text.lines()
            .filter_map(|l| l.strip_prefix(&format!("stat::{name}:")))
            .find_map(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    // The last status line: `#123 DONE cov: 456 ft: 789 corp: 12/345b ...`.
    let last = text
        .lines()
        .rev()
        .find(|l| l.starts_with('#') && l.contains("cov: "))
        .unwrap_or("");
    let after = |key: &str| {
        last.split_once(key)
            .and_then(|(_, rest)| {
                rest.split(|c: char| !c.is_ascii_digit())
                    .find(|s| !s.is_empty())
            })
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let artifact = text
        .lines()
        .find_map(|l| l.split_once("Test unit written to "))
        .map(|(_, path)| path.trim().to_owned());
    let crashed = text.contains("ERROR: libFuzzer")
        || text.contains("panicked at")
        || text.contains("SUMMARY: libFuzzer");
    Outcome {
        target: String::new(),
        runs: stat("number_of_executed_units"),
        execs_per_sec: stat("average_exec_per_sec"),
        coverage: after("cov: "),
        corpus: after("corp: "),
        crashes: u64::from(crashed),
        artifact,
        took: Duration::ZERO,
    }
}

fn nightly_version() -> String {
    Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .env_remove("RUSTUP_TOOLCHAIN")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|_| "rustc nightly".into())
}

fn section(
    outcomes: &[Outcome],
    budget: Budget,
    date: &str,
    machine: &str,
    toolchain: &str,
) -> String {
    let mut s = String::from("### cargo-fuzz\n\n");
    s.push_str(&format!(
        "Written by `cargo xtask fuzz` on {date}: each target of `fuzz/` (libFuzzer through \
         cargo-fuzz, {toolchain}, no sanitizer, debug assertions and overflow checks on) for \
         {} s, seed {}, starting from its corpus (`fuzz/corpus/`, not kept) and its kept \
         inputs (`fuzz/regressions/`, seeds and findings; `cargo test` runs them through the \
         same properties on stable). `cargo xtask fuzz --only cargo-fuzz --libfuzzer-seconds {} \
         --libfuzzer-seed {}` repeats it. A crash is a panic or a broken invariant; libFuzzer \
         stops a target at its first. The findings so far (three panics in the link-template \
         library, a key the BFF passed on that the order service refuses), each fixed with a \
         regression test, are listed in ARCHITECTURE.md, \"Fuzzing the parsers\".\n\n",
        budget.seconds, budget.seed, budget.seconds, budget.seed
    ));
    s.push_str(&format!("- **Machine**: {machine}\n\n"));
    s.push_str(
        "| target | what it parses | runs | runs/s | coverage (edges) | corpus | crashes | time |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for o in outcomes {
        let what = TARGETS
            .iter()
            .find(|(t, _)| *t == o.target)
            .map(|(_, w)| *w)
            .unwrap_or("");
        s.push_str(&format!(
            "| `{}` | {what} | {} | {} | {} | {} | {} | {:.0} s |\n",
            o.target,
            o.runs,
            o.execs_per_sec,
            o.coverage,
            o.corpus,
            o.crashes,
            o.took.as_secs_f64()
        ));
    }
    s.push('\n');
    s
}

fn run_ok(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_of_the_fuzz_crate_runs() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/fuzz_targets");
        let mut found: Vec<String> = std::fs::read_dir(dir)
            .expect("fuzz/fuzz_targets")
            .filter_map(|e| {
                let name = e.ok()?.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".rs").map(str::to_owned)
            })
            .collect();
        found.sort();
        let mut listed: Vec<String> = TARGETS.iter().map(|(t, _)| (*t).to_owned()).collect();
        listed.sort();
        assert_eq!(found, listed);
    }

    #[test]
    fn reads_libfuzzer_figures() {
        let done = "INFO: Seed: 12\n\
                    #2\tINITED cov: 100 ft: 120 corp: 4/300b exec/s: 0 rss: 40Mb\n\
                    #65536\tpulse  cov: 900 ft: 1200 corp: 80/4Kb lim: 200 exec/s: 21845 rss: 60Mb\n\
                    #120000\tDONE   cov: 950 ft: 1300 corp: 91/5Kb lim: 220 exec/s: 2000 rss: 61Mb\n\
                    Done 120000 runs in 61 second(s)\n\
                    stat::number_of_executed_units: 120000\n\
                    stat::average_exec_per_sec:     1967\n\
                    stat::new_units_added:          87\n";
        let o = read_output(done);
        assert_eq!(
            (o.runs, o.execs_per_sec, o.coverage, o.corpus, o.crashes),
            (120000, 1967, 950, 91, 0)
        );
        let crash = "#300\tNEW    cov: 50 ft: 60 corp: 9/90b lim: 4 exec/s: 0 rss: 40Mb\n\
                     thread '<unnamed>' panicked at bff/src/x.rs:1:1:\nboom\n\
                     ==1== ERROR: libFuzzer: deadly signal\n\
                     artifact_prefix='fuzz/artifacts/x/'; Test unit written to fuzz/artifacts/x/crash-ab\n\
                     stat::number_of_executed_units: 301\n";
        let o = read_output(crash);
        assert_eq!((o.runs, o.crashes), (301, 1));
        assert_eq!(o.artifact.as_deref(), Some("fuzz/artifacts/x/crash-ab"));
    }
}
