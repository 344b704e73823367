//! Scenario 4, subscriptions (the fan-out targets): `myPage` subscribers on one
//! `mall --target all` process, each its own graphql-transport-ws socket on `/graphql`,
//! signed in by a bearer token of its customer ([`crate::tokens`]); a `placeOrder` mutation
//! through the BFF as that customer, and the time until the subscriber has the CHANGE listing
//! the new order.
//!
//! - **Baseline**: one subscriber alone, [`SOLO_MUTATIONS`] mutations: its p99.
//! - **(a) spread**: [`SUBSCRIBERS`] subscribers of as many customers (one each), mutations
//!   for customers picked at random: p99 of mutation → that customer's subscriber has the
//!   CHANGE, target ≤ [`SPREAD_RATIO`] × the baseline p99 of the same process. Every other
//!   subscriber must see nothing (counted).
//! - **(b) one customer**: [`SUBSCRIBERS`] subscribers of one customer: mutation → the last
//!   of them has the CHANGE, target ≤ [`CROWD_RATIO`] × the baseline p99.
//! - Resident memory per subscriber (VmRSS of the mall process from /proc, before and after
//!   connecting), target ≤ [`BYTES_PER_SUBSCRIBER`]; and, to tell where it goes, per signed-in
//!   connection with no subscription (c).
//!
//! (a), (b) and (c) each run on a fresh process (with its own baseline), so the memory of
//! one does not carry into the next.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use futures::StreamExt as _;
use rand::{rngs::StdRng, Rng as _, SeedableRng as _};
use serde_json::json;
use tokio::sync::mpsc;

use crate::fanout_floor::{self, Floor};
use crate::report::Verdict;
use crate::rig::MallProcess;
use crate::stats::{ms, percentile, Summary};
use crate::subscriber::{self, Change, Subscriber};
use crate::tokens::Tokens;
use crate::Bench;

pub const SCENARIO: &str = "4 Subscriptions";

/// Subscribers in (a) and in (b).
pub const SUBSCRIBERS: usize = 10_000;
/// Mutations of the single subscriber's baseline: enough that its p99 is not simply its
/// slowest one or two (with 30 it moved between 70 and 160 ms from run to run).
const SOLO_MUTATIONS: usize = 100;
/// Mutations in (a), each for a customer picked at random.
const SPREAD_MUTATIONS: usize = 50;
/// Mutations in (b) (each fans out to every subscriber).
const CROWD_MUTATIONS: usize = 5;
/// Subscribers connecting at once.
const CONNECTING: usize = 48;
/// How long connecting all subscribers may take before the scenario gives up.
const CONNECT_LIMIT: Duration = Duration::from_secs(240);
/// How long one mutation's changes may take to arrive.
const DELIVERY_LIMIT: Duration = Duration::from_secs(60);
/// After each mutation, time for its delivery-started change to pass before the next one.
const SETTLE: Duration = Duration::from_millis(300);
/// The random customers of (a) are the same in every run.
const SEED: u64 = 14;

/// Targets: (a) p99 ≤ 2 × the baseline p99; (b) the last delivery ≤ 5 × it; memory.
pub const SPREAD_RATIO: f64 = 2.0;
pub const CROWD_RATIO: f64 = 5.0;
pub const BYTES_PER_SUBSCRIBER: f64 = 20_000.0;

const SOLO: &str = "solo@bench.12st.example";
const CROWD: &str = "crowd@bench.12st.example";
const WARM_UP: &str = "warm-up@bench.12st.example";

/// The previous published run, for comparison (and the first one's, which had no sign-in and
/// measured subscribers of one customer only).
const PREVIOUS: &str = "Previous run (2026-12-01 07:49, after the memory step of issue 14, \
    before (b)'s floor was measured, on a quieter machine of the same kind): (a) 19.6 kB per \
    subscriber, p99 1.08× the single subscriber's 10.2 ms; (b) 17.2 kB per subscriber (19.2 kB \
    after the mutations), last subscriber p99 431 ms = 43.61× the single subscriber's 9.89 ms; \
    (c) 7.7 kB per connection. Before the memory step (2026-12-01 05:14): (a) 27.9 kB, (b) \
    23.0 kB per subscriber, (c) 13.4 kB per connection. On 2026-11-25 (before sign-in, one \
    customer only): 10,000 subscribers of one customer, last subscriber p99 1.36 s, 25.8 kB \
    per subscriber";

/// The customer of subscriber `i` in (a).
pub fn spread_customer(i: usize) -> String {
    format!("c{i}@spread.bench.12st.example")
}

/// When each subscriber got the change listing `order_id` (its first such CHANGE).
pub fn arrivals(changes: &[Change], order_id: i64) -> HashMap<usize, Instant> {
    let mut first = HashMap::new();
    for c in changes {
        note(&mut first, c, order_id);
    }
    first
}

/// Adds one change to [`arrivals`].
pub fn note(first: &mut HashMap<usize, Instant>, c: &Change, order_id: i64) {
    if c.order_ids.contains(&order_id) {
        first
            .entry(c.subscriber)
            .and_modify(|at: &mut Instant| *at = (*at).min(c.at))
            .or_insert(c.at);
    }
}

/// `measured / baseline` and whether it is within `limit`.
pub fn ratio(measured: Duration, baseline: Duration, limit: f64) -> (f64, Verdict) {
    let r = measured.as_secs_f64() / baseline.as_secs_f64().max(f64::MIN_POSITIVE);
    (r, Verdict::of(r <= limit))
}

pub async fn run(bench: &mut Bench) -> Result<()> {
    let mall = match &bench.mall {
        Ok(m) => m.clone(),
        Err(why) => {
            let why = why.clone();
            bench
                .report
                .not_measured(SCENARIO, "the whole scenario", why);
            return Ok(());
        }
    };
    let mut readings = Vec::new();
    let mut crowd = None;
    for part in [Some(Part::Spread), Some(Part::Crowd), None] {
        let process = MallProcess::all(&mall).await?;
        let result = match part {
            Some(part) => measure(bench, &process, part).await.map(|(reading, last)| {
                crowd = crowd.or(last);
                reading
            }),
            None => connections_only(bench, &process).await,
        };
        process.stop().await;
        if matches!(part, Some(Part::Crowd)) {
            match floor(bench, crowd).await {
                Ok(reading) => readings.push(reading),
                Err(e) => {
                    eprintln!("scenario {SCENARIO}, {FLOOR}: {e:#}");
                    bench
                        .report
                        .not_measured(SCENARIO, FLOOR, format!("it failed: {e:#}"));
                }
            }
        }
        match result {
            Ok(reading) => readings.push(reading),
            Err(e) => {
                let name = part.map_or(CONNECTIONS, Part::name);
                eprintln!("scenario {SCENARIO}, {name}: {e:#}");
                bench
                    .report
                    .not_measured(SCENARIO, name, format!("it failed: {e:#}"));
            }
        }
    }
    bench.report.reading(
        SCENARIO,
        format!(
            "Every subscriber is its own graphql-transport-ws socket to one `mall --target \
             all` process, signed in by a bearer token of its customer in `connection_init` \
             (minted by the bench with the process's signing key, as `mall token` mints them: \
             10,000 customers cost 10,000 signatures, not 10,000 sign-ups). A mutation is a \
             `placeOrder` through the BFF as that customer; the time runs from sending it to \
             the subscriber reading the CHANGE that lists the new order, so it includes the \
             mutation's round trip, the outbox relay's hop to the projection, the feed (one \
             tokio broadcast channel per customer) and the socket; the bench process reading \
             every socket shares the same two cores. Each part runs on a fresh process with \
             its own single-subscriber baseline measured just before. {} {PREVIOUS}.",
            readings.join(" ")
        ),
    );
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum Part {
    /// (a): one subscriber per customer, mutations for random customers.
    Spread,
    /// (b): every subscriber follows one customer.
    Crowd,
}

/// (c): signed-in connections with no subscription (memory only).
const CONNECTIONS: &str = "(c) connections without a subscription";

/// (b)'s floor: the same fan-out from a server that only writes a ready message.
const FLOOR: &str = "(b) floor: a minimal server's fan-out";

/// What (b) measured: its last subscriber's p99 and its single subscriber's.
#[derive(Debug, Clone, Copy)]
struct Crowd {
    last_p99: Duration,
    single_p99: Duration,
}

/// (b)'s floor ([`fanout_floor`]): [`SUBSCRIBERS`] sockets of the same subscribers, each
/// sent the same ready CHANGE [`CROWD_MUTATIONS`] times; the time from the bench handing
/// the message over to the last subscriber reading it.
async fn floor(bench: &mut Bench, crowd: Option<Crowd>) -> Result<String> {
    let mut server = Floor::start().await?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Change>();
    let ws_url = server.ws_url().to_owned();
    let (subscribers, connect_time) = connect(
        &ws_url,
        SUBSCRIBERS,
        |_| (CROWD.to_owned(), String::new()),
        &tx,
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut lasts = Vec::new();
    let mut listed = Vec::new();
    for order_id in 1..=CROWD_MUTATIONS as i64 {
        while rx.try_recv().is_ok() {}
        listed.push(order_id);
        let sent = Instant::now();
        server.broadcast(&fanout_floor::change(&listed)).await?;
        let got = await_change(&mut rx, order_id, SUBSCRIBERS, sent, None, &mut 0).await?;
        lasts.push(got.into_values().max().context("subscribers")?);
        tokio::time::sleep(SETTLE).await;
    }
    drop(subscribers);
    let last = Summary::of(&lasts).context("no broadcasts")?;
    let against = crowd.map_or_else(String::new, |c| {
        format!(
            "; (b)'s last p99 {} is this floor + {}; the best (b) a server could reach here \
             is about (floor + single p99) / single p99 = {:.1}×",
            ms(c.last_p99),
            ms(c.last_p99.saturating_sub(last.p99)),
            (last.p99 + c.single_p99).as_secs_f64() / c.single_p99.as_secs_f64()
        )
    });
    bench.report.row(
        SCENARIO,
        "(b) floor: a minimal server → last subscriber has the message",
        format!(
            "the same {SUBSCRIBERS} subscribers (connected in {}) of a server that writes one \
             ready message to each socket, {CROWD_MUTATIONS} broadcasts",
            ms(connect_time)
        ),
        format!("p99 {} (p50 {}){against}", ms(last.p99), ms(last.p50)),
        "",
        Verdict::Info,
    );
    Ok(format!(
        "(b)'s floor: a server that does nothing but write one ready message to each of \
         {SUBSCRIBERS} sockets (`bench/src/fanout_floor.rs`, its own process, one task per \
         socket and one broadcast channel, the same bench subscribers reading) reached the last \
         of them in {} at p99 ({} at p50){against}.",
        ms(last.p99),
        ms(last.p50),
    ))
}

impl Part {
    fn label(self) -> &'static str {
        &self.name()[..3]
    }

    fn name(self) -> &'static str {
        match self {
            Part::Spread => "(a) subscribers of 10,000 customers",
            Part::Crowd => "(b) subscribers of one customer",
        }
    }
}

/// Places an order for the customer of `token` (the BFF takes the customer from it).
async fn place_order(client: &reqwest::Client, url: &str, token: &str) -> Result<i64> {
    let answer = client
        .post(url)
        .bearer_auth(token)
        .json(&json!({
            "query": "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }",
            "variables": {"input": {"productId": 1, "quantity": 1,
                                    "customerName": "Bench", "customerAddr": "Seoul"}}
        }))
        .send()
        .await?
        .json::<serde_json::Value>()
        .await?;
    answer
        .pointer("/data/placeOrder/id")
        .and_then(serde_json::Value::as_i64)
        .with_context(|| format!("placeOrder answered {answer}"))
}

/// Waits until `expected` subscribers have a CHANGE listing `order_id`; when each did,
/// counted from `sent`, by subscriber. With `only`, also counts the changes any other
/// subscriber saw meanwhile (strays: another customer's change).
async fn await_change(
    rx: &mut mpsc::UnboundedReceiver<Change>,
    order_id: i64,
    expected: usize,
    sent: Instant,
    only: Option<usize>,
    strays: &mut usize,
) -> Result<HashMap<usize, Duration>> {
    let deadline = sent + DELIVERY_LIMIT;
    let mut got: HashMap<usize, Instant> = HashMap::new();
    while got.len() < expected {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(c)) => {
                if only.is_some_and(|i| i != c.subscriber) {
                    *strays += 1;
                    continue;
                }
                note(&mut got, &c, order_id);
            }
            _ => bail!(
                "only {} of {expected} subscribers got order {order_id} within {}",
                got.len(),
                ms(DELIVERY_LIMIT)
            ),
        }
    }
    Ok(got
        .into_iter()
        .map(|(i, at)| (i, at.saturating_duration_since(sent)))
        .collect())
}

/// Connects `count` subscribers, subscriber `i` as `who(i)` = (customer, token); how long
/// it took. Bounded by [`CONNECT_LIMIT`].
async fn connect(
    ws_url: &str,
    count: usize,
    who: impl Fn(usize) -> (String, String),
    tx: &mpsc::UnboundedSender<Change>,
) -> Result<(Vec<Subscriber>, Duration)> {
    let started = Instant::now();
    let attempts: Vec<Result<Subscriber>> = tokio::time::timeout(
        CONNECT_LIMIT,
        futures::stream::iter(0..count)
            .map(|i| {
                let (customer, token) = who(i);
                let tx = tx.clone();
                async move { subscriber::subscribe(ws_url, &customer, &token, i, tx).await }
            })
            .buffer_unordered(CONNECTING)
            .collect(),
    )
    .await
    .with_context(|| {
        format!(
            "{count} subscribers did not connect within {}",
            ms(CONNECT_LIMIT)
        )
    })?;
    let mut subscribers = Vec::with_capacity(count);
    for s in attempts {
        subscribers.push(s.with_context(|| {
            format!(
                "subscriber {} of {count} could not subscribe",
                subscribers.len() + 1
            )
        })?);
    }
    Ok((subscribers, started.elapsed()))
}

/// The baseline: one subscriber alone, [`SOLO_MUTATIONS`] mutations of its customer.
async fn solo(client: &reqwest::Client, process: &MallProcess, tokens: &Tokens) -> Result<Summary> {
    let token = tokens.customer(SOLO)?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Change>();
    let alone = subscriber::subscribe(&process.ws_url(), SOLO, &token, 0, tx).await?;
    let mut times = Vec::new();
    for _ in 0..SOLO_MUTATIONS {
        while rx.try_recv().is_ok() {}
        let sent = Instant::now();
        let order_id = place_order(client, &process.graphql_url(), &token).await?;
        let got = await_change(&mut rx, order_id, 1, sent, None, &mut 0).await?;
        times.extend(got.into_values());
        tokio::time::sleep(SETTLE).await;
    }
    drop(alone);
    Summary::of(&times).context("no baseline mutations")
}

/// (c): what a signed-in connection costs with no subscription, against (a)'s subscribers.
async fn connections_only(bench: &mut Bench, process: &MallProcess) -> Result<String> {
    let tokens = process.tokens()?;
    let who: Vec<String> = (0..SUBSCRIBERS)
        .map(|i| tokens.customer(&spread_customer(i)))
        .collect::<Result<_>>()?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base_kib = process.proc.rss_kib().unwrap_or(0);
    let started = Instant::now();
    let ws_url = process.ws_url();
    let attempts: Vec<Result<Subscriber>> = tokio::time::timeout(
        CONNECT_LIMIT,
        futures::stream::iter(who.iter())
            .map(|token| subscriber::connect(&ws_url, token))
            .buffer_unordered(CONNECTING)
            .collect(),
    )
    .await
    .with_context(|| {
        format!(
            "{SUBSCRIBERS} connections did not open within {}",
            ms(CONNECT_LIMIT)
        )
    })?;
    let connections = attempts.into_iter().collect::<Result<Vec<_>>>()?;
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_kib = process.proc.rss_kib().unwrap_or(0);
    let per_connection = rss_kib.saturating_sub(base_kib) as f64 * 1024.0 / SUBSCRIBERS as f64;
    drop(connections);
    bench.report.row(
        SCENARIO,
        "(c) mall VmRSS per connection without a subscription",
        format!(
            "{SUBSCRIBERS} signed-in graphql-transport-ws connections (connection_init, no \
             subscribe; connected in {})",
            ms(took)
        ),
        format!(
            "{:.1} kB ({} MiB total, {} MiB before any)",
            per_connection / 1000.0,
            rss_kib / 1024,
            base_kib / 1024
        ),
        "",
        Verdict::Info,
    );
    Ok(format!(
        "(c) A signed-in connection with no subscription cost {:.1} kB resident: the rest of a \
         subscriber's cost is its subscription (the snapshot read, the stream and its feed \
         registration).",
        per_connection / 1000.0
    ))
}

async fn measure(
    bench: &mut Bench,
    process: &MallProcess,
    part: Part,
) -> Result<(String, Option<Crowd>)> {
    let client = bench.client.clone();
    let url = process.graphql_url();
    let tokens = process.tokens()?;
    // Warm up the path once (an order, its projection) with no subscriber.
    place_order(&client, &url, &tokens.customer(WARM_UP)?).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let baseline = solo(&client, process, &tokens).await?;
    let r = &mut bench.report;
    r.row(
        SCENARIO,
        "single subscriber alone: mutation → CHANGE",
        format!(
            "baseline of {}, {SOLO_MUTATIONS} placeOrder mutations",
            part.label()
        ),
        format!("p50 {}, p99 {}", ms(baseline.p50), ms(baseline.p99)),
        "",
        Verdict::Info,
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base_kib = process.proc.rss_kib().unwrap_or(0);

    let (tx, mut rx) = mpsc::unbounded_channel::<Change>();
    let minting = Instant::now();
    let who: Vec<(String, String)> = match part {
        Part::Spread => (0..SUBSCRIBERS)
            .map(|i| -> Result<(String, String)> {
                let customer = spread_customer(i);
                let token = tokens.customer(&customer)?;
                Ok((customer, token))
            })
            .collect::<Result<_>>()?,
        Part::Crowd => {
            let token = tokens.customer(CROWD)?;
            vec![(CROWD.to_owned(), token); SUBSCRIBERS]
        }
    };
    let minted = minting.elapsed();
    let (subscribers, connect_time) =
        connect(&process.ws_url(), SUBSCRIBERS, |i| who[i].clone(), &tx).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_kib = process.proc.rss_kib().unwrap_or(0);
    let per_subscriber = rss_kib.saturating_sub(base_kib) as f64 * 1024.0 / SUBSCRIBERS as f64;

    let (reading, crowd) = match part {
        Part::Spread => {
            let mut rng = StdRng::seed_from_u64(SEED);
            let mut times = Vec::new();
            let mut strays = 0usize;
            for _ in 0..SPREAD_MUTATIONS {
                while rx.try_recv().is_ok() {}
                let chosen = rng.gen_range(0..SUBSCRIBERS);
                let sent = Instant::now();
                let order_id = place_order(&client, &url, &who[chosen].1).await?;
                let got =
                    await_change(&mut rx, order_id, 1, sent, Some(chosen), &mut strays).await?;
                times.extend(got.into_values());
                tokio::time::sleep(SETTLE).await;
                // Anything another subscriber saw meanwhile went to the wrong customer.
                while let Ok(c) = rx.try_recv() {
                    if c.subscriber != chosen {
                        strays += 1;
                    }
                }
            }
            let s = Summary::of(&times).context("no mutations")?;
            let (x, verdict) = ratio(s.p99, baseline.p99, SPREAD_RATIO);
            let r = &mut bench.report;
            r.row(
                SCENARIO,
                "(a) mutation → that customer's subscriber has the CHANGE",
                format!(
                    "{SUBSCRIBERS} subscribers of {SUBSCRIBERS} customers, {SPREAD_MUTATIONS} \
                     placeOrder mutations for random customers"
                ),
                format!(
                    "p99 {} = {x:.2}× the single subscriber's p99 {} (p50 {})",
                    ms(s.p99),
                    ms(baseline.p99),
                    ms(s.p50)
                ),
                format!("≤ {SPREAD_RATIO}× single"),
                verdict,
            );
            r.row(
                SCENARIO,
                "(a) changes seen by the other customers' subscribers",
                format!("{SPREAD_MUTATIONS} mutations × {} others", SUBSCRIBERS - 1),
                strays.to_string(),
                "0",
                Verdict::of(strays == 0),
            );
            (
                format!(
                    "(a) With {SUBSCRIBERS} subscribers of as many customers, a mutation for a \
                 random customer reached that customer's subscriber in {} at p99 ({} at p50), \
                 {x:.2}× the {} p99 of a single subscriber alone on the same process (target \
                 ≤ {SPREAD_RATIO}× {}); the other subscribers saw {strays} changes: one send \
                 per change to its customer's channel, nothing per other subscriber.",
                    ms(s.p99),
                    ms(s.p50),
                    ms(baseline.p99),
                    verdict.label(),
                ),
                None,
            )
        }
        Part::Crowd => {
            let mut lasts = Vec::new();
            let mut every = Vec::new();
            for _ in 0..CROWD_MUTATIONS {
                while rx.try_recv().is_ok() {}
                let sent = Instant::now();
                let order_id = place_order(&client, &url, &who[0].1).await?;
                let got = await_change(&mut rx, order_id, SUBSCRIBERS, sent, None, &mut 0).await?;
                let mut times: Vec<Duration> = got.into_values().collect();
                times.sort();
                lasts.push(*times.last().context("subscribers")?);
                every.extend(times);
                tokio::time::sleep(SETTLE).await;
            }
            every.sort();
            let last = Summary::of(&lasts).context("no mutations")?;
            let p50 = percentile(&every, 50.0).context("arrivals")?;
            let p99 = percentile(&every, 99.0).context("arrivals")?;
            let (x, verdict) = ratio(last.p99, baseline.p99, CROWD_RATIO);
            let r = &mut bench.report;
            r.row(
                SCENARIO,
                "(b) mutation → last subscriber has the CHANGE",
                format!(
                    "{SUBSCRIBERS} subscribers of one customer, {CROWD_MUTATIONS} placeOrder \
                     mutations"
                ),
                format!(
                    "p99 {} = {x:.2}× the single subscriber's p99 {} (p50 {})",
                    ms(last.p99),
                    ms(baseline.p99),
                    ms(last.p50)
                ),
                format!("≤ {CROWD_RATIO}× single"),
                verdict,
            );
            r.row(
                SCENARIO,
                "(b) mutation → each subscriber has the CHANGE",
                format!("{SUBSCRIBERS} × {CROWD_MUTATIONS} deliveries"),
                format!("p50 {}, p99 {}", ms(p50), ms(p99)),
                "",
                Verdict::Info,
            );
            (
                format!(
                    "(b) With {SUBSCRIBERS} subscribers of one customer, the last of them had the \
                 change {} after the mutation at p99 ({} at p50; every delivery p50 {}), \
                 {x:.2}× the {} p99 of a single subscriber alone (target ≤ {CROWD_RATIO}× {}).",
                    ms(last.p99),
                    ms(last.p50),
                    ms(p50),
                    ms(baseline.p99),
                    verdict.label(),
                ),
                Some(Crowd {
                    last_p99: last.p99,
                    single_p99: baseline.p99,
                }),
            )
        }
    };
    let after_kib = process.proc.rss_kib().unwrap_or(0);
    let after = after_kib.saturating_sub(base_kib) as f64 * 1024.0 / SUBSCRIBERS as f64;
    let memory_ok = per_subscriber <= BYTES_PER_SUBSCRIBER;
    bench.report.row(
        SCENARIO,
        format!("{} mall VmRSS per subscriber", part.label()),
        format!(
            "{SUBSCRIBERS} subscribers (tokens minted in {}, connected in {}, {CONNECTING} at \
             a time)",
            ms(minted),
            ms(connect_time)
        ),
        format!(
            "{:.1} kB ({} MiB total, {} MiB before any; after the mutations {:.1} kB)",
            per_subscriber / 1000.0,
            rss_kib / 1024,
            base_kib / 1024,
            after / 1000.0
        ),
        format!("≤ {:.0} kB", BYTES_PER_SUBSCRIBER / 1000.0),
        Verdict::of(memory_ok),
    );
    drop(subscribers);
    Ok((
        format!(
            "{reading} Each subscriber cost {:.1} kB resident once connected ({:.1} kB after the \
         mutations; target ≤ {:.0} kB {}).",
            per_subscriber / 1000.0,
            after / 1000.0,
            BYTES_PER_SUBSCRIBER / 1000.0,
            Verdict::of(memory_ok).label()
        ),
        crowd,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_take_each_subscribers_first_change_listing_the_order() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let changes = vec![
            Change {
                subscriber: 1,
                order_ids: vec![1],
                at: at(1),
            },
            Change {
                subscriber: 1,
                order_ids: vec![1, 2],
                at: at(5),
            },
            Change {
                subscriber: 2,
                order_ids: vec![1, 2],
                at: at(7),
            },
            Change {
                subscriber: 1,
                order_ids: vec![1, 2],
                at: at(9),
            },
        ];
        let got = arrivals(&changes, 2);
        assert_eq!(got.len(), 2);
        assert_eq!(got[&1], at(5));
        assert_eq!(got[&2], at(7));
        assert!(arrivals(&changes, 3).is_empty());
    }

    #[test]
    fn ratios_are_judged_against_their_limit() {
        let ms = Duration::from_millis;
        let (x, verdict) = ratio(ms(30), ms(20), SPREAD_RATIO);
        assert!((x - 1.5).abs() < 1e-9);
        assert_eq!(verdict, Verdict::Met);
        assert_eq!(ratio(ms(41), ms(20), SPREAD_RATIO).1, Verdict::Missed);
        assert_eq!(ratio(ms(100), ms(20), CROWD_RATIO).1, Verdict::Met);
    }

    #[test]
    fn every_spread_subscriber_has_a_customer_of_its_own() {
        let customers: std::collections::HashSet<String> =
            (0..SUBSCRIBERS).map(spread_customer).collect();
        assert_eq!(customers.len(), SUBSCRIBERS);
    }
}
