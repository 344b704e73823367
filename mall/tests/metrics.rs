//! One metrics recorder per process: the default start (`mall`, every role in one process)
//! logs no warning about a second recorder, and the BFF's `/metrics` shows the BFF's own
//! series beside the services'.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Running {
    child: Child,
    bff: String,
    /// Every line the process printed (its log included: tracing writes to stdout).
    output: Arc<Mutex<Vec<String>>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `mall` the default way (on free ports) and reads the BFF's URL from what it prints.
fn spawn(data: &std::path::Path) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mall"))
        .args(["--any-port", "--data-dir"])
        .arg(data)
        .arg("--dist")
        .arg(data.join("no-dist"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .spawn()
        .expect("mall starts");
    let stdout = child.stdout.take().expect("stdout");
    let output = Arc::new(Mutex::new(Vec::new()));
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    let lines = output.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if let Some(rest) = line.trim().strip_prefix("12st mall is running: open ") {
                let _ = url_tx.send(rest.trim_end_matches('/').to_owned());
            }
            lines.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        }
    });
    let bff = url_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("mall printed the BFF's URL");
    Running { child, bff, output }
}

#[tokio::test]
async fn the_default_start_has_one_recorder_that_shows_every_series() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mall = spawn(dir.path());
    let http = reqwest::Client::new();
    let r: serde_json::Value = http
        .post(format!("{}/graphql", mall.bff))
        .json(&serde_json::json!({"query": "{ products(page: 0, size: 3) { items { name } } }"}))
        .send()
        .await
        .expect("graphql")
        .json()
        .await
        .expect("json");
    assert!(r["errors"].is_null(), "{r}");
    let metrics = http
        .get(format!("{}/metrics", mall.bff))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for series in [
        "bff_upstream_requests_total{",
        "bff_upstream_circuit_state{",
        "http_requests_total{",
    ] {
        assert!(
            metrics.lines().any(|l| l.starts_with(series)),
            "the BFF's /metrics has no {series}…}} series:\n{metrics}"
        );
    }
    let output = mall.output.lock().expect("output").clone();
    let warnings: Vec<&String> = output.iter().filter(|l| l.contains("recorder")).collect();
    assert!(
        warnings.is_empty(),
        "the default start warns about its metrics recorder: {warnings:#?}"
    );
}
