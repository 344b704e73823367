//! `mall-bench` (run by `cargo xtask bench`): runs the benchmark scenarios against the real
//! system on 127.0.0.1, prints the table and writes BENCHMARKS.md.
//!
//! `mall-bench [--only 1,2,...]` runs only the given scenarios.

use anyhow::{bail, Result};

#[tokio::main]
async fn main() -> Result<()> {
    let mut only = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--only" => {
                let Some(list) = args.next() else {
                    bail!("--only needs a list of scenarios, such as --only 1,2");
                };
                only.extend(list.split(',').map(|s| s.trim().to_owned()));
            }
            other => bail!("unknown argument `{other}`; usage: mall-bench [--only 1,2,...]"),
        }
    }
    mall_bench::run(&only).await
}
