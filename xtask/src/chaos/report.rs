//! The Chaos section of RELIABILITY.md, and the one-line summaries the run prints.

use std::fmt::Write as _;

use anyhow::Result;

use crate::reliability;

use super::crash::CrashFigures;
use super::Figures;

pub use crate::reliability::PATH as RELIABILITY;
const HEADING: &str = "## Chaos";

/// When and where a run was made.
#[derive(Debug)]
pub struct Context {
    pub date: String,
    pub machine: String,
}

impl Context {
    pub fn now() -> Result<Context> {
        Ok(Context {
            date: reliability::date()?,
            machine: reliability::machine(),
        })
    }
}

pub fn crash_line(c: &CrashFigures) -> String {
    format!(
        "    {} kills; {} orders acknowledged ({} cancelled) over {} requests ({} retried); checked {} orders, {} deliveries, {} products, {} my-page rows; {} violations; {:.0} s",
        c.kills(),
        c.placed,
        c.cancelled,
        c.requests,
        c.retried,
        c.verdict.orders,
        c.verdict.deliveries,
        c.verdict.products,
        c.verdict.my_page_rows,
        c.verdict.violations.len(),
        c.elapsed.as_secs_f64()
    )
}

/// The section (starting with `## Chaos`); `context` is left out of the short run's print.
pub fn section(f: &Figures, context: Option<&Context>) -> String {
    let b = f.budget;
    let mut s = format!("{HEADING}\n\n");
    if let Some(c) = context {
        let _ = write!(
            s,
            "Written by `cargo xtask chaos` on {}, against the release `mall` binary \
             (`cargo xtask chaos --rounds {} --duration {} --seed {}` repeats the run's choices; the \
             processes' timing differs from run to run). `cargo xtask test` runs a short version \
             (`cargo xtask chaos --short`). The figure to reach is zero violations; the command \
             fails otherwise.\n\n- **Machine**: {}\n",
            c.date,
            b.rounds,
            b.hold.as_secs_f64(),
            b.seed,
            c.machine
        );
    }
    let _ = write!(
        s,
        "\n### Crash consistency\n\n\
         Shoppers (signed up through `POST /auth/signup` where sign-in is wired) place and cancel \
         orders through the BFF's GraphQL, each request with an idempotency key and retried with \
         the same key until it is acknowledged, while processes are killed with SIGKILL at random \
         moments and started again on the same data and addresses. After the last kill the \
         system is left to settle and stopped; then the stores are read through the services' \
         store API (not over HTTP) and the event log replayed: every acknowledged order exists \
         exactly once and no other does; each active order has exactly one started delivery and \
         each cancelled one exactly one cancelled delivery; each product's stock is its initial \
         stock minus the quantities of active orders; the my-page rows agree with the orders and \
         deliveries and equal a rebuild of the projection from the log; no outbox event is left \
         unpublished and none was dead-lettered.\n\n\
         | deployment | kills | orders acknowledged | of them cancelled | requests (retried) | checked: orders / deliveries / products / my-page rows | violations | time |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n"
    );
    for c in &f.crashes {
        let v = &c.verdict;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} ({}) | {} / {} / {} / {} | {} | {:.0} s |",
            c.layout.describe(),
            c.kills(),
            c.placed,
            c.cancelled,
            c.requests,
            c.retried,
            v.orders,
            v.deliveries,
            v.products,
            v.my_page_rows,
            v.violations.len(),
            c.elapsed.as_secs_f64()
        );
    }
    s.push('\n');
    for c in &f.crashes {
        let killed: Vec<String> = c
            .killed
            .iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        let reasons: Vec<String> = c
            .reasons
            .iter()
            .map(|(why, n)| format!("{why} {n}"))
            .collect();
        let _ = writeln!(
            s,
            "- {}: kills {}; retried because {}; shoppers {}.",
            c.layout.describe(),
            killed.join(", "),
            if reasons.is_empty() {
                "of nothing".to_owned()
            } else {
                reasons.join(", ")
            },
            if c.signed_in {
                "signed in"
            } else {
                "anonymous (no sign-up at the BFF yet)"
            }
        );
    }
    let u = &f.upstream;
    let l = &u.load;
    let _ = write!(
        s,
        "\n### Upstream chaos under load\n\n\
         {} shoppers run the shop's own queries through the BFF in a loop (the products page, \
         their orders with product and delivery, their my-page) while each upstream in turn is \
         killed (SIGKILL, held down {:.1} s, started again), hung (SIGSTOP for {:.1} s, then \
         SIGCONT), slowed (a proxy between it and the BFF delays each chunk of its answers by \
         {:.0} s, for {:.1} s) and restarted (SIGTERM, started again). Scaled-out deployment \
         as above; the BFF's breaker cool-down is {:.0} s. The time to close runs from the \
         upstream's recovery (ready again, SIGCONT, or the proxy forwarding again) to \
         `bff_upstream_circuit_state` reading CLOSED on the BFF's `/metrics`. {} faults in {:.0} s.\n\n\
         | requests | BFF 5xx | malformed | errors without a code | no answer | data or a typed error | of them with typed errors | of them with stale copies |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|\n\
         | {} | {} | {} | {} | {} | {} | {} | {} |\n\n\
         | upstream | fault | circuit left CLOSED | recovery to CLOSED |\n\
         |---|---|---|---:|\n",
        u.budget.shoppers,
        u.budget.hold.as_secs_f64(),
        u.budget.hold.as_secs_f64(),
        u.budget.delay.as_secs_f64(),
        u.budget.hold.as_secs_f64(),
        u.budget.cool_down.as_secs_f64(),
        u.faults.len(),
        u.elapsed.as_secs_f64(),
        l.requests,
        l.server_errors,
        l.malformed,
        l.untyped,
        l.no_answer,
        l.good,
        l.with_errors,
        l.stale
    );
    for fault in &u.faults {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            fault.role,
            fault.fault.name(),
            if fault.opened { "yes" } else { "no" },
            match fault.closed_after {
                Some(d) => format!("{:.1} s", d.as_secs_f64()),
                None => "did not close".into(),
            }
        );
    }
    let exits: Vec<&String> = f
        .crashes
        .iter()
        .flat_map(|c| &c.exits_on_start)
        .chain(&u.exits_on_start)
        .collect();
    if !exits.is_empty() {
        let _ = writeln!(
            s,
            "\nProcesses that exited on start (started again, as an orchestrator would):\n"
        );
        for e in exits {
            let _ = writeln!(s, "- {e}");
        }
    }
    let violations = f.violations();
    let _ = write!(s, "\n**Violations: {}**", violations.len());
    if violations.is_empty() {
        s.push_str(".\n");
    } else {
        s.push_str(":\n\n");
        for v in violations {
            let _ = writeln!(s, "- {v}");
        }
    }
    s
}

/// Puts `section` in place of the old Chaos section of RELIABILITY.md.
pub fn write(section: &str) -> Result<()> {
    reliability::write_section(HEADING, section)
}
