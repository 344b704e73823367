//! Scenario 4, subscriptions: 1,000 then 10,000 `myPage` subscribers of one customer on one
//! `mall --target all` process (each its own graphql-transport-ws socket on `/graphql`), a
//! `placeOrder` mutation through the BFF, and the time until each subscriber has the CHANGE
//! listing the new order; resident memory per subscriber from the mall process's /proc.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use futures::StreamExt as _;
use serde_json::json;
use tokio::sync::mpsc;

use crate::report::Verdict;
use crate::rig::MallProcess;
use crate::stats::{ms, percentile, Summary};
use crate::subscriber::{self, Change, Subscriber};
use crate::Bench;

pub const SCENARIO: &str = "4 Subscriptions";

pub const SIZES: [usize; 2] = [1_000, 10_000];
/// Mutations per size (each one fans out to every subscriber).
const MUTATIONS: usize = 5;
/// Subscribers connecting at once.
const CONNECTING: usize = 48;
const CUSTOMER: &str = "bench@subscribers.example";

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
    let process = MallProcess::all(&mall).await?;
    let result = measure(bench, &process).await;
    process.stop().await;
    result
}

async fn place_order(client: &reqwest::Client, url: &str) -> Result<i64> {
    let answer = client
        .post(url)
        .json(&json!({
            "query": "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }",
            "variables": {"input": {"productId": 1, "quantity": 1, "customerId": CUSTOMER,
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

async fn measure(bench: &mut Bench, process: &MallProcess) -> Result<()> {
    let client = &bench.client;
    let url = process.graphql_url();
    let ws_url = format!("{}/graphql", process.url.replacen("http", "ws", 1));
    // Warm up the path once (an order, its projection) with no subscriber.
    place_order(client, &url).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base_kib = process.proc.rss_kib().unwrap_or(0);

    let (tx, mut rx) = mpsc::unbounded_channel::<Change>();
    let mut subscribers: Vec<Subscriber> = Vec::new();
    let mut readings = Vec::new();
    for size in SIZES {
        let started = Instant::now();
        let from = subscribers.len();
        let new: Vec<Result<Subscriber>> = futures::stream::iter(from..size)
            .map(|i| {
                let tx = tx.clone();
                let ws_url = ws_url.clone();
                async move { subscriber::subscribe(&ws_url, CUSTOMER, i, tx).await }
            })
            .buffer_unordered(CONNECTING)
            .collect()
            .await;
        for s in new {
            subscribers.push(s.with_context(|| {
                format!(
                    "subscriber {} of {size} could not subscribe",
                    subscribers.len() + 1
                )
            })?);
        }
        let connect_time = started.elapsed();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let rss_kib = process.proc.rss_kib().unwrap_or(0);

        let mut lasts = Vec::new();
        let mut every = Vec::new();
        for _ in 0..MUTATIONS {
            while rx.try_recv().is_ok() {}
            let sent = Instant::now();
            let order_id = place_order(client, &url).await?;
            let deadline = sent + Duration::from_secs(60);
            let mut got: HashMap<usize, Instant> = HashMap::new();
            loop {
                if got.len() >= size {
                    let mut times: Vec<Duration> = got
                        .values()
                        .map(|at| at.saturating_duration_since(sent))
                        .collect();
                    times.sort();
                    lasts.push(*times.last().expect("size > 0"));
                    every.extend(times);
                    break;
                }
                let left = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, rx.recv()).await {
                    Ok(Some(c)) => note(&mut got, &c, order_id),
                    _ => bail!(
                        "only {} of {size} subscribers got order {order_id} within 60 s",
                        got.len()
                    ),
                }
            }
            // Let the delivery-started change pass before the next mutation.
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        every.sort();
        let last = Summary::of(&lasts).expect("mutations ran");
        let p50 = percentile(&every, 50.0).expect("arrivals");
        let p99 = percentile(&every, 99.0).expect("arrivals");
        let per_subscriber = (rss_kib.saturating_sub(base_kib)) as f64 * 1024.0 / size as f64;
        let r = &mut bench.report;
        r.row(
            SCENARIO,
            "mutation → last subscriber has the CHANGE",
            format!("{size} subscribers of one customer, {MUTATIONS} placeOrder mutations"),
            format!("p50 {}, p99 {}", ms(last.p50), ms(last.p99)),
            "",
            Verdict::Info,
        );
        r.row(
            SCENARIO,
            "mutation → each subscriber has the CHANGE",
            format!("{size} × {MUTATIONS} deliveries"),
            format!("p50 {}, p99 {}", ms(p50), ms(p99)),
            "",
            Verdict::Info,
        );
        r.row(
            SCENARIO,
            "mall VmRSS per subscriber",
            format!("{size} subscribers (connected in {})", ms(connect_time)),
            format!(
                "{:.1} kB ({} MiB total, {} MiB before any)",
                per_subscriber / 1000.0,
                rss_kib / 1024,
                base_kib / 1024
            ),
            "",
            Verdict::Info,
        );
        readings.push(format!(
            "with {size} subscribers the last one had the change {} after the mutation at p50 \
             ({} at p99; every delivery p50 {}), and each subscriber cost {:.1} kB resident",
            ms(last.p50),
            ms(last.p99),
            ms(p50),
            per_subscriber / 1000.0
        ));
    }
    drop(subscribers);
    bench.report.reading(
        SCENARIO,
        format!(
            "All subscribers follow one customer, so every mutation fans out to all of them \
             through one `mall --target all` process (outbox relay, projection, feed, one \
             WebSocket each); {}. The time includes the mutation's own round trip and the \
             outbox relay's hop to the projection, and the bench process reading every socket \
             shares the same two cores. The memory per subscriber is about the 128 KiB read \
             buffer tungstenite gives each WebSocket by default (axum's `WebSocketUpgrade` \
             keeps it; `read_buffer_size` would lower it), plus the connection's task, its \
             buffered updates and the feed registration.",
            readings.join("; ")
        ),
    );
    Ok(())
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
}
