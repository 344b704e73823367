//! Scenario 3, the breaker under fault: scenario 2's load (wrk on the product listing through
//! the BFF) while the delivery service hangs (its proxy never answers), beside a loop of
//! queries that touch the delivery service alone (a customer's deliveries). Targets: the
//! product listing's p99 stays within 10% of the same run with every upstream healthy; the
//! deliveries queries return within the delivery timeout until the circuit opens, and within
//! 5 ms after.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde_json::Value;

use crate::graphql::{self, PRODUCTS};
use crate::profile;
use crate::proxy::Mode;
use crate::report::Verdict;
use crate::rig::{MallProcess, Rig};
use crate::scenario::overhead::{side, LOAD, WARM_UP};
use crate::stats::{ms, Summary};
use crate::wrk::{self, Load, WrkResult};
use crate::Bench;

pub const SCENARIO: &str = "3 Breaker under fault";

/// Orders (and so deliveries) in the services.
const ORDERS: u64 = 10;
/// The delivery timeout and breaker the BFF runs with here (the defaults of
/// bff.example.toml, written out so the targets below refer to them), with a cool-down
/// longer than the run so no half-open probe lands in it.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(1);
const BFF_CONFIG: &str = "[resilience.upstreams.delivery]\n\
                          timeout = \"1s\"\n\
                          [resilience.upstreams.delivery.breaker]\n\
                          consecutive_failures = 3\n\
                          cool_down = \"60s\"\n";
/// Scenario 2's load, for long enough that the circuit opens (three delivery timeouts, and
/// their retries) well inside it.
const FAULT_LOAD: Load = Load {
    duration: Duration::from_secs(10),
    ..LOAD
};
/// Healthy and hung runs, each pair on a fresh BFF; medians are reported.
const ROUNDS: usize = 3;
/// A query that needs the hung upstream answers within its timeout plus this much (the
/// GraphQL answer itself, once the BFF gives up on the upstream).
const CLOSED_BOUND: Duration = DELIVERY_TIMEOUT.saturating_add(Duration::from_millis(5));
/// Answers within this once the circuit is open.
const OPEN_BOUND: Duration = Duration::from_millis(5);
/// How much the untouched queries' p99 may grow.
const P99_GROWTH: f64 = 0.10;

/// The customer whose deliveries the side loop asks for (signed in as them).
const DELIVERIES_OF: &str = "1@uengine.org";

/// The side loop's query: it needs the delivery service and nothing else.
pub const DELIVERIES: &str =
    "query Deliveries { deliveries(customerId: \"1@uengine.org\") { id orderId status } }";

/// One query of the side loop: how long it took, and whether the delivery circuit
/// was already open when it started.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    pub took: Duration,
    pub circuit_open_before: bool,
}

/// The side loop's queries, split at the first one that started with the circuit open.
pub fn split(probes: &[Probe]) -> (Vec<Duration>, Vec<Duration>) {
    let first_open = probes
        .iter()
        .position(|p| p.circuit_open_before)
        .unwrap_or(probes.len());
    let before = probes[..first_open].iter().map(|p| p.took).collect();
    let after = probes[first_open..].iter().map(|p| p.took).collect();
    (before, after)
}

pub async fn run(bench: &mut Bench) -> Result<()> {
    let why = match (&bench.wrk, &bench.mall) {
        (Err(why), _) | (_, Err(why)) => Some(why.clone()),
        _ => None,
    };
    if let Some(why) = why {
        bench
            .report
            .not_measured(SCENARIO, "the whole scenario", why);
        return Ok(());
    }
    let mall = bench.mall.clone().expect("checked above");
    let rig = Rig::start(true).await?;
    let result = measure(bench, &rig, &mall).await;
    rig.stop().await;
    result
}

async fn circuit_open(client: &reqwest::Client, url: &str, upstream: &str) -> Result<bool> {
    let answer = graphql::post(client, url, "{ upstreams { name state } }").await?;
    let data = answer.expect_clean()?;
    let state = data
        .get("upstreams")
        .and_then(Value::as_array)
        .and_then(|all| {
            all.iter()
                .find(|u| u.get("name").and_then(Value::as_str) == Some(upstream))
        })
        .and_then(|u| u.get("state"))
        .and_then(Value::as_str)
        .unwrap_or("UNKNOWN");
    Ok(state == "OPEN")
}

/// Runs [`DELIVERIES`] queries one after the other until `stop`, noting the delivery circuit's
/// state before each.
fn side_loop(
    client: reqwest::Client,
    url: String,
    token: String,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Result<Vec<Probe>>> {
    tokio::spawn(async move {
        let mut probes = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let circuit_open_before = circuit_open(&client, &url, "delivery").await?;
            let started = Instant::now();
            graphql::post_as(&client, &url, DELIVERIES, &token).await?;
            probes.push(Probe {
                took: started.elapsed(),
                circuit_open_before,
            });
            // Pace the loop: it samples the fault, it is not part of the load.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(probes)
    })
}

/// wrk on the product listing beside the deliveries loop.
async fn loaded_run(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    script: &Path,
    profile: Option<(u32, &Path)>,
) -> Result<(WrkResult, Vec<Probe>)> {
    let stop = Arc::new(AtomicBool::new(false));
    let side = side_loop(
        client.clone(),
        url.to_owned(),
        token.to_owned(),
        Arc::clone(&stop),
    );
    let through = match profile {
        None => wrk::run(FAULT_LOAD, url, Some(script)).await,
        Some((pid, data)) => {
            let record = profile::record(pid, FAULT_LOAD.duration - Duration::from_secs(1), data);
            let (recorded, through) = tokio::join!(record, wrk::run(FAULT_LOAD, url, Some(script)));
            recorded?;
            through
        }
    };
    stop.store(true, Ordering::Relaxed);
    let probes = side.await??;
    let through = through?;
    if through.errors > 0 {
        bail!(
            "{} of the product listing answers were errors",
            through.errors
        );
    }
    Ok((through, probes))
}

async fn measure(bench: &mut Bench, rig: &Rig, mall: &Path) -> Result<()> {
    let proxies = rig.proxies.as_ref().expect("a proxied rig");
    rig.seed_orders(ORDERS).await?;
    proxies.set_mode(Mode::Pass);
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("bff.toml");
    std::fs::write(&config, BFF_CONFIG)?;
    let config = config.to_string_lossy().into_owned();
    let mut rounds = Vec::new();
    for _ in 0..ROUNDS {
        // A fresh BFF per round: its delivery circuit starts closed.
        let bff = MallProcess::bff_with(mall, &rig.public, &["--bff-config", &config]).await?;
        let result = round(&bench.client, rig, &bff, dir.path(), false).await;
        proxies.set_mode(Mode::Pass);
        bff.stop().await;
        rounds.push(result?);
    }
    let growth = report(bench, &rounds);
    if growth > P99_GROWTH {
        // Where the BFF's time goes in each phase: one more round, not counted, under perf.
        let bff = MallProcess::bff_with(mall, &rig.public, &["--bff-config", &config]).await?;
        let result = round(&bench.client, rig, &bff, dir.path(), true).await;
        proxies.set_mode(Mode::Pass);
        bff.stop().await;
        let text = match result {
            Ok(Round {
                profiles: Some((healthy, faulty)),
                ..
            }) => format!(
                "A perf profile of the BFF in one more round (not counted), healthy: {healthy}. \
                 With delivery hung: {faulty}."
            ),
            Ok(_) => "No profile was taken.".to_owned(),
            Err(e) => format!("No profile could be taken: {e:#}."),
        };
        bench.report.reading(SCENARIO, text);
    }
    Ok(())
}

/// One healthy run and one with the delivery service hung, on one BFF process.
struct Round {
    healthy: WrkResult,
    healthy_probes: Vec<Probe>,
    faulty: WrkResult,
    probes: Vec<Probe>,
    /// With `profiled`: the BFF's profile in the healthy and the hung run.
    profiles: Option<(String, String)>,
    /// The BFF's CPU time per product listing request, healthy and hung (the side loop's
    /// few queries included).
    cpu_per_request: (Duration, Duration),
}

async fn round(
    client: &reqwest::Client,
    rig: &Rig,
    bff: &MallProcess,
    dir: &Path,
    profiled: bool,
) -> Result<Round> {
    let proxies = rig.proxies.as_ref().expect("a proxied rig");
    let url = bff.graphql_url();
    if let Err(why) = graphql::available(client, &url).await {
        bail!(why);
    }
    graphql::post(client, &url, PRODUCTS)
        .await?
        .expect_clean()?;
    let token = bff.tokens()?.customer(DELIVERIES_OF)?;
    graphql::post_as(client, &url, DELIVERIES, &token)
        .await?
        .expect_clean()?;
    let script = dir.join("products.lua");
    std::fs::write(
        &script,
        wrk::post_script(&graphql::body(PRODUCTS).to_string()),
    )?;
    wrk::run(WARM_UP, &url, Some(&script)).await?;

    let healthy_data = dir.join("healthy.perf");
    let faulty_data = dir.join("hung.perf");
    let pid = bff.proc.pid;
    let cpu = || bff.proc.cpu_time().unwrap_or_default();
    let cpu_start = cpu();
    let (healthy, healthy_probes) = loaded_run(
        client,
        &url,
        &token,
        &script,
        profiled.then_some((pid, &*healthy_data)),
    )
    .await?;
    let cpu_healthy = cpu().saturating_sub(cpu_start);
    proxies.delivery.set_mode(Mode::Hang);
    let cpu_start = cpu();
    let faulty = loaded_run(
        client,
        &url,
        &token,
        &script,
        profiled.then_some((pid, &*faulty_data)),
    )
    .await;
    let cpu_faulty = cpu().saturating_sub(cpu_start);
    proxies.delivery.set_mode(Mode::Pass);
    let (faulty, probes) = faulty?;
    let per_request =
        |cpu: Duration, requests: u64| cpu / u32::try_from(requests.max(1)).unwrap_or(u32::MAX);
    let cpu_per_request = (
        per_request(cpu_healthy, healthy.requests),
        per_request(cpu_faulty, faulty.requests),
    );
    let profiles = if profiled {
        let healthy = profile::hottest(&healthy_data, 0.05).await?;
        let faulty = profile::hottest(&faulty_data, 0.05).await?;
        Some((profile::summary(&healthy), profile::summary(&faulty)))
    } else {
        None
    };
    Ok(Round {
        healthy,
        healthy_probes,
        faulty,
        probes,
        profiles,
        cpu_per_request,
    })
}

/// Adds the rows and the reading; returns the growth of the listing's p99.
fn report(bench: &mut Bench, rounds: &[Round]) -> f64 {
    let healthy_runs: Vec<WrkResult> = rounds.iter().map(|r| r.healthy.clone()).collect();
    let faulty_runs: Vec<WrkResult> = rounds.iter().map(|r| r.faulty.clone()).collect();
    let healthy = side(&healthy_runs).expect("rounds ran");
    let faulty = side(&faulty_runs).expect("rounds ran");
    let healthy_probes: Vec<Probe> = rounds
        .iter()
        .flat_map(|r| r.healthy_probes.clone())
        .collect();
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for r in rounds {
        let (b, a) = split(&r.probes);
        before.extend(b);
        after.extend(a);
    }
    let opened_after = rounds
        .iter()
        .map(|r| split(&r.probes).0.iter().sum::<Duration>())
        .max()
        .unwrap_or_default();
    let growth = faulty.p99.as_secs_f64() / healthy.p99.as_secs_f64() - 1.0;
    let params = format!(
        "{} × {ROUNDS} rounds (medians), product listing, deliveries loop beside it",
        FAULT_LOAD.describe()
    );
    let r = &mut bench.report;
    r.row(
        SCENARIO,
        "product listing p99: healthy → delivery hung",
        params,
        format!(
            "{} → {} ({:+.0}%; rounds {}; {:.0} → {:.0} req/s)",
            ms(healthy.p99),
            ms(faulty.p99),
            growth * 100.0,
            rounds
                .iter()
                .map(|r| format!("{} → {}", ms(r.healthy.p99), ms(r.faulty.p99)))
                .collect::<Vec<_>>()
                .join(", "),
            healthy.requests_per_sec,
            faulty.requests_per_sec
        ),
        "≤ +10%",
        Verdict::of(growth <= P99_GROWTH),
    );
    let median_cpu = |f: fn(&Round) -> Duration| {
        let mut v: Vec<Duration> = rounds.iter().map(f).collect();
        v.sort();
        v.get(v.len() / 2).copied().unwrap_or_default()
    };
    let cpu_healthy = median_cpu(|r| r.cpu_per_request.0);
    let cpu_faulty = median_cpu(|r| r.cpu_per_request.1);
    r.row(
        SCENARIO,
        "BFF CPU per listing request: healthy → delivery hung",
        "BFF process CPU time (/proc) over the requests wrk completed, median of the rounds",
        format!(
            "{:.0} µs → {:.0} µs",
            cpu_healthy.as_secs_f64() * 1e6,
            cpu_faulty.as_secs_f64() * 1e6
        ),
        "",
        Verdict::Info,
    );
    let healthy_composite = Summary::of(&healthy_probes.iter().map(|p| p.took).collect::<Vec<_>>());
    if let Some(s) = healthy_composite {
        r.row(
            SCENARIO,
            "deliveries query, healthy: p50, max",
            format!("{} queries", s.count),
            format!("p50 {}, max {}", ms(s.p50), ms(s.max)),
            "",
            Verdict::Info,
        );
    }
    let before_s = Summary::of(&before);
    let after_s = Summary::of(&after);
    match before_s {
        Some(s) => r.row(
            SCENARIO,
            "deliveries query, delivery hung, circuit closed: max",
            format!("{} queries until it opened", s.count),
            format!("max {} (p50 {})", ms(s.max), ms(s.p50)),
            format!("≤ timeout {} (+5 ms to answer)", ms(DELIVERY_TIMEOUT)),
            Verdict::of(s.max <= CLOSED_BOUND),
        ),
        None => r.not_measured(
            SCENARIO,
            "deliveries query, delivery hung, circuit closed",
            "the circuit was open before the first query",
        ),
    }
    match after_s {
        Some(s) => r.row(
            SCENARIO,
            "deliveries query, circuit open: p99, max",
            format!("{} queries after it opened", s.count),
            format!("p99 {}, max {} (p50 {})", ms(s.p99), ms(s.max), ms(s.p50)),
            "≤ 5 ms",
            Verdict::of(s.p99 <= OPEN_BOUND),
        ),
        None => r.not_measured(
            SCENARIO,
            "deliveries query, circuit open",
            "the delivery circuit never opened during the run",
        ),
    }
    let closed_met = before_s.is_some_and(|s| s.max <= CLOSED_BOUND);
    let why_closed = match before_s {
        Some(s) if !closed_met && s.max > DELIVERY_TIMEOUT * 3 / 2 => format!(
            " Each took {:.1} times the timeout: the timeout bounds one attempt, and a GET that \
             timed out is retried (`resilience.all.retry.attempts` = 2, within the retry \
             budget), each retry waiting its own full timeout; so a hung upstream costs up to \
             three timeouts per call until the breaker opens. Bounding the whole call (a \
             deadline over the retries, or no retry after a timeout) would meet the target.",
            s.max.as_secs_f64() / DELIVERY_TIMEOUT.as_secs_f64()
        ),
        Some(s) if !closed_met => format!(
            " The slowest answered {} after the timeout fired: more than the 5 ms allowed for \
             the BFF to answer once it gives up, which on this shared machine is time spent \
             waiting for a core.",
            ms(s.max.saturating_sub(DELIVERY_TIMEOUT))
        ),
        _ => String::new(),
    };
    let slow = after.iter().filter(|t| **t > OPEN_BOUND).count();
    let slow_after = match after_s {
        Some(s) if slow > 0 => format!(
            "; {slow} of {} above 5 ms, p50 {}: most likely queries that waited for a core \
             on this shared machine{}",
            s.count,
            ms(s.p50),
            if s.count < 100 {
                " (with fewer than 100 samples p99 is the slowest one)"
            } else {
                ""
            }
        ),
        _ => String::new(),
    };
    let cpu_change = cpu_faulty.as_secs_f64() / cpu_healthy.as_secs_f64().max(1e-12) - 1.0;
    let cpu_note = if growth <= P99_GROWTH {
        String::new()
    } else if cpu_change <= 0.05 {
        format!(
            " The BFF spent no more CPU per listing request with delivery hung ({:.0} → {:.0} \
             µs, {:+.0}%), and its profile (below) has the same mix in both phases: it does no \
             extra work for the hung upstream, so the added tail is time spent waiting (for a \
             core on this shared machine, or in the bench process, which hosts the services, \
             the proxies and the parked requests), not work in the BFF; the rounds vary \
             accordingly.",
            cpu_healthy.as_secs_f64() * 1e6,
            cpu_faulty.as_secs_f64() * 1e6,
            cpu_change * 100.0
        )
    } else {
        format!(
            " The BFF spent {:+.0}% CPU per listing request with delivery hung ({:.0} → {:.0} \
             µs); its profile in both phases is below.",
            cpu_change * 100.0,
            cpu_healthy.as_secs_f64() * 1e6,
            cpu_faulty.as_secs_f64() * 1e6
        )
    };
    r.reading(
        SCENARIO,
        format!(
            "The delivery service's proxy stops answering while wrk loads the product listing \
             and a loop of queries that need only the delivery service (a customer's \
             deliveries) runs beside it. The listing's p99 went from {} healthy to {} with \
             delivery hung ({:+.0}%, target ≤ +10% {}): the product path shares nothing with \
             the hung upstream but the process.{cpu_note} The first {} deliveries queries (over the rounds) waited on the \
             hung service (up to {} each against a timeout of {}, target {}); the circuit \
             opened after at most {} (3 failed calls in a row, as configured), and from then on the queries answered \
             in {} at p99 (max {}; target ≤ 5 ms {}{slow_after}) with a CIRCUIT_OPEN error \
             or stale data.{why_closed}",
            ms(healthy.p99),
            ms(faulty.p99),
            growth * 100.0,
            if growth <= P99_GROWTH {
                "met"
            } else {
                "MISSED"
            },
            before.len(),
            before_s.map_or("?".into(), |s| ms(s.max)),
            ms(DELIVERY_TIMEOUT),
            if closed_met { "met" } else { "MISSED" },
            ms(opened_after),
            after_s.map_or("?".into(), |s| ms(s.p99)),
            after_s.map_or("?".into(), |s| ms(s.max)),
            if after_s.is_some_and(|s| s.p99 <= OPEN_BOUND) {
                "met"
            } else {
                "MISSED"
            },
        ),
    );
    growth
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(millis: u64, circuit_open_before: bool) -> Probe {
        Probe {
            took: Duration::from_millis(millis),
            circuit_open_before,
        }
    }

    #[test]
    fn probes_split_at_the_first_open_circuit() {
        let probes = [
            probe(1000, false),
            probe(1001, false),
            probe(2, true),
            probe(900, false),
            probe(3, true),
        ];
        let (before, after) = split(&probes);
        assert_eq!(before.len(), 2);
        assert_eq!(
            after.len(),
            3,
            "a later half-open probe still counts as after"
        );
        let (before, after) = split(&[probe(5, false)]);
        assert_eq!((before.len(), after.len()), (1, 0));
    }
}
