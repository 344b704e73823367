//! Shared helpers of the services' integration tests: a running system on free ports and
//! an HTTP client.

#![allow(dead_code)]

pub mod events;
pub mod stores;

use mall_services::Role;
use std::future::Future;
use std::time::Duration;

use mall_services::{System, SystemConfig};
use serde_json::{json, Value};

pub struct Mall {
    pub system: System,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
}

pub async fn start() -> Mall {
    let dir = tempfile::tempdir().expect("temp dir");
    start_in(dir, |_| {}).await
}

pub async fn start_in(dir: tempfile::TempDir, tweak: impl FnOnce(&mut SystemConfig)) -> Mall {
    let mut config = SystemConfig::ephemeral(dir.path());
    tweak(&mut config);
    let system = System::start(config).await.expect("system starts");
    Mall {
        system,
        http: reqwest::Client::new(),
        dir,
    }
}

impl Mall {
    pub async fn get(&self, url: &str) -> (u16, Value) {
        let r = self.http.get(url).send().await.expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn place(&self, product: i64, quantity: i64, customer: &str) -> Value {
        let r = self
            .http
            .post(format!("{}/orders", self.system.urls[Role::Order]))
            .json(
                &json!({"productId": product, "quantity": quantity, "customerId": customer,
                          "customerName": "Jay", "customerAddr": "Seoul"}),
            )
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 201, "order placed");
        r.json().await.expect("order body")
    }

    pub async fn stock(&self, product: i64) -> i64 {
        let (_, p) = self
            .get(&format!(
                "{}/products/{product}",
                self.system.urls[Role::Product]
            ))
            .await;
        p["stock"].as_i64().expect("stock")
    }

    pub async fn deliveries_of(&self, order: i64) -> Vec<Value> {
        let (_, d) = self
            .get(&format!(
                "{}/deliveries/search/findByOrderId?orderId={order}",
                self.system.urls[Role::Delivery]
            ))
            .await;
        d["_embedded"]["deliveries"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub async fn my_page(&self, order: i64) -> Value {
        self.get(&format!(
            "{}/myPages/{order}",
            self.system.urls[Role::Mypage]
        ))
        .await
        .1
    }

    /// Every document of every service, for "nothing changed" checks.
    pub async fn snapshot(&self) -> Value {
        let u = &self.system.urls;
        let mut out = vec![];
        for url in [
            format!("{}/orders?size=1000", u[Role::Order]),
            format!("{}/deliveries?size=1000", u[Role::Delivery]),
            format!("{}/products?size=1000", u[Role::Product]),
            format!("{}/myPages?size=1000", u[Role::Mypage]),
        ] {
            out.push(self.get(&url).await.1["_embedded"].clone());
        }
        json!({ "docs": out, "head": self.system.bus.head().await.expect("head") })
    }
}

/// Polls `check` until it returns `Some`, failing after 20 s (a generous bound: the events
/// flow in milliseconds; the bound only stops a broken build from hanging).
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
