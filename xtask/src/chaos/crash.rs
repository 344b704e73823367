//! Crash consistency: shoppers place and cancel orders through the BFF, each request with
//! an idempotency key and retried with the same key until it is acknowledged, while the
//! cluster's processes are killed with SIGKILL at random moments and started again on the
//! same data and addresses. Then the stores are checked ([`facts`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::json;

use super::cluster::{Cluster, Layout};
use super::facts::{self, Acked, Expected, Verdict};
use super::rng::Rng;
use super::shopper::Shopper;

const PLACE: &str = "mutation($input: PlaceOrderInput!, $key: String) {
  placeOrder(input: $input, idempotencyKey: $key) { id productId quantity customerId status }
}";
const CANCEL: &str = "mutation($id: Int!, $key: String) {
  cancelOrder(orderId: $id, idempotencyKey: $key) { id status }
}";

/// How hard one crash run pushes.
#[derive(Debug, Clone, Copy)]
pub struct CrashBudget {
    /// SIGKILLs over the run.
    pub kills: u32,
    /// Shoppers placing and cancelling at once.
    pub shoppers: usize,
    /// Load between a restart and the next kill (a random time in this range).
    pub between_kills: (Duration, Duration),
    /// How long one request is retried before it counts as never acknowledged.
    pub give_up: Duration,
    /// A shopper's pause between two requests (a random time in this range): a shop's
    /// load, which the consumers keep up with, not a flood.
    pub think: (Duration, Duration),
}

#[derive(Debug, Clone)]
pub struct CrashFigures {
    pub layout: Layout,
    /// Kills per process name.
    pub killed: BTreeMap<String, u32>,
    pub placed: usize,
    pub cancelled: usize,
    /// Requests sent, and those that failed and were retried.
    pub requests: u64,
    pub retried: u64,
    /// Why requests were retried: the error code, or "no answer".
    pub reasons: BTreeMap<String, u64>,
    pub signed_in: bool,
    /// Processes that exited on start and were started again.
    pub exits_on_start: Vec<String>,
    pub verdict: Verdict,
    pub elapsed: Duration,
}

impl CrashFigures {
    pub fn kills(&self) -> u32 {
        self.killed.values().sum()
    }
}

#[derive(Debug, Default)]
struct Ledger {
    orders: Vec<Acked>,
    unacknowledged: Vec<String>,
    requests: u64,
    retried: u64,
    reasons: BTreeMap<String, u64>,
}

/// Runs one crash run on a fresh cluster of `layout`.
pub async fn run(
    layout: Layout,
    mall: &Path,
    budget: CrashBudget,
    rng: &mut Rng,
) -> Result<CrashFigures> {
    let began = Instant::now();
    let mut cluster = Cluster::new(layout, mall, &[]).await?;
    cluster.start().await?;
    let initial_stock = facts::stock(&cluster).await?;
    let products: Vec<i64> = initial_stock.keys().copied().collect();
    anyhow::ensure!(!products.is_empty(), "the product store has no products");

    let run = uuid::Uuid::new_v4().simple().to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let mut shoppers = vec![];
    let mut signed_in = false;
    for n in 0..budget.shoppers {
        let email = format!("chaos-{}-{n}@12st.example", &run[..12]);
        let shopper = Shopper::sign_up_patiently(&cluster.bff, &email).await?;
        signed_in |= shopper.signed_in;
        shoppers.push(tokio::spawn(shop(
            shopper,
            products.clone(),
            rng.fork(),
            Arc::clone(&stop),
            budget,
        )));
    }

    let mut killed = BTreeMap::new();
    let result = async {
        for _ in 0..budget.kills {
            tokio::time::sleep(rng.between(budget.between_kills.0, budget.between_kills.1)).await;
            let i = rng.below(cluster.members.len() as u64) as usize;
            cluster.members[i].process.kill();
            *killed
                .entry(cluster.members[i].process.name.clone())
                .or_insert(0) += 1;
            tokio::time::sleep(rng.between(Duration::ZERO, Duration::from_millis(300))).await;
            cluster.restart(i).await?;
        }
        anyhow::Ok(())
    }
    .await;
    stop.store(true, Ordering::Relaxed);
    let mut expected = Expected {
        initial_stock,
        ..Expected::default()
    };
    let (mut requests, mut retried) = (0, 0);
    let mut reasons = BTreeMap::new();
    for s in shoppers {
        let ledger = s.await?;
        for (why, n) in ledger.reasons {
            *reasons.entry(why).or_insert(0) += n;
        }
        expected.orders.extend(ledger.orders);
        expected.unacknowledged.extend(ledger.unacknowledged);
        requests += ledger.requests;
        retried += ledger.retried;
    }
    result?;

    settle(&mut cluster, &expected).await?;
    cluster.stop().await;
    let snapshot = facts::snapshot(&cluster).await?;
    let mut verdict = facts::check(&expected, &snapshot);
    if let Some(v) = facts::rebuild_differs(&cluster, &snapshot.my_page).await? {
        verdict.violations.push(v);
    }
    let exits_on_start = std::mem::take(&mut cluster.exits_on_start);
    cluster.close().await?;
    Ok(CrashFigures {
        layout,
        killed,
        placed: expected.orders.len(),
        cancelled: expected.orders.iter().filter(|o| o.cancelled).count(),
        requests,
        retried,
        reasons,
        signed_in,
        exits_on_start,
        verdict,
        elapsed: began.elapsed(),
    })
}

/// One shopper: places orders and cancels some of its own until `stop`, each request
/// retried with its key until it is acknowledged.
async fn shop(
    shopper: Shopper,
    products: Vec<i64>,
    mut rng: Rng,
    stop: Arc<AtomicBool>,
    budget: CrashBudget,
) -> Ledger {
    let give_up = budget.give_up;
    let mut ledger = Ledger::default();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(rng.between(budget.think.0, budget.think.1)).await;
        n += 1;
        let active: Vec<usize> = (0..ledger.orders.len())
            .filter(|i| !ledger.orders[*i].cancelled)
            .collect();
        if !active.is_empty() && rng.percent(30) {
            let i = active[rng.below(active.len() as u64) as usize];
            let id = ledger.orders[i].id;
            let key = format!("cancel-{id}");
            let vars = json!({ "id": id, "key": key });
            let answer = retry(&shopper, CANCEL, vars, "cancelOrder", give_up, &mut ledger).await;
            match answer {
                Some(order) if order["status"] == "CANCELLED" => ledger.orders[i].cancelled = true,
                Some(order) => ledger
                    .unacknowledged
                    .push(format!("cancelling order {id} answered {order}")),
                None => ledger.unacknowledged.push(format!(
                    "cancelling order {id} ({key}) was never acknowledged"
                )),
            }
        } else {
            let product_id = products[rng.below(products.len() as u64) as usize];
            let quantity = 1 + rng.below(3) as i64;
            let key = format!("place-{n}");
            let vars = json!({
                "key": key,
                "input": {
                    "productId": product_id,
                    "quantity": quantity,
                    "customerId": shopper.email,
                    "customerName": "Chaos Shopper",
                    "customerAddr": "1 Loopback Road",
                },
            });
            let answer = retry(&shopper, PLACE, vars, "placeOrder", give_up, &mut ledger).await;
            match answer.as_ref().and_then(|o| o["id"].as_i64()) {
                Some(id) => {
                    let order = answer.unwrap_or_default();
                    if order["productId"] != product_id || order["quantity"] != quantity {
                        ledger.unacknowledged.push(format!(
                            "key {key} of {} answered another order: {order}",
                            shopper.email
                        ));
                    }
                    ledger.orders.push(Acked {
                        id,
                        customer: shopper.email.clone(),
                        product_id,
                        quantity,
                        cancelled: false,
                    });
                }
                None => ledger.unacknowledged.push(format!(
                    "placing {} ({key}) was never acknowledged",
                    shopper.email
                )),
            }
        }
    }
    ledger
}

/// Sends one request until `data.<field>` comes back, with the same variables (so the same
/// idempotency key) each time; `None` after `give_up`.
async fn retry(
    shopper: &Shopper,
    query: &str,
    vars: serde_json::Value,
    field: &str,
    give_up: Duration,
    ledger: &mut Ledger,
) -> Option<serde_json::Value> {
    let began = Instant::now();
    let mut last = String::new();
    while began.elapsed() < give_up {
        ledger.requests += 1;
        match shopper.graphql(query, vars.clone()).await {
            Ok(answer) => match answer.field(field) {
                Some(v) => return Some(v.clone()),
                None => {
                    *ledger.reasons.entry(answer.code()).or_insert(0) += 1;
                    last = answer.why();
                }
            },
            Err(e) => {
                *ledger.reasons.entry("no answer".into()).or_insert(0) += 1;
                last = e.to_string();
            }
        }
        ledger.retried += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("    gave up on {field} for {}: {last}", shopper.email);
    None
}

/// Starts whatever is down, then waits until the stores agree with the clients (or stop
/// changing for 20 s, or five minutes pass): events still in flight are handled before the
/// processes stop.
async fn settle(cluster: &mut Cluster, expected: &Expected) -> Result<()> {
    cluster.start().await?;
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut last: Option<Vec<String>> = None;
    let mut unchanged_since = Instant::now();
    while Instant::now() < deadline {
        if let Ok(snapshot) = facts::snapshot(cluster).await {
            let verdict = facts::check(expected, &snapshot);
            if verdict.violations.len() == expected.unacknowledged.len() {
                return Ok(());
            }
            if last.as_ref() != Some(&verdict.violations) {
                last = Some(verdict.violations);
                unchanged_since = Instant::now();
            } else if unchanged_since.elapsed() > Duration::from_secs(20) {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(())
}
