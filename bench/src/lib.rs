//! The 12st mall benchmarks: the BFF and the micro-frontends measured side by side against
//! the real system on 127.0.0.1, in one run, with targets as ratios of numbers of that run.
//!
//! - [`machine`]: the machine line, a process's CPU time and memory from /proc
//! - [`stats`]: percentiles and how numbers are written
//! - [`report`]: rows, verdicts, the table and BENCHMARKS.md
//! - [`proxy`]: the latency-injecting (or hanging) HTTP proxy in front of each service
//! - [`rig`]: the services (behind proxies or not) and the `mall` processes under test
//! - [`graphql`], [`naive`]: the BFF's client and the naive resolver baseline
//! - [`subscriber`]: a `myPage` subscriber over graphql-transport-ws
//! - [`fanout_floor`]: a minimal server's fan-out to as many sockets, the floor of scenario 4 (b)
//! - [`tokens`]: bearer tokens signed with the key of the `mall` process under test
//! - [`bundle`]: the micro-frontend bundles' sizes and what their wasm is made of
//! - [`wrk`]: the load generator
//! - [`profile`]: where a process's CPU time goes (perf), for missed targets
//! - [`scenario`]: one module per scenario

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;

pub mod bundle;
pub mod fanout_floor;
pub mod graphql;
pub mod machine;
pub mod naive;
pub mod profile;
pub mod proxy;
pub mod query_trace;
pub mod report;
pub mod rig;
pub mod scenario;
pub mod stats;
pub mod subscriber;
pub mod tokens;
pub mod wrk;

/// How many products the services seed (orders cycle through them).
pub const PRODUCTS: u64 = mall_services::product::SEED.len() as u64;

/// What every scenario shares.
pub struct Bench {
    pub client: reqwest::Client,
    /// The `mall` binary, or why there is none.
    pub mall: Result<PathBuf, String>,
    /// An older `mall` binary to compare scenario 2's CPU per query with (`--baseline`).
    pub baseline: Option<PathBuf>,
    /// Whether wrk is usable, or why not.
    pub wrk: Result<(), String>,
    pub report: report::Report,
}

/// A scenario: the numbers `--only` selects it by, and the names its rows and readings go
/// under in the report (its own first).
type Scenario = (&'static [&'static str], &'static [&'static str]);

/// In the order they run. Scenario 2's run also measures 6 (the BFF's memory under its load).
const SCENARIOS: &[Scenario] = &[
    (&["1"], &[scenario::composite::SCENARIO]),
    (
        &["2", "6"],
        &[scenario::overhead::SCENARIO, scenario::overhead::MEMORY],
    ),
    (&["3"], &[scenario::breaker::SCENARIO]),
    (&["4"], &[scenario::subscriptions::SCENARIO]),
    (&["5"], &[scenario::frontend::SCENARIO]),
];

/// Runs the selected scenarios (all when `only` is empty), prints the table and writes
/// BENCHMARKS.md at the repository root.
pub async fn run(only: &[String], mall: Option<PathBuf>, baseline: Option<PathBuf>) -> Result<()> {
    let started = Instant::now();
    let machine = machine::Machine::read();
    println!("12st mall benchmarks on {}", machine.line());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let mall = match mall {
        Some(path) if path.is_file() => Ok(path),
        Some(path) => Err(format!("there is no mall binary at {}", path.display())),
        None => rig::mall_binary().map_err(|e| format!("{e:#}")),
    };
    let wrk = wrk::ensure_installed().map_err(|e| format!("{e:#}"));
    if let Some(path) = baseline.as_ref().filter(|p| !p.is_file()) {
        anyhow::bail!("there is no baseline mall binary at {}", path.display());
    }
    let mut bench = Bench {
        client,
        mall,
        baseline,
        wrk,
        report: report::Report::default(),
    };
    let mut not_run = Vec::new();
    for (ids, names) in SCENARIOS {
        if !only.is_empty() && !only.iter().any(|o| ids.contains(&o.as_str())) {
            not_run.extend_from_slice(names);
            continue;
        }
        let name = names[0];
        println!("\nscenario {name}");
        let t = Instant::now();
        let outcome = match ids[0] {
            "1" => scenario::composite::run(&mut bench).await,
            "2" => scenario::overhead::run(&mut bench).await,
            "3" => scenario::breaker::run(&mut bench).await,
            "4" => scenario::subscriptions::run(&mut bench).await,
            "5" => scenario::frontend::run(&mut bench).await,
            _ => Ok(()),
        };
        if let Err(e) = outcome {
            eprintln!("scenario {name} failed: {e:#}");
            bench
                .report
                .not_measured(name, "the whole scenario", format!("it failed: {e:#}"));
        }
        println!("  ({:.0} s)", t.elapsed().as_secs_f64());
    }
    let table = bench.report.table();
    println!("\n{}\n{table}", machine.line());
    let mut notes = Vec::new();
    if machine.load_at_start > 0.5 {
        notes.push(format!(
            "**Contention**: the load average was {:.2} when the run started, so other work \
             shared the {} cores; absolute numbers are noisier than on an idle machine.",
            machine.load_at_start, machine.cores
        ));
    }
    notes.push(format!(
        "**Duration**: {:.0} s for the whole run.",
        started.elapsed().as_secs_f64()
    ));
    let when = format!(
        "{} (scenarios: {})",
        now_utc(),
        if only.is_empty() {
            "all".into()
        } else {
            only.join(", ")
        }
    );
    let path = rig::repo_root().join("BENCHMARKS.md");
    if !not_run.is_empty() {
        // A partial run replaces only its own scenarios' rows and readings.
        let previous = std::fs::read_to_string(&path).unwrap_or_default();
        let rank = |name: &str| {
            SCENARIOS
                .iter()
                .position(|(_, names)| names.contains(&name))
        };
        notes.extend(bench.report.keep_from(&previous, &not_run, rank));
    }
    let md = bench.report.markdown(&machine.line(), &when, &notes);
    std::fs::write(&path, md)?;
    println!("written to BENCHMARKS.md");
    Ok(())
}

/// The current UTC time as `2026-11-23 17:05 UTC` (from `date`, to avoid a time crate).
fn now_utc() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown time".into())
}
