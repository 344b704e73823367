//! Schemathesis against each service's OpenAPI document (`/v3/api-docs`) and against the
//! BFF's GraphQL endpoint (its schema loaded by introspection from the URL) on a running mall.
//!
//! - [`suite`], inside `cargo xtask test`: a bounded, seeded run ([`SUITE`]: a few hundred
//!   cases per service, positive and negative data), failing the suite on any failure.
//! - [`long`], `cargo xtask fuzz`: the same with many more examples per operation (tens of
//!   thousands of cases per service); writes the `### Schemathesis` part of RELIABILITY.md's
//!   Fuzzing section (`cargo_fuzz` writes the `### cargo-fuzz` part).
//!
//! The checks, and why each is on or off, are in `xtask/schemathesis.toml`. The phases are
//! examples, coverage (boundaries and each constraint broken on purpose) and fuzzing; the
//! long run adds the stateful phase, which follows the documents' OpenAPI links (a placed
//! order to reading and cancelling it, a completed delivery to reading it).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};

use crate::{python, step};

/// The checks and their settings (for the services' OpenAPI documents).
const CONFIG: &str = "xtask/schemathesis.toml";
/// The same for calls with no token (which statuses a stranger may get).
const CONFIG_ANONYMOUS: &str = "xtask/schemathesis-anonymous.toml";
/// Where the Schemathesis hooks modules live: the BFF's GraphQL check, and the services'
/// generation hooks.
const HOOKS_DIR: &str = "xtask";
const GRAPHQL_HOOKS: &str = "mall_graphql_checks";
const GRAPHQL_CHECK: &str = "typed_graphql_errors";
/// The generation hooks of the services' runs (cases a query string cannot carry).
const OPENAPI_HOOKS: &str = "mall_openapi_hooks";
/// Where the Fuzzing section goes.
use crate::reliability::{self, PATH as RELIABILITY};
/// How long the mall may take to print its URLs.
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// The services, in the order they are fuzzed.
const SERVICES: [&str; 4] = ["order", "delivery", "product", "mypage"];
/// Examples per operation of the long run's anonymous calls to the services (each is refused
/// before its input is read, so more would repeat the same answer).
const ANONYMOUS_EXAMPLES: u32 = 200;

/// How much to generate.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Examples per operation (Schemathesis `--max-examples`).
    pub examples: u32,
    pub seed: u64,
    /// Also the stateful phase (sequences of calls along the OpenAPI links): long runs only.
    pub stateful: bool,
}

/// The run inside `cargo xtask test`: fixed seed, a few hundred cases per service, seconds.
pub const SUITE: Budget = Budget {
    examples: 25,
    seed: 12,
    stateful: false,
};

/// The default of `cargo xtask fuzz`.
pub const LONG: Budget = Budget {
    examples: 2000,
    seed: 12,
    stateful: true,
};

/// What one Schemathesis run found.
#[derive(Debug)]
struct Outcome {
    target: String,
    cases: u64,
    failures: u64,
    took: Duration,
    ok: bool,
}

/// The bounded run of the test suite: fails when any check fails on any service.
pub fn suite(mall: &Path) -> Result<()> {
    let outcomes = run(mall, SUITE)?;
    let failed: Vec<_> = outcomes.iter().filter(|o| !o.ok).collect();
    if !failed.is_empty() {
        bail!(
            "Schemathesis found failures against {} (its report is above; replay with the \
             seed {})",
            failed
                .iter()
                .map(|o| o.target.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            SUITE.seed
        );
    }
    Ok(())
}

/// The long run: writes RELIABILITY.md's Fuzzing section, then fails if anything was found.
pub fn long(mall: &Path, budget: Budget) -> Result<()> {
    let outcomes = run(mall, budget)?;
    let section = fuzzing_section(
        &outcomes,
        budget,
        &reliability::date()?,
        &reliability::machine(),
    );
    reliability::write_subsection("## Fuzzing", "### Schemathesis", &section)?;
    step(&format!(
        "wrote the Schemathesis part of the Fuzzing section of {RELIABILITY}"
    ));
    print!("{section}");
    if outcomes.iter().any(|o| !o.ok) {
        bail!("Schemathesis found failures; see its reports above and {RELIABILITY}");
    }
    Ok(())
}

fn run(mall: &Path, budget: Budget) -> Result<Vec<Outcome>> {
    python::ensure()?;
    let running = Mall::start(mall)?;
    let mut outcomes = Vec::new();
    for (service, url) in SERVICES.iter().zip(&running.urls) {
        let docs = format!("{url}/v3/api-docs");
        step(&format!(
            "fuzzing the {service} service with Schemathesis ({docs}, signed in as staff, {} \
             examples per operation, seed {})",
            budget.examples, budget.seed
        ));
        let token = running.token(service)?;
        outcomes.push(schemathesis(
            service_command(&docs, budget, Some(&token)),
            budget,
            &format!("{service} service (OpenAPI), signed in"),
        )?);
    }
    // The BFF: the schema comes from its URL by introspection, as a GraphQL tool loads it.
    // Schemathesis's own GraphQL check counts every entry of `errors` as a failure, even a
    // typed refusal (an order that does not exist), so ours says what the BFF promises:
    // no 5xx, a GraphQL response, every error with a stable code, no internal URL.
    // Signed in as staff (every field answers) and anonymously (what a stranger reaches).
    let staff = running.token("bff")?;
    for (caller, token) in [("signed in", Some(staff.as_str())), ("anonymous", None)] {
        step(&format!(
            "fuzzing the BFF with Schemathesis ({}, {caller}, {} examples per operation, \
             seed {})",
            running.graphql, budget.examples, budget.seed
        ));
        let mut command = Command::new(python::tool("schemathesis"));
        command
            .env("PYTHONPATH", HOOKS_DIR)
            .env("SCHEMATHESIS_HOOKS", GRAPHQL_HOOKS)
            .args(["run", &running.graphql, "--checks", GRAPHQL_CHECK]);
        if let Some(token) = token {
            command.args(["--header", &format!("Authorization: Bearer {token}")]);
        }
        outcomes.push(schemathesis(
            command,
            budget,
            &format!("BFF (GraphQL), {caller}"),
        )?);
    }
    // The services called with no token: every operation must refuse as its document says
    // (401 problem), whatever the input. Long runs only: the suite's BFF run already covers
    // an anonymous caller, and these answers do not depend on the data.
    if budget.stateful {
        let anonymous = Budget {
            examples: budget.examples.min(ANONYMOUS_EXAMPLES),
            ..budget
        };
        for (service, url) in SERVICES.iter().zip(&running.urls) {
            let docs = format!("{url}/v3/api-docs");
            step(&format!(
                "fuzzing the {service} service with Schemathesis ({docs}, anonymous, {} \
                 examples per operation, seed {})",
                anonymous.examples, anonymous.seed
            ));
            outcomes.push(schemathesis(
                service_command(&docs, anonymous, None),
                anonymous,
                &format!("{service} service (OpenAPI), anonymous"),
            )?);
        }
    }
    Ok(outcomes)
}

/// Schemathesis against one service's OpenAPI document, with a bearer token or none.
fn service_command(docs: &str, budget: Budget, token: Option<&str>) -> Command {
    let mut command = Command::new(python::tool("schemathesis"));
    command
        .env("PYTHONPATH", HOOKS_DIR)
        .env("SCHEMATHESIS_HOOKS", OPENAPI_HOOKS);
    match token {
        Some(token) => command
            .args(["--config-file", CONFIG, "run", docs])
            .args(["--header", &format!("Authorization: Bearer {token}")]),
        None => command.args(["--config-file", CONFIG_ANONYMOUS, "run", docs]),
    };
    command.args(["--mode", "all", "--phases", phases(budget)]);
    command
}

/// The Schemathesis phases of a run against the services.
fn phases(budget: Budget) -> &'static str {
    if budget.stateful {
        "examples,coverage,fuzzing,stateful"
    } else {
        "examples,coverage,fuzzing"
    }
}

/// Runs one Schemathesis command with the budget's examples and seed, its output shown as
/// it comes and read for the summary.
fn schemathesis(mut command: Command, budget: Budget, target: &str) -> Result<Outcome> {
    let started = Instant::now();
    let mut child = command
        .args(["--max-examples", &budget.examples.to_string()])
        .args(["--seed", &budget.seed.to_string()])
        .args(["--workers", "1", "--no-color"])
        .args(["--generation-database", "none"])
        .stdout(Stdio::piped())
        .spawn()
        .context("running schemathesis (python::ensure installs it)")?;
    let mut text = String::new();
    let stdout = child.stdout.take().context("schemathesis's stdout")?;
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        println!("{line}");
        text.push_str(&line);
        text.push('\n');
    }
    let status = child.wait().context("waiting for schemathesis")?;
    let (cases, failures) = counts(&text)
        .with_context(|| format!("reading Schemathesis's summary for the {target}"))?;
    Ok(Outcome {
        target: target.to_owned(),
        cases,
        failures,
        took: started.elapsed(),
        ok: status.success() && failures == 0,
    })
}

/// (cases generated, unique failures) from the summary Schemathesis prints:
/// `Test cases:` then `  543 generated, 543 passed` or `  627 generated, 1 found 1 unique failure`.
fn counts(summary: &str) -> Option<(u64, u64)> {
    let mut lines = summary.lines();
    lines.find(|l| l.trim() == "Test cases:")?;
    let line = lines.next()?;
    let cases = line.split_whitespace().next()?.parse().ok()?;
    // "N found M unique failures": M distinct failures (a failure may repeat over cases).
    let failures = match line.split_once(" unique") {
        None => 0,
        Some((before, _)) => before
            .split_whitespace()
            .last()
            .and_then(|n| n.parse().ok())
            .unwrap_or(1),
    };
    Some((cases, failures))
}

fn fuzzing_section(outcomes: &[Outcome], budget: Budget, date: &str, machine: &str) -> String {
    let mut s = String::from("### Schemathesis\n\n");
    s.push_str(&format!(
        "Written by `cargo xtask fuzz` on {date}. Schemathesis {} against each service's \
         OpenAPI document (`/v3/api-docs`; positive and negative data, phases {}) and against \
         the BFF's GraphQL endpoint (schema by introspection from its URL; the check \
         `typed_graphql_errors` of `xtask/mall_graphql_checks.py`) on one `mall --target all`, \
         {} examples per operation, seed {} (`cargo xtask fuzz --examples {} --seed {}` repeats \
         it). Each target is called signed in (a staff bearer token from `mall token`, so every \
         operation and field answers) and anonymously (no token: the BFF's public fields \
         answer and the rest refuse with a typed error; every service operation must refuse \
         with its documented 401 problem, {} examples per operation as the answer does not \
         depend on the input). The checks, and why each is on or off, are in \
         `xtask/schemathesis.toml`; the figure to reach is no failure. Each failure is \
         reported in the command's output with a `curl` line that reproduces it. Cases a query \
         string cannot carry are dropped before they are sent (`xtask/mall_openapi_hooks.py`).\n\n",
        python::PACKAGES
            .iter()
            .find(|(n, _, _)| *n == "schemathesis")
            .map(|(_, v, _)| *v)
            .unwrap_or("?"),
        phases(budget).replace(',', ", "),
        budget.examples,
        budget.seed,
        budget.examples,
        budget.seed,
        budget.examples.min(ANONYMOUS_EXAMPLES),
    ));
    s.push_str(&format!("- **Machine**: {machine}\n\n"));
    s.push_str("| target | cases | failures | time |\n|---|---:|---:|---:|\n");
    for o in outcomes {
        s.push_str(&format!(
            "| {} | {} | {} | {:.0} s |\n",
            o.target,
            o.cases,
            o.failures,
            o.took.as_secs_f64()
        ));
    }
    s.push('\n');
    s
}

/// A `mall --target all` on free ports with a fresh data directory, stopped on drop.
struct Mall {
    child: Child,
    /// order, delivery, product, mypage
    urls: Vec<String>,
    /// The BFF's GraphQL endpoint.
    graphql: String,
    data_dir: PathBuf,
    binary: PathBuf,
}

impl Mall {
    fn start(binary: &Path) -> Result<Mall> {
        let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
        let data_dir =
            std::env::temp_dir().join(format!("mall-fuzz-{}-{stamp}", std::process::id()));
        std::fs::create_dir_all(&data_dir)?;
        let data = data_dir.to_string_lossy().into_owned();
        let dist = data_dir.join("dist").to_string_lossy().into_owned();
        let args = [
            "--target",
            "all",
            "--any-port",
            "--data-dir",
            &data,
            "--dist",
            &dist,
        ];
        step(&format!("starting {} {}", binary.display(), args.join(" ")));
        let mut child = Command::new(binary)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().context("the mall's stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // The GraphQL line comes first, then the services' line.
            let mut graphql = None;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = graphql_url(&line) {
                    graphql = Some(url);
                }
                if let (Some(urls), Some(graphql)) = (service_urls(&line), &graphql) {
                    let _ = tx.send((urls, graphql.clone()));
                }
            }
        });
        let mut mall = Mall {
            child,
            urls: vec![],
            graphql: String::new(),
            data_dir,
            binary: binary.to_owned(),
        };
        match rx.recv_timeout(START_TIMEOUT) {
            Ok((urls, graphql)) => {
                mall.urls = urls;
                mall.graphql = graphql;
            }
            Err(_) => bail!("the mall did not print its URLs within {START_TIMEOUT:?}"),
        }
        Ok(mall)
    }
}

impl Mall {
    /// A staff token for `audience` (a service, or `bff`): the fuzzer calls as the shop's
    /// first staff account, so every route is reached past its sign-in check.
    fn token(&self, audience: &str) -> Result<String> {
        let bff = self.graphql.trim_end_matches("/graphql");
        let out = Command::new(&self.binary)
            .args([
                "token",
                "--account",
                STAFF,
                "--audience",
                audience,
                "--ttl",
                "2h",
            ])
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--public-url", bff])
            .output()
            .context("running `mall token`")?;
        if !out.status.success() {
            bail!(
                "`mall token` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }
}

/// The shop's first staff account, made on the mall's first start.
const STAFF: &str = "staff@12st.example";

/// The URLs of `  services: order URL  delivery URL  product URL  mypage URL`, in
/// [`SERVICES`] order.
fn service_urls(line: &str) -> Option<Vec<String>> {
    let rest = line.trim().strip_prefix("services:")?;
    let words: Vec<&str> = rest.split_whitespace().collect();
    SERVICES
        .iter()
        .map(|s| {
            let i = words.iter().position(|w| w == s)?;
            words.get(i + 1).map(|u| u.trim_end_matches('/').to_owned())
        })
        .collect()
}

/// The URL of `  GraphQL (and GraphiQL): URL`.
fn graphql_url(line: &str) -> Option<String> {
    let rest = line.trim().strip_prefix("GraphQL")?;
    rest.split_whitespace()
        .find(|w| w.starts_with("http://") || w.starts_with("https://"))
        .map(str::to_owned)
}

impl Drop for Mall {
    fn drop(&mut self) {
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
    use super::*;

    #[test]
    fn reads_schemathesis_summaries() {
        let ok = "Failures:\n\nTest cases:\n  543 generated, 543 passed\n\nSeed: 12\n";
        assert_eq!(counts(ok), Some((543, 0)));
        let bad = "Test cases:\n  627 generated, 1 found 1 unique failure\n";
        assert_eq!(counts(bad), Some((627, 1)));
        let many = "Test cases:\n  9000 generated, 12 found 3 unique failures, 8988 passed\n";
        assert_eq!(counts(many), Some((9000, 3)));
        assert_eq!(counts("no summary"), None);
    }

    #[test]
    fn reads_the_service_urls_the_mall_prints() {
        let line = "  services: order http://127.0.0.1:1  delivery http://127.0.0.1:2  \
                    product http://127.0.0.1:3  mypage http://127.0.0.1:4";
        assert_eq!(
            service_urls(line),
            Some(vec![
                "http://127.0.0.1:1".to_owned(),
                "http://127.0.0.1:2".into(),
                "http://127.0.0.1:3".into(),
                "http://127.0.0.1:4".into(),
            ])
        );
        assert_eq!(service_urls("Press Ctrl-C to stop."), None);
    }

    #[test]
    fn reads_the_graphql_url_the_mall_prints() {
        assert_eq!(
            graphql_url("  GraphQL (and GraphiQL): http://127.0.0.1:5/graphql"),
            Some("http://127.0.0.1:5/graphql".to_owned())
        );
        assert_eq!(
            graphql_url("12st mall is running: open http://127.0.0.1:5/"),
            None
        );
    }
}
