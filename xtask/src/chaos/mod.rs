//! `cargo xtask chaos`: the real `mall` binary under crashes and upstream faults.
//!
//! - crash consistency ([`crash`]): shoppers place and cancel orders with idempotency keys,
//!   retrying until acknowledged, while processes are killed with SIGKILL at random moments;
//!   then the stores are checked ([`facts`]). Once on the embedded default (one process),
//!   once scaled out (a process per role, two delivery replicas, PostgreSQL and NATS).
//! - upstream chaos under load ([`upstream`]): each upstream in turn killed, hung, slowed and
//!   restarted while the shop's queries run through the BFF.
//!
//! The long run writes RELIABILITY.md's Chaos section; the short one runs in `cargo xtask
//! test`. Both fail on any violation.

mod cluster;
mod crash;
mod facts;
mod process;
mod proxy;
mod report;
mod rng;
mod shopper;
mod upstream;

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Result};
use mall_services::Role;

use crate::step;
use cluster::Layout;
use crash::{CrashBudget, CrashFigures};
use rng::Rng;
use upstream::{Fault, UpstreamBudget, UpstreamFigures};

/// What a run does; the same seed repeats its choices.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// SIGKILLs per crash run.
    pub rounds: u32,
    /// How long each upstream fault lasts.
    pub hold: Duration,
    pub seed: u64,
    /// The short version (a few kills, one fault per upstream, a short breaker cool-down).
    pub short: bool,
}

pub const LONG: Budget = Budget {
    rounds: 30,
    hold: Duration::from_secs(5),
    seed: 12,
    short: false,
};

pub const SHORT: Budget = Budget {
    rounds: 5,
    hold: Duration::from_millis(1500),
    seed: 12,
    short: true,
};

/// Everything a run measured.
#[derive(Debug)]
pub struct Figures {
    pub budget: Budget,
    pub crashes: Vec<CrashFigures>,
    pub upstream: UpstreamFigures,
}

impl Figures {
    pub fn violations(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .crashes
            .iter()
            .flat_map(|c| {
                c.verdict
                    .violations
                    .iter()
                    .map(move |v| format!("{:?}: {v}", c.layout))
            })
            .collect();
        v.extend(self.upstream.violations());
        v
    }
}

/// The short run, in `cargo xtask test`: fails on any violation, writes nothing.
pub fn suite(mall: &Path) -> Result<()> {
    let figures = run(mall, SHORT)?;
    print!("{}", report::section(&figures, None));
    verdict(&figures)
}

/// The long run: writes RELIABILITY.md's Chaos section, then fails on any violation.
pub fn long(mall: &Path, budget: Budget) -> Result<()> {
    let figures = run(mall, budget)?;
    let section = report::section(&figures, Some(&report::Context::now()?));
    report::write(&section)?;
    step(&format!(
        "wrote the Chaos section of {}",
        report::RELIABILITY
    ));
    print!("{section}");
    verdict(&figures)
}

fn verdict(figures: &Figures) -> Result<()> {
    let violations = figures.violations();
    if violations.is_empty() {
        return Ok(());
    }
    for v in &violations {
        eprintln!("  violation: {v}");
    }
    bail!("the chaos run found {} violations", violations.len())
}

fn run(mall: &Path, budget: Budget) -> Result<Figures> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut rng = Rng::new(budget.seed);
        let crash_budget = CrashBudget {
            kills: budget.rounds,
            shoppers: if budget.short { 3 } else { 4 },
            between_kills: if budget.short {
                (Duration::from_millis(300), Duration::from_millis(1200))
            } else {
                (Duration::from_millis(500), Duration::from_millis(3000))
            },
            give_up: Duration::from_secs(if budget.short { 60 } else { 120 }),
            think: (Duration::from_millis(50), Duration::from_millis(300)),
        };
        let mut crashes = vec![];
        for layout in [Layout::Embedded, Layout::Roles] {
            step(&format!(
                "chaos: crash consistency, {} kills of {}",
                budget.rounds,
                layout.describe()
            ));
            let figures = crash::run(layout, mall, crash_budget, &mut rng).await?;
            println!("{}", report::crash_line(&figures));
            crashes.push(figures);
        }
        let faults: Vec<(Role, Fault)> = if budget.short {
            // One fault per upstream, a different one each.
            Role::ALL.into_iter().zip(Fault::ALL).collect()
        } else {
            Role::ALL
                .into_iter()
                .flat_map(|r| Fault::ALL.map(|f| (r, f)))
                .collect()
        };
        step(&format!(
            "chaos: upstream faults under load ({} faults, each held {:?})",
            faults.len(),
            budget.hold
        ));
        let upstream = upstream::run(
            mall,
            UpstreamBudget {
                faults,
                hold: budget.hold,
                delay: Duration::from_secs(3),
                cool_down: Duration::from_secs(if budget.short { 2 } else { 10 }),
                shoppers: 4,
            },
            &mut rng,
        )
        .await?;
        Ok(Figures {
            budget,
            crashes,
            upstream,
        })
    })
}
