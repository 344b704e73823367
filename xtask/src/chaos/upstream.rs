//! Upstream chaos under load: shoppers run the shop's own queries (the products page, their
//! orders with product and delivery, their my-page) through the BFF while each upstream in
//! turn is killed, hung, slowed and restarted. Every answer is classified, and the time
//! from the upstream's recovery to its circuit closing is read from the BFF's `/metrics`.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use mall_services::Role;
use serde_json::{json, Value};

use super::cluster::{Cluster, Layout};
use super::proxy::Mode;
use super::rng::Rng;
use super::shopper::{Answer, Shopper, ShopperError};

const QUERIES: [&str; 3] = [
    "{ products(page: 0, size: 20) { items { id name price stock } totalElements } }",
    "query($c: String) { orders(customerId: $c) { id status product { name stock } delivery { id status } } }",
    "query($c: String!) { myPage(customerId: $c) { orderId orderStatus deliveryStatus } }",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL, held down, then started again.
    Kill,
    /// SIGSTOP, held, then SIGCONT.
    Hang,
    /// The proxy in front of it delays every chunk of its answers.
    Slow,
    /// SIGTERM and started again at once.
    Restart,
}

impl Fault {
    pub const ALL: [Fault; 4] = [Fault::Kill, Fault::Hang, Fault::Slow, Fault::Restart];

    pub fn name(self) -> &'static str {
        match self {
            Fault::Kill => "killed (SIGKILL)",
            Fault::Hang => "hung (SIGSTOP)",
            Fault::Slow => "slowed (proxy delay)",
            Fault::Restart => "restarted (SIGTERM)",
        }
    }
}

#[derive(Debug, Clone)]
pub struct UpstreamBudget {
    pub faults: Vec<(Role, Fault)>,
    /// How long a kill, hang or slow-down lasts.
    pub hold: Duration,
    /// The delay the proxy adds to each chunk of a slowed upstream's answers.
    pub delay: Duration,
    /// The BFF's breaker cool-down for the run.
    pub cool_down: Duration,
    pub shoppers: usize,
}

/// One fault and what the BFF's circuit did.
#[derive(Debug, Clone)]
pub struct FaultFigure {
    pub role: Role,
    pub fault: Fault,
    /// Whether the circuit left CLOSED (open or half-open) during the fault.
    pub opened: bool,
    /// From recovery to the circuit closed (`None`: it did not close in time).
    pub closed_after: Option<Duration>,
}

#[derive(Debug, Default)]
struct Counts {
    requests: AtomicU64,
    server_errors: AtomicU64,
    malformed: AtomicU64,
    untyped: AtomicU64,
    no_answer: AtomicU64,
    good: AtomicU64,
    with_errors: AtomicU64,
    stale: AtomicU64,
}

#[derive(Debug, Clone, Default)]
pub struct LoadFigures {
    pub requests: u64,
    /// HTTP 5xx from the BFF.
    pub server_errors: u64,
    /// Not a GraphQL response (no JSON, neither data nor errors).
    pub malformed: u64,
    /// Errors without `extensions.code`.
    pub untyped: u64,
    /// No HTTP answer within the client's 15 s.
    pub no_answer: u64,
    /// Data, or only typed errors.
    pub good: u64,
    /// Of the good ones, those with typed errors (degraded answers).
    pub with_errors: u64,
    /// Of the good ones, those with last-known-good copies (`extensions.stale`).
    pub stale: u64,
}

#[derive(Debug, Clone)]
pub struct UpstreamFigures {
    pub load: LoadFigures,
    pub faults: Vec<FaultFigure>,
    pub budget: UpstreamBudget,
    pub elapsed: Duration,
    /// Processes that exited on start and were started again.
    pub exits_on_start: Vec<String>,
}

impl UpstreamFigures {
    pub fn violations(&self) -> Vec<String> {
        let l = &self.load;
        let mut v = vec![];
        for (n, what) in [
            (l.server_errors, "BFF answers were 5xx"),
            (l.malformed, "answers were not GraphQL responses"),
            (l.untyped, "answers had errors without a code"),
            (l.no_answer, "requests got no answer"),
        ] {
            if n > 0 {
                v.push(format!("{n} {what}"));
            }
        }
        for f in &self.faults {
            if f.closed_after.is_none() {
                v.push(format!(
                    "the {} circuit did not close after the {} upstream recovered from being {}",
                    f.role,
                    f.role,
                    f.fault.name()
                ));
            }
        }
        v
    }
}

pub async fn run(mall: &Path, budget: UpstreamBudget, rng: &mut Rng) -> Result<UpstreamFigures> {
    let began = Instant::now();
    let env = [(
        "MALL_BFF__RESILIENCE__ALL__BREAKER__COOL_DOWN".to_owned(),
        format!("{}ms", budget.cool_down.as_millis()),
    )];
    let mut cluster = Cluster::new(Layout::Roles, mall, &env).await?;
    cluster.start().await?;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = vec![];
    for n in 0..budget.shoppers {
        let email = format!("load-{}-{n}@12st.example", &run[..12]);
        let shopper = Shopper::sign_up_patiently(&cluster.bff, &email).await?;
        place_some(&shopper, rng).await?;
        load.push(tokio::spawn(query(
            shopper,
            Arc::clone(&counts),
            Arc::clone(&stop),
        )));
    }
    let http = reqwest::Client::new();
    let metrics = format!("{}/metrics", cluster.bff);
    let mut faults = vec![];
    let result = async {
        // The load warms up (and every circuit is closed) before the first fault.
        tokio::time::sleep(Duration::from_secs(1)).await;
        for (role, fault) in &budget.faults {
            faults.push(inflict(&mut cluster, &http, &metrics, *role, *fault, &budget).await?);
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        anyhow::Ok(())
    }
    .await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await?;
    }
    let exits_on_start = std::mem::take(&mut cluster.exits_on_start);
    cluster.close().await?;
    result?;
    let c = &counts;
    Ok(UpstreamFigures {
        load: LoadFigures {
            requests: c.requests.load(Ordering::Relaxed),
            server_errors: c.server_errors.load(Ordering::Relaxed),
            malformed: c.malformed.load(Ordering::Relaxed),
            untyped: c.untyped.load(Ordering::Relaxed),
            no_answer: c.no_answer.load(Ordering::Relaxed),
            good: c.good.load(Ordering::Relaxed),
            with_errors: c.with_errors.load(Ordering::Relaxed),
            stale: c.stale.load(Ordering::Relaxed),
        },
        faults,
        budget,
        elapsed: began.elapsed(),
        exits_on_start,
    })
}

/// A few orders, so the shopper's lists have rows (and deliveries) to read.
async fn place_some(shopper: &Shopper, rng: &mut Rng) -> Result<()> {
    for n in 0..2 {
        let vars = json!({
            "key": format!("seed-{n}"),
            "input": {
                "productId": 1 + rng.below(3) as i64,
                "quantity": 1,
                "customerId": shopper.email,
                "customerName": "Load Shopper",
                "customerAddr": "1 Loopback Road",
            },
        });
        let answer = shopper
            .graphql(
                "mutation($input: PlaceOrderInput!, $key: String) { placeOrder(input: $input, idempotencyKey: $key) { id } }",
                vars,
            )
            .await?;
        answer
            .field("placeOrder")
            .with_context(|| format!("placing a first order: {}", answer.why()))?;
    }
    Ok(())
}

async fn query(shopper: Shopper, counts: Arc<Counts>, stop: Arc<AtomicBool>) {
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let q = QUERIES[n % QUERIES.len()];
        n += 1;
        let answer = shopper.graphql(q, json!({ "c": shopper.email })).await;
        counts.requests.fetch_add(1, Ordering::Relaxed);
        let class = classify(&answer);
        let counter = match class {
            Class::ServerError => &counts.server_errors,
            Class::Malformed => &counts.malformed,
            Class::Untyped => &counts.untyped,
            Class::NoAnswer => &counts.no_answer,
            Class::Good { with_errors, stale } => {
                if with_errors {
                    counts.with_errors.fetch_add(1, Ordering::Relaxed);
                }
                if stale {
                    counts.stale.fetch_add(1, Ordering::Relaxed);
                }
                &counts.good
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if !matches!(class, Class::Good { .. }) {
            eprintln!(
                "    {}: {}",
                q.split_whitespace().nth(1).unwrap_or(q),
                describe(&answer)
            );
        }
    }
}

enum Class {
    ServerError,
    Malformed,
    Untyped,
    NoAnswer,
    Good { with_errors: bool, stale: bool },
}

fn classify(answer: &Result<Answer, ShopperError>) -> Class {
    let Ok(answer) = answer else {
        return Class::NoAnswer;
    };
    if answer.status >= 500 {
        return Class::ServerError;
    }
    let Some(body) = answer.body.as_ref().and_then(Value::as_object) else {
        return Class::Malformed;
    };
    let data = body.get("data").filter(|d| d.is_object());
    let stale = body
        .get("extensions")
        .is_some_and(|e| e.get("stale").is_some());
    let errors = match body.get("errors") {
        None => None,
        Some(Value::Array(errors)) if !errors.is_empty() => Some(errors),
        Some(_) => return Class::Malformed,
    };
    if let Some(errors) = errors {
        let typed = errors.iter().all(|e| {
            e["message"].is_string()
                && e["extensions"]["code"]
                    .as_str()
                    .is_some_and(|c| !c.is_empty())
        });
        if !typed {
            return Class::Untyped;
        }
        return Class::Good {
            with_errors: true,
            stale,
        };
    }
    if data.is_some() {
        Class::Good {
            with_errors: false,
            stale,
        }
    } else {
        Class::Malformed
    }
}

fn describe(answer: &Result<Answer, ShopperError>) -> String {
    match answer {
        Ok(a) => a.why(),
        Err(e) => e.to_string(),
    }
}

/// The BFF's circuit state of `role` (`bff_upstream_circuit_state`): 0 closed, 1 open, 2 half-open.
async fn circuit(http: &reqwest::Client, metrics: &str, role: Role) -> Option<u8> {
    let text = http.get(metrics).send().await.ok()?.text().await.ok()?;
    let label = format!("upstream=\"{}\"", role.name());
    text.lines()
        .filter(|l| l.starts_with("bff_upstream_circuit_state{") && l.contains(&label))
        .find_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u8)
}

/// Waits `hold` while watching the circuit; returns whether it left CLOSED.
async fn watch(http: &reqwest::Client, metrics: &str, role: Role, hold: Duration) -> bool {
    let until = Instant::now() + hold;
    let mut opened = false;
    while Instant::now() < until {
        opened |= circuit(http, metrics, role).await.is_some_and(|s| s != 0);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    opened
}

async fn inflict(
    cluster: &mut Cluster,
    http: &reqwest::Client,
    metrics: &str,
    role: Role,
    fault: Fault,
    budget: &UpstreamBudget,
) -> Result<FaultFigure> {
    println!("    {role}: {}", fault.name());
    let members = cluster.of_role(role);
    let opened = match fault {
        Fault::Kill => {
            for i in &members {
                cluster.members[*i].process.kill();
            }
            let opened = watch(http, metrics, role, budget.hold).await;
            for i in &members {
                cluster.restart(*i).await?;
            }
            opened
        }
        Fault::Hang => {
            for i in &members {
                cluster.members[*i].process.signal("STOP")?;
            }
            let opened = watch(http, metrics, role, budget.hold).await;
            for i in &members {
                cluster.members[*i].process.signal("CONT")?;
            }
            opened
        }
        Fault::Slow => {
            let proxy = &cluster.proxies[&role];
            proxy.set(Mode::Slow(budget.delay));
            let opened = watch(http, metrics, role, budget.hold).await;
            cluster.proxies[&role].set(Mode::Forward);
            opened
        }
        Fault::Restart => {
            for i in &members {
                cluster.members[*i].process.stop().await;
                cluster.restart(*i).await?;
            }
            false
        }
    };
    let recovered = Instant::now();
    let limit = budget.cool_down * 3 + Duration::from_secs(20);
    let mut opened = opened;
    let closed_after = loop {
        match circuit(http, metrics, role).await {
            Some(0) => break Some(recovered.elapsed()),
            Some(_) => opened = true,
            None => {}
        }
        if recovered.elapsed() > limit {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    Ok(FaultFigure {
        role,
        fault,
        opened,
        closed_after,
    })
}
