//! Scenario 1, composite depth not width: the Composite lab query over N orders with every
//! upstream answering after a delay d, through the BFF and through the naive strategy
//! (one upstream call per field, in sequence). Targets at N = 100: BFF ≤ 3 d, and at least
//! 50 times faster than the naive strategy.

use mall_services::Role;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde_json::Value;

use crate::graphql::{self, COMPOSITE};
use crate::naive;
use crate::proxy::Mode;
use crate::query_trace::{self, Breakdown, Hop};
use crate::report::Verdict;
use crate::rig::{MallProcess, Rig};
use crate::stats::{ms, Summary};
use crate::Bench;

pub const SCENARIO: &str = "1 Composite depth";

/// The previous published run, for comparison.
const PREVIOUS: &str =
    "Previous run (2026-12-02, the day's first, on the same machine as this run, before \
    the services wrote a listing from its stored text and read in place, and before the rows' \
    own fields resolved while the second level was out): BFF 2.15 d at N = 1, 2.19 d at N = 10, \
    2.27 d at N = 50, 2.32 d at N = 100 (at N = 100 the BFF's own 2.89 ms, the services' and \
    proxy's 3.53 ms, the order service 1.49 ms and the delivery search 1.62 ms); naive / BFF \
    1.9×, 10.6×, 48.6×, 93.6×. On 2026-12-01 07:49 (another machine): 2.22, 2.28, 2.43 and \
    2.52 d.";

/// The injected delay of every upstream answer.
pub const DELAY: Duration = Duration::from_millis(20);
pub const SIZES: [u64; 4] = [1, 10, 50, 100];
/// BFF queries per size (the median is reported).
const BFF_RUNS: usize = 5;

fn naive_runs(n: u64) -> usize {
    if n >= 50 {
        1
    } else {
        3
    }
}

fn in_d(t: Duration) -> f64 {
    t.as_secs_f64() / DELAY.as_secs_f64()
}

pub async fn run(bench: &mut Bench) -> Result<()> {
    let rig = Rig::start(true).await?;
    let result = measure(bench, &rig).await;
    rig.stop().await;
    bench.report.reading(SCENARIO, PREVIOUS);
    result
}

async fn measure(bench: &mut Bench, rig: &Rig) -> Result<()> {
    let proxies = rig.proxies.as_ref().expect("a proxied rig");
    let client = &bench.client;
    let bff = match &bench.mall {
        Ok(mall) => {
            let p = MallProcess::bff(mall, &rig.public).await?;
            // Every order is for staff to list (a customer sees only their own).
            let staff = p.tokens().and_then(|t| t.staff());
            match (graphql::available(client, &p.graphql_url()).await, staff) {
                (Ok(()), Ok(token)) => Ok((p, token)),
                (Err(why), _) => {
                    p.stop().await;
                    Err(why)
                }
                (_, Err(e)) => {
                    p.stop().await;
                    Err(format!("{e:#}"))
                }
            }
        }
        Err(why) => Err(why.clone()),
    };
    let report = &mut bench.report;
    let mut at_100 = (None, None);
    // Where the time went, per size (medians of its traced queries).
    let mut traces = Vec::new();
    for n in SIZES {
        rig.seed_orders(n).await?;
        proxies.set_mode(Mode::Delay(DELAY));
        let order_root = format!("{}/", rig.public[Role::Order]);

        let mut naive_times = Vec::new();
        let mut naive_calls = 0;
        for _ in 0..naive_runs(n) {
            let started = Instant::now();
            let (rows, calls) = naive::composite(client, &order_root).await?;
            naive_times.push(started.elapsed());
            naive_calls = calls;
            if rows.len() as u64 != n {
                bail!("the naive strategy found {} orders, not {n}", rows.len());
            }
        }
        let naive = Summary::of(&naive_times).expect("at least one naive run");
        let params = format!("N={n}, d={}, median of {}", ms(DELAY), naive_runs(n));
        report.row(
            SCENARIO,
            "naive strategy latency / d",
            params,
            format!(
                "{:.1} d ({}; {naive_calls} upstream calls)",
                in_d(naive.p50),
                ms(naive.p50)
            ),
            "",
            Verdict::Info,
        );

        let Ok((bff, staff)) = &bff else {
            continue;
        };
        let url = bff.graphql_url();
        // One warm-up query (connection pools, root documents).
        graphql::post_as(client, &url, COMPOSITE, staff).await?;
        let before = proxies.requests();
        let mut times = Vec::new();
        let mut traced = Vec::new();
        for _ in 0..BFF_RUNS {
            for p in proxies.all() {
                p.start_trace();
            }
            let answer = graphql::post_as(client, &url, COMPOSITE, staff).await?;
            let data = answer.expect_clean()?;
            let rows = data
                .get("orders")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            if rows as u64 != n {
                bail!("the BFF returned {rows} orders, not {n}");
            }
            times.push(answer.took);
            // Where the time goes: each upstream request of the query, when it reached its
            // proxy, left it after the delay, and had the service's answer.
            let named = [
                ("order", &proxies.order),
                ("delivery", &proxies.delivery),
                ("product", &proxies.product),
                ("mypage", &proxies.mypage),
            ];
            let mut hops = Vec::new();
            for (name, p) in named {
                for t in p.take_trace() {
                    hops.push(Hop::of(answer.sent, name, &t));
                }
            }
            traced.extend(Breakdown::of(answer.took, &hops, DELAY));
        }
        let per_query = (proxies.requests() - before) as f64 / BFF_RUNS as f64;
        if let Some(b) = query_trace::median(&traced) {
            traces.push((n, b, traced.len()));
        }
        let s = Summary::of(&times).expect("BFF runs");
        let ratio = in_d(s.p50);
        let speedup = naive.p50.as_secs_f64() / s.p50.as_secs_f64();
        let (target, verdict) = if n == 100 {
            at_100 = (Some(ratio), Some(speedup));
            ("≤ 3 d", Verdict::of(ratio <= 3.0))
        } else {
            ("", Verdict::Info)
        };
        report.row(
            SCENARIO,
            "BFF latency / d",
            format!("N={n}, d={}, median of {BFF_RUNS}", ms(DELAY)),
            format!(
                "{ratio:.2} d ({}, max {}; {per_query:.0} upstream requests)",
                ms(s.p50),
                ms(s.max)
            ),
            target,
            verdict,
        );
        let (target, verdict) = if n == 100 {
            ("≥ 50×", Verdict::of(speedup >= 50.0))
        } else {
            ("", Verdict::Info)
        };
        report.row(
            SCENARIO,
            "naive / BFF",
            format!("N={n}"),
            format!("{speedup:.1}×"),
            target,
            verdict,
        );
    }
    proxies.set_mode(Mode::Pass);
    match bff {
        Ok((p, _)) => {
            p.stop().await;
            let (ratio, speedup) = at_100;
            bench.report.reading(
                SCENARIO,
                format!(
                    "Every upstream answer is delayed by d = {} in a proxy in front of each \
                     service, and the services' links point at the proxies, so every link the \
                     BFF or the naive strategy follows pays d. At N = 100 the BFF answers in \
                     {} d ({}), and is {}× faster than the naive strategy ({}). A \
                     depth-bound aggregation costs one d per level (root documents, orders, \
                     then products and deliveries side by side), whatever N is.",
                    ms(DELAY),
                    ratio.map_or("?".into(), |r| format!("{r:.2}")),
                    if ratio.is_some_and(|r| r <= 3.0) {
                        "target ≤ 3 d met"
                    } else {
                        "target ≤ 3 d MISSED"
                    },
                    speedup.map_or("?".into(), |s| format!("{s:.0}")),
                    if speedup.is_some_and(|s| s >= 50.0) {
                        "target ≥ 50× met"
                    } else {
                        "target ≥ 50× MISSED"
                    },
                ),
            );
            let by_size = traces
                .iter()
                .map(|(n, b, _)| {
                    let spans: Duration = b.levels.iter().map(|l| l.span).sum();
                    let delays = DELAY * b.levels.len() as u32;
                    format!(
                        "N = {n}: {} ({:.2} d) = {} levels × d + the BFF's own {} + the \
                         services' and proxy's {}",
                        ms(b.took),
                        in_d(b.took),
                        b.levels.len(),
                        ms(b.bff()),
                        ms(spans.saturating_sub(delays)),
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            if let Some((n, b, runs)) = traces.last() {
                let follow_ups = b
                    .levels
                    .iter()
                    .flat_map(|l| &l.requests)
                    .filter(|r| r.contains("page=") && !r.contains("page=0"))
                    .count();
                bench.report.reading(
                    SCENARIO,
                    format!(
                        "Where the time goes at N = {n}, stage by stage (medians of the {runs} \
                         queries above, each traced at the proxies: when a request reached its \
                         proxy, left it after the delay, and had the service's whole answer): \
                         {b}. Of the query's {} ({:.2} d), the two delays are 2 d; the BFF's \
                         own part (before, between and after the levels, including reading \
                         each answer and writing the response) is {} ({:.2} d); the rest is \
                         the services' own time and the proxy. A request counts as one level \
                         deeper when it reached its proxy after another's answer had come \
                         back. By size (medians): {by_size}.",
                        ms(b.took),
                        in_d(b.took),
                        ms(b.bff()),
                        in_d(b.bff()),
                    ),
                );
                if follow_ups > 0 {
                    bench.report.reading(
                        SCENARIO,
                        format!(
                            "So the BFF is depth-bound except for one thing: {follow_ups} of its \
                             requests were further pages of a search answer, each costing one \
                             more d in sequence."
                        ),
                    );
                }
            }
        }
        Err(why) => {
            bench.report.not_measured(SCENARIO, "BFF latency / d", &why);
            bench.report.reading(
                SCENARIO,
                format!(
                    "Only the naive baseline ran: {why}. It costs one d per upstream call \
                     (2 N + pages + 1 calls), which is what the BFF must beat by 50× at N = 100."
                ),
            );
        }
    }
    Ok(())
}
