//! The load generator: Debian's `wrk` at a fixed number of connections, with a Lua script for
//! GraphQL POST bodies; installed with apt-get when missing, and its report parsed.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use tokio::process::Command;

/// Fixed-concurrency load parameters.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub threads: u32,
    pub connections: u32,
    pub duration: Duration,
}

impl Load {
    pub fn describe(&self) -> String {
        format!(
            "wrk -t{} -c{} -d{}s",
            self.threads,
            self.connections,
            self.duration.as_secs()
        )
    }
}

/// What wrk reported.
#[derive(Debug, Clone, PartialEq)]
pub struct WrkResult {
    pub requests: u64,
    pub seconds: f64,
    pub requests_per_sec: f64,
    pub p50: Duration,
    pub p99: Duration,
    /// Non-2xx/3xx answers plus socket errors.
    pub errors: u64,
}

/// Makes sure `wrk` is on the PATH, installing Debian's package if it is not.
pub fn ensure_installed() -> Result<()> {
    if which("wrk") {
        return Ok(());
    }
    println!(
        "wrk (the HTTP load generator) is missing: installing it with `apt-get install -y wrk`"
    );
    let mut cmd = if is_root() {
        std::process::Command::new("apt-get")
    } else {
        let mut c = std::process::Command::new("sudo");
        c.arg("apt-get");
        c
    };
    let status = cmd
        .args(["install", "-y", "wrk"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("cannot run apt-get to install wrk")?;
    if !status.success() || !which("wrk") {
        bail!("installing wrk failed; install it by hand with `apt-get install -y wrk`");
    }
    Ok(())
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// A wrk Lua script that POSTs `json` with a JSON content type.
pub fn post_script(json: &str) -> String {
    format!(
        "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = [==[{json}]==]\n"
    )
}

/// Runs wrk against `url` (`script` for POSTs) and parses its report.
pub async fn run(load: Load, url: &str, script: Option<&Path>) -> Result<WrkResult> {
    let mut cmd = Command::new("wrk");
    cmd.arg(format!("-t{}", load.threads))
        .arg(format!("-c{}", load.connections))
        .arg(format!("-d{}s", load.duration.as_secs().max(1)))
        .arg("--timeout")
        .arg("10s")
        .arg("--latency");
    if let Some(s) = script {
        cmd.arg("-s").arg(s);
    }
    let out = cmd.arg(url).output().await.context("cannot run wrk")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "wrk failed: {}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    parse(&text).with_context(|| format!("cannot read wrk's report:\n{text}"))
}

/// `403.00us`, `0.87ms`, `1.20s`, `2.00m`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse().ok()?;
    let secs = match unit {
        "us" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

/// Parses wrk's `--latency` report.
pub fn parse(text: &str) -> Option<WrkResult> {
    let mut p50 = None;
    let mut p99 = None;
    let mut requests = None;
    let mut seconds = None;
    let mut rps = None;
    let mut errors = 0;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", d] => p50 = parse_duration(d),
            ["99%", d] => p99 = parse_duration(d),
            [n, "requests", "in", s, ..] => {
                requests = n.parse().ok();
                seconds = parse_duration(s.trim_end_matches(',')).map(|d| d.as_secs_f64());
            }
            ["Requests/sec:", r] => rps = r.parse().ok(),
            ["Non-2xx", "or", "3xx", "responses:", n] => errors += n.parse::<u64>().ok()?,
            ["Socket", "errors:", rest @ ..] => {
                errors += rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>();
            }
            _ => {}
        }
    }
    Some(WrkResult {
        requests: requests?,
        seconds: seconds?,
        requests_per_sec: rps?,
        p50: p50?,
        p99: p99?,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Running 10s test @ http://127.0.0.1:8088/graphql
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   635.91us    0.89ms  12.92ms   93.69%
    Req/Sec    17.51k     1.46k   20.36k    80.00%
  Latency Distribution
     50%  403.00us
     75%  546.00us
     90%    0.87ms
     99%    4.79ms
  174237 requests in 10.01s, 22.93MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 12
Requests/sec:  17402.06
Transfer/sec:      2.29MB
";

    #[test]
    fn parses_a_latency_report() {
        let r = parse(REPORT).expect("a full report");
        assert_eq!(r.requests, 174237);
        assert!((r.seconds - 10.01).abs() < 1e-9);
        assert!((r.requests_per_sec - 17402.06).abs() < 1e-9);
        assert_eq!(r.p50, Duration::from_micros(403));
        assert_eq!(r.p99, Duration::from_micros(4790));
        assert_eq!(r.errors, 15);
        assert_eq!(parse("Running 10s test"), None);
    }

    #[test]
    fn parses_wrk_durations() {
        assert_eq!(parse_duration("1.50s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2.00m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("12"), None);
        assert_eq!(parse_duration("3.0parsecs"), None);
    }

    #[test]
    fn script_posts_the_body_verbatim() {
        let s = post_script(r#"{"query":"{ a }"}"#);
        assert!(s.contains(r#"wrk.body = [==[{"query":"{ a }"}]==]"#));
        assert!(s.contains("wrk.method = \"POST\""));
    }
}
