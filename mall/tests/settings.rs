//! The `mall` binary's one precedence for the BFF's settings: flag > environment > file >
//! default. A `--bff-config` file's `[urls]` and `static_dir` reach the BFF even where this
//! process runs the services (they used to be overwritten); `MALL_BFF__…` beats the file;
//! `--dist` and `--order-url` beat the environment.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `mall`, killed when dropped.
struct Running {
    child: Child,
    bff: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `mall` on free ports with `args` and `env`, and reads the BFF's URL from what it
/// prints.
fn spawn(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Running {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mall"));
    command
        .args(["--any-port", "--data-dir"])
        .arg(data)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("MALL_DIST")
        .stdout(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("mall starts");
    let bff = common::read_greeting(&mut child).bff;
    Running {
        child,
        bff: bff.expect("the BFF's URL"),
    }
}

/// A shop directory whose page says `marker`.
fn shop(root: &Path, marker: &str) -> PathBuf {
    let dir = root.join(marker);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("index.html"),
        format!("<!doctype html><title>{marker}</title>"),
    )
    .expect("index.html");
    dir
}

/// A stand-in order service: reports the first request line it gets (the BFF reads the
/// root document of each upstream at start) and answers 503.
fn fake_upstream() -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 1024];
            let n = stream.read(&mut buf).unwrap_or(0);
            let text = String::from_utf8_lossy(&buf[..n]);
            let first = text.lines().next().unwrap_or_default().to_owned();
            let _ = stream.write_all(
                b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
            if tx.send(first).is_err() {
                return;
            }
        }
    });
    (url, rx)
}

async fn page(bff: &str) -> String {
    reqwest::get(format!("{bff}/"))
        .await
        .expect("GET /")
        .text()
        .await
        .expect("body")
}

fn called(upstream: &mpsc::Receiver<String>) -> bool {
    matches!(upstream.recv_timeout(Duration::from_secs(20)), Ok(line) if line.starts_with("GET /"))
}

fn config_file(root: &Path, static_dir: &Path, order_url: &str) -> PathBuf {
    let path = root.join("bff.toml");
    std::fs::write(
        &path,
        format!(
            "static_dir = {:?}\n[urls]\norder = {order_url:?}\n",
            static_dir.display().to_string()
        ),
    )
    .expect("bff.toml");
    path
}

#[tokio::test]
async fn the_files_urls_and_static_dir_reach_the_bff_of_the_default_start() {
    let dir = tempfile::tempdir().expect("dir");
    let (order, order_calls) = fake_upstream();
    let file = config_file(dir.path(), &shop(dir.path(), "from-the-file"), &order);
    let mall = spawn(
        &dir.path().join("data"),
        &["--bff-config", &file.to_string_lossy()],
        &[],
    );
    assert!(page(&mall.bff).await.contains("from-the-file"));
    assert!(
        called(&order_calls),
        "the BFF calls the order service the file names, not the one in its process"
    );
}

#[tokio::test]
async fn the_environment_beats_the_file() {
    let dir = tempfile::tempdir().expect("dir");
    let (file_order, file_calls) = fake_upstream();
    let (env_order, env_calls) = fake_upstream();
    let file = config_file(dir.path(), &shop(dir.path(), "from-the-file"), &file_order);
    let env_dist = shop(dir.path(), "from-the-environment");
    let mall = spawn(
        &dir.path().join("data"),
        &["--target", "bff", "--bff-config", &file.to_string_lossy()],
        &[
            ("MALL_BFF__STATIC_DIR", &env_dist.to_string_lossy()),
            ("MALL_BFF__URLS__ORDER", &env_order),
        ],
    );
    assert!(page(&mall.bff).await.contains("from-the-environment"));
    assert!(called(&env_calls), "the environment's order URL is used");
    assert!(
        file_calls.try_recv().is_err(),
        "the file's order URL is not called"
    );
}

#[tokio::test]
async fn a_flag_beats_the_environment() {
    let dir = tempfile::tempdir().expect("dir");
    let (env_order, env_calls) = fake_upstream();
    let (flag_order, flag_calls) = fake_upstream();
    let env_dist = shop(dir.path(), "from-the-environment");
    let flag_dist = shop(dir.path(), "from-the-flag");
    let mall = spawn(
        &dir.path().join("data"),
        &[
            "--target",
            "bff",
            "--dist",
            &flag_dist.to_string_lossy(),
            "--order-url",
            &flag_order,
        ],
        &[
            ("MALL_BFF__STATIC_DIR", &env_dist.to_string_lossy()),
            ("MALL_BFF__URLS__ORDER", &env_order),
        ],
    );
    assert!(page(&mall.bff).await.contains("from-the-flag"));
    assert!(called(&flag_calls), "the flag's order URL is used");
    assert!(
        env_calls.try_recv().is_err(),
        "the environment's order URL is not called"
    );
}

#[tokio::test]
async fn a_bad_environment_setting_stops_the_start_and_names_the_variable() {
    let dir = tempfile::tempdir().expect("dir");
    let out = Command::new(env!("CARGO_BIN_EXE_mall"))
        .args(["--any-port", "--target", "bff", "--data-dir"])
        .arg(dir.path())
        .env("MALL_BFF__LIMITS__MAX_DEPTH", "deep")
        .output()
        .expect("mall runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("MALL_BFF__LIMITS__MAX_DEPTH"), "{stderr}");
}
