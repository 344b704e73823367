//! `mall-bench` (run by `cargo xtask bench`): runs the benchmark scenarios against the real
//! system on 127.0.0.1, prints the table and writes BENCHMARKS.md.
//!
//! `mall-bench [--only 1,2,...] [--mall PATH] [--baseline PATH]` runs only the given
//! scenarios (BENCHMARKS.md keeps the others' rows from its last version), with the given `mall` binary (by default it builds one with `cargo build
//! --release -p mall`); with `--baseline`, scenario 2 also runs that older `mall` binary's BFF
//! side by side with this one and compares their CPU per query.

use std::path::PathBuf;

use anyhow::{bail, Result};

#[tokio::main]
async fn main() -> Result<()> {
    const USAGE: &str = "usage: mall-bench [--only 1,2,...] [--mall PATH] [--baseline PATH] \
        (`cargo xtask bench` passes these on)";
    let mut only = Vec::new();
    let mut mall = None;
    let mut baseline = None;
    let mut args = std::env::args().skip(1);
    if std::env::args().nth(1).as_deref() == Some(mall_bench::fanout_floor::ARG) {
        return mall_bench::fanout_floor::serve().await;
    }
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--only" => {
                let Some(list) = args.next() else {
                    bail!("--only needs a list of scenarios, such as --only 1,2");
                };
                only.extend(list.split(',').map(|s| s.trim().to_owned()));
            }
            "--mall" => {
                let Some(path) = args.next() else {
                    bail!("--mall needs the path of a `mall` binary");
                };
                mall = Some(PathBuf::from(path));
            }
            "--baseline" => {
                let Some(path) = args.next() else {
                    bail!("--baseline needs the path of an older `mall` binary");
                };
                baseline = Some(PathBuf::from(path));
            }
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument `{other}`; {USAGE}"),
        }
    }
    mall_bench::run(&only, mall, baseline).await
}
