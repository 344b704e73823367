//! The real binary survives a crash: orders placed before `kill -9` are there after a
//! restart, and their events are consumed exactly once.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use mall_auth::http::AuthState;
use mall_auth::policy::Role;
use mall_auth::store::StoreLocation;
use mall_auth::token::TokenIssuer;
use serde_json::{json, Value};

struct Running {
    child: Child,
    order: String,
    delivery: String,
    product: String,
    /// Signs tokens as the running BFF does (its key, from the shared identity store).
    tokens: TokenIssuer,
}

impl Running {
    /// A token of the staff member for the service `audience`.
    fn staff(&self, audience: &str) -> String {
        self.tokens
            .sign(
                "staff@test.example",
                vec![Role::Staff],
                audience,
                Duration::from_secs(600),
            )
            .expect("token")
    }

    fn customer(&self, id: &str, audience: &str) -> String {
        self.tokens
            .sign(id, vec![Role::Customer], audience, Duration::from_secs(600))
            .expect("token")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A failed assertion must not leave the process behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `mall` on free ports and reads its URLs from what it prints.
fn spawn(data: &std::path::Path) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mall"))
        .args(["--any-port", "--data-dir"])
        .arg(data)
        .arg("--dist")
        .arg(data.join("no-dist"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("mall starts");
    let greeting = common::read_greeting(&mut child);
    let url = |name: &str| greeting.services.get(name).expect("named").clone();
    let bff = greeting.bff.clone().expect("the BFF's URL was printed");
    let tokens = AuthState::open(
        &StoreLocation::Embedded(data.to_owned()),
        &Default::default(),
        &bff,
    )
    .expect("the identity store")
    .issuer;
    Running {
        order: url("order"),
        delivery: url("delivery"),
        product: url("product"),
        child,
        tokens,
    }
}

async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn json(http: &reqwest::Client, url: String, token: String) -> Value {
    http.get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn kill_dash_nine_loses_no_acknowledged_order() {
    let dir = tempfile::tempdir().expect("dir");
    let http = reqwest::Client::new();
    let mut mall = spawn(dir.path());
    let mut ids = vec![];
    for _ in 0..5 {
        let r = http
            .post(format!("{}/orders", mall.order))
            .bearer_auth(mall.customer("1@uengine.org", "order"))
            .json(
                &json!({"productId": 2, "quantity": 1, "customerId": "1@uengine.org",
                          "customerName": "Jay", "customerAddr": "Seoul"}),
            )
            .send()
            .await
            .expect("place");
        assert_eq!(r.status(), 201);
        let order: Value = r.json().await.expect("order");
        ids.push(order["id"].as_i64().expect("id"));
    }
    // Crash right away: some events may still be in the outbox or unconsumed.
    mall.child.kill().expect("kill -9");
    mall.child.wait().expect("reaped");

    let mall = spawn(dir.path());
    for id in &ids {
        let order = json(
            &http,
            format!("{}/orders/{id}", mall.order),
            mall.staff("order"),
        )
        .await;
        assert_eq!(order["status"], "Ordered", "order {id} survived the crash");
    }
    eventually("every order has exactly one delivery", || async {
        let d = json(
            &http,
            format!("{}/deliveries", mall.delivery),
            mall.staff("delivery"),
        )
        .await;
        (d["page"]["totalElements"] == 5).then_some(())
    })
    .await;
    eventually("stock dropped once per order", || async {
        let p = json(
            &http,
            format!("{}/products/2", mall.product),
            mall.staff("product"),
        )
        .await;
        (p["stock"] == 5).then_some(())
    })
    .await;
    drop(mall);
}
