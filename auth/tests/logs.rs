//! Passwords never reach the logs: every sign-up, sign-in and failure below runs with every
//! log level on, and the captured output is searched for the passwords used.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{client, sign_up, start_embedded};
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const PASSWORD: &str = "Secret-Horse-Battery-1";
const WRONG: &str = "Wrong-Horse-Battery-2";
const BAD_NEW: &str = "tiny";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_are_never_logged() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let dir = tempfile::tempdir().expect("dir");
    let server = start_embedded(dir.path()).await;
    sign_up(&server, "1@uengine.org", PASSWORD).await;
    for (email, password) in [
        ("1@uengine.org", PASSWORD),
        ("1@uengine.org", WRONG),
        ("nobody@uengine.org", WRONG),
    ] {
        client()
            .post(format!("{}/auth/login", server.url))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("login");
    }
    let r = client()
        .post(format!("{}/auth/signup", server.url))
        .json(&json!({"email": "2@uengine.org", "name": "Jay", "address": "Seoul", "password": BAD_NEW}))
        .send()
        .await
        .expect("signup");
    assert_eq!(r.status(), 400);
    assert!(!r.text().await.expect("text").contains(BAD_NEW));
    let made = server
        .state
        .identity
        .bootstrap_staff("staff@uengine.org")
        .await
        .expect("bootstrap")
        .expect("made");
    tracing::info!(?made, "bootstrap result, as a careless caller might log it");

    let logs = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
    assert!(
        logs.contains("account created"),
        "the logs were captured: {logs}"
    );
    assert!(logs.contains("<redacted>"), "{logs}");
    for secret in [PASSWORD, WRONG, made.password.expose()] {
        assert!(!logs.contains(secret), "{secret} in the logs:\n{logs}");
    }
}
