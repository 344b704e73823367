//! Scenario 1, composite depth not width: the Composite lab query over N orders with every
//! upstream answering after a delay d, through the BFF and through the naive strategy
//! (one upstream call per field, in sequence). Targets at N = 100: BFF ≤ 3 d, and at least
//! 50 times faster than the naive strategy.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde_json::Value;

use crate::graphql::{self, COMPOSITE};
use crate::naive;
use crate::proxy::Mode;
use crate::report::Verdict;
use crate::rig::{MallProcess, Rig};
use crate::stats::{ms, Summary};
use crate::Bench;

pub const SCENARIO: &str = "1 Composite depth";

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
    result
}

async fn measure(bench: &mut Bench, rig: &Rig) -> Result<()> {
    let proxies = rig.proxies.as_ref().expect("a proxied rig");
    let client = &bench.client;
    let bff = match &bench.mall {
        Ok(mall) => {
            let p = MallProcess::bff(mall, &rig.public).await?;
            match graphql::available(client, &p.graphql_url()).await {
                // Every order is for staff to see.
                Ok(()) => Ok((p.staff_token(mall).await?, p)),
                Err(why) => {
                    p.stop().await;
                    Err(why)
                }
            }
        }
        Err(why) => Err(why.clone()),
    };
    let report = &mut bench.report;
    let mut at_100 = (None, None);
    let mut trace = None;
    for n in SIZES {
        rig.seed_orders(n).await?;
        proxies.set_mode(Mode::Delay(DELAY));
        let order_root = format!("{}/", rig.public.order);

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

        let Ok((token, bff)) = &bff else {
            continue;
        };
        let token = Some(token.as_str());
        let url = bff.graphql_url();
        // One warm-up query (connection pools, root documents).
        graphql::post_as(client, &url, COMPOSITE, token).await?;
        let before = proxies.requests();
        let mut times = Vec::new();
        for _ in 0..BFF_RUNS {
            let answer = graphql::post_as(client, &url, COMPOSITE, token).await?;
            let data = answer.expect_clean()?;
            let rows = data
                .get("orders")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            if rows as u64 != n {
                bail!("the BFF returned {rows} orders, not {n}");
            }
            times.push(answer.took);
        }
        let per_query = (proxies.requests() - before) as f64 / BFF_RUNS as f64;
        if n == *SIZES.last().expect("sizes") {
            // Where the time goes: when each upstream request of one query arrived.
            for p in proxies.all() {
                p.start_trace();
            }
            let started = Instant::now();
            graphql::post_as(client, &url, COMPOSITE, token).await?;
            let took = started.elapsed();
            let named = [
                ("order", &proxies.order),
                ("delivery", &proxies.delivery),
                ("product", &proxies.product),
                ("mypage", &proxies.mypage),
            ];
            let mut arrivals = Vec::new();
            for (name, p) in named {
                for (at, path) in p.take_trace() {
                    arrivals.push((at.saturating_duration_since(started), name, path));
                }
            }
            let follow_ups = arrivals
                .iter()
                .filter(|(_, _, path)| path.contains("page=") && !path.contains("page=0"))
                .count();
            trace = Some((timeline(&mut arrivals), took, follow_ups));
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
        Ok((_, p)) => {
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
            if let Some((timeline, took, follow_ups)) = trace {
                bench.report.reading(
                    SCENARIO,
                    format!(
                        "Where the time goes at N = {}: the upstream requests of one query as \
                         they reached the proxies (offset from the query's start, in d; the \
                         query took {:.2} d): {timeline}. A request that comes a d or more \
                         after the one before it waited for that one's answer: the levels of \
                         the query are the order list, then products and deliveries side by \
                         side; any further delivery requests are pages of one search answer \
                         followed by their `next` links one after the other.",
                        SIZES.last().expect("sizes"),
                        in_d(took)
                    ),
                );
                if follow_ups > 0 {
                    bench.report.reading(
                        SCENARIO,
                        format!(
                            "So the BFF is depth-bound except for one thing: {follow_ups} of its \
                             requests were further pages of a search answer, each costing one \
                             more d in sequence. The BFF asks for `size=1000` only where a \
                             search's link template advertises `size`; the delivery service's \
                             `findByOrderIdIn{{?orderIds}}` does not, so its answer comes in \
                             pages of 20 and is walked by `next` links. Advertising \
                             `{{?orderIds,page,size,sort}}` on the In-searches (as \
                             `findByCustomerId` does) should bring N = 100 to the ~2.4 d of \
                             N = 10 (three levels), within both targets."
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

/// A request path as the timeline shows it: without its query, but with the `page` and
/// `size` it asked for (`/deliveries/search/findByOrderIdIn page=2`).
pub fn short_path(path_and_query: &str) -> String {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut out = path.to_owned();
    for pair in query.split('&') {
        if pair.starts_with("page=") || pair.starts_with("size=") {
            out.push(' ');
            out.push_str(pair);
        }
    }
    out
}

/// The arrivals as `0.0 d order /orders size=1000; 1.6 d product /products/search/…`, in
/// order.
pub fn timeline(arrivals: &mut [(Duration, &str, String)]) -> String {
    arrivals.sort_by_key(|(at, _, _)| *at);
    arrivals
        .iter()
        .map(|(at, service, path)| format!("{:.1} d {service} `{}`", in_d(*at), short_path(path)))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_lists_requests_in_arrival_order_in_units_of_d() {
        let mut arrivals = vec![
            (
                DELAY * 2,
                "delivery",
                "/deliveries/search/x?orderIds=1,2&page=1".to_owned(),
            ),
            (Duration::ZERO, "order", "/orders?size=1000".to_owned()),
        ];
        assert_eq!(
            timeline(&mut arrivals),
            "0.0 d order `/orders size=1000`; 2.0 d delivery `/deliveries/search/x page=1`"
        );
        assert_eq!(short_path("/"), "/");
    }
}
