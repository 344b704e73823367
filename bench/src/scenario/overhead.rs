//! Scenario 2, overhead and throughput, and scenario 6, memory: a fixed-concurrency wrk load
//! on the product listing through the BFF (`mall --target bff`, its own process) and on the
//! same data straight from the product service. Requests/s per core of BFF CPU time comes
//! from the BFF process's own /proc/<pid>/stat; its VmRSS is sampled idle and under the load.
//! Targets: BFF p99 within 1 ms of the direct p99; ≥ 3,000 requests/s per core of BFF CPU.

use std::time::Duration;

use anyhow::{bail, Result};

use crate::graphql::{self, PRODUCTS};
use crate::report::{Report, Verdict};
use crate::rig::{MallProcess, Rig};
use crate::stats::{mib, ms};
use crate::wrk::{self, Load};
use crate::Bench;

pub const SCENARIO: &str = "2 Overhead and throughput";
pub const MEMORY: &str = "6 Memory";

pub const LOAD: Load = Load {
    threads: 1,
    connections: 8,
    duration: Duration::from_secs(10),
};
const WARM_UP: Load = Load {
    threads: 1,
    connections: 8,
    duration: Duration::from_secs(2),
};

pub async fn run(bench: &mut Bench) -> Result<()> {
    if let Err(why) = &bench.wrk {
        bench.report.not_measured(SCENARIO, "throughput", why);
        bench.report.not_measured(MEMORY, "BFF VmRSS under load", why);
        return Ok(());
    }
    let rig = Rig::start(false).await?;
    let result = measure(bench, &rig).await;
    rig.stop().await;
    result
}

async fn measure(bench: &mut Bench, rig: &Rig) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let direct_url = format!("{}/products?page=0&size=20", rig.direct.product);
    // Same data, straight from the service.
    wrk::run(WARM_UP, &direct_url, None).await?;
    let direct = wrk::run(LOAD, &direct_url, None).await?;
    let params = format!("{}, 20 products", LOAD.describe());
    bench.report.row(
        SCENARIO,
        "direct product service: requests/s, p50, p99",
        params.clone(),
        format!(
            "{:.0} req/s, p50 {}, p99 {}",
            direct.requests_per_sec,
            ms(direct.p50),
            ms(direct.p99)
        ),
        "",
        Verdict::Info,
    );

    let mall = match &bench.mall {
        Ok(m) => m.clone(),
        Err(why) => {
            let why = why.clone();
            not_measured_bff(&mut bench.report, &why);
            return Ok(());
        }
    };
    let bff = MallProcess::bff(&mall, &rig.direct).await?;
    let url = bff.graphql_url();
    if let Err(why) = graphql::available(&bench.client, &url).await {
        bff.stop().await;
        not_measured_bff(&mut bench.report, &why);
        return Ok(());
    }
    let check = graphql::post(&bench.client, &url, PRODUCTS).await?;
    check.expect_clean()?;
    let idle_kib = bff.proc.rss_kib().unwrap_or(0);

    let script = dir.path().join("products.lua");
    std::fs::write(
        &script,
        wrk::post_script(&graphql::body(PRODUCTS).to_string()),
    )?;
    wrk::run(WARM_UP, &url, Some(&script)).await?;
    let cpu_before = bff.proc.cpu_time();
    // Sample resident memory while the load runs.
    let proc = bff.proc;
    let sampler = tokio::spawn(async move {
        let mut peak = 0;
        for _ in 0..(LOAD.duration.as_millis() / 200) {
            tokio::time::sleep(Duration::from_millis(200)).await;
            peak = peak.max(proc.rss_kib().unwrap_or(0));
        }
        peak
    });
    let through = wrk::run(LOAD, &url, Some(&script)).await?;
    let cpu_after = bff.proc.cpu_time();
    let loaded_kib = sampler.await.unwrap_or(0);
    let after_kib = bff.proc.rss_kib().unwrap_or(0);
    let peak_kib = bff.proc.peak_rss_kib().unwrap_or(0);
    bff.stop().await;
    if through.errors > 0 {
        bail!("{} of the BFF's answers under load were errors", through.errors);
    }

    let cpu = match (cpu_before, cpu_after) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => bail!("cannot read the BFF's CPU time from /proc"),
    };
    let per_core = through.requests as f64 / cpu.as_secs_f64().max(1e-9);
    let p99_gap = through.p99.as_secs_f64() - direct.p99.as_secs_f64();
    let r = &mut bench.report;
    r.row(
        SCENARIO,
        "BFF products query: requests/s, p50, p99",
        params.clone(),
        format!(
            "{:.0} req/s, p50 {}, p99 {}",
            through.requests_per_sec,
            ms(through.p50),
            ms(through.p99)
        ),
        "",
        Verdict::Info,
    );
    r.row(
        SCENARIO,
        "BFF p99 − direct p99",
        params.clone(),
        format!("{:+.2} ms", p99_gap * 1000.0),
        "≤ 1 ms",
        Verdict::of(p99_gap <= 0.001),
    );
    r.row(
        SCENARIO,
        "BFF requests/s per core of BFF CPU",
        format!(
            "{} requests over {:.2} s of BFF CPU ({} wall)",
            through.requests,
            cpu.as_secs_f64(),
            ms(Duration::from_secs_f64(through.seconds))
        ),
        format!("{per_core:.0} req/s/core"),
        "≥ 3000",
        Verdict::of(per_core >= 3000.0),
    );
    r.row(
        MEMORY,
        "BFF VmRSS idle",
        "mall --target bff, after start and one query",
        mib(idle_kib),
        "",
        Verdict::Info,
    );
    r.row(
        MEMORY,
        "BFF VmRSS under load",
        format!("{} (max of samples every 200 ms; after; VmHWM)", LOAD.describe()),
        format!("{} (after {}, peak {})", mib(loaded_kib), mib(after_kib), mib(peak_kib)),
        "",
        Verdict::Info,
    );
    r.reading(
        SCENARIO,
        format!(
            "Both sides run at {} connections on the same 2-core machine as the load generator \
             and the services. The BFF adds one loopback hop and GraphQL parsing and \
             serialisation to the product service's answer: p99 {} against {} directly ({:+.2} ms, \
             target ≤ 1 ms {}). It served {:.0} GraphQL requests per second of its own CPU time \
             (target ≥ 3,000 {}).",
            LOAD.connections,
            ms(through.p99),
            ms(direct.p99),
            p99_gap * 1000.0,
            if p99_gap <= 0.001 { "met" } else { "MISSED" },
            per_core,
            if per_core >= 3000.0 { "met" } else { "MISSED" },
        ),
    );
    r.reading(
        MEMORY,
        format!(
            "The BFF process holds {} resident when idle and {} under the scenario 2 load \
             (peak {}).",
            mib(idle_kib),
            mib(loaded_kib),
            mib(peak_kib)
        ),
    );
    Ok(())
}

fn not_measured_bff(report: &mut Report, why: &str) {
    report.not_measured(SCENARIO, "BFF products query", why);
    report.not_measured(MEMORY, "BFF VmRSS idle and under load", why);
    report.reading(
        SCENARIO,
        format!("Only the direct product service was measured: {why}."),
    );
}
