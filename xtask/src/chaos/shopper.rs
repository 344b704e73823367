//! The one way the chaos run talks to the BFF: a shopper with a cookie store who signs up
//! first (`POST /auth/signup`) where sign-in is wired, and carries on anonymously where it
//! is not (404, or 405 from the shop's file server, which takes only GET there). The customer id of every order is the shopper's email.

use std::time::Duration;

use serde_json::{json, Value};

/// At least 12 characters, as the sign-up asks.
const PASSWORD: &str = "chaos-run-password-12st";

#[derive(Debug, thiserror::Error)]
pub enum ShopperError {
    #[error("no answer from the BFF: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("sign-up answered {status}: {body}")]
    SignUp { status: u16, body: String },
}

/// What the BFF answered to one GraphQL request.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// The body, when it is JSON.
    pub body: Option<Value>,
}

impl Answer {
    /// `data.<field>` when it is an object.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.body
            .as_ref()
            .and_then(|b| b.get("data"))
            .and_then(|d| d.get(name))
            .filter(|v| !v.is_null())
    }

    /// Why there is no data, in a word: the first error's code, or the HTTP status.
    pub fn code(&self) -> String {
        self.body
            .as_ref()
            .and_then(|b| b["errors"][0]["extensions"]["code"].as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| format!("HTTP {}", self.status))
    }

    /// The first error's message and code, for logs.
    pub fn why(&self) -> String {
        match &self.body {
            None => format!("HTTP {} without a JSON body", self.status),
            Some(b) => match b.get("errors").and_then(|e| e.get(0)) {
                Some(e) => format!(
                    "HTTP {} {}: {}",
                    self.status,
                    e["extensions"]["code"].as_str().unwrap_or("(no code)"),
                    e["message"].as_str().unwrap_or("")
                ),
                None => format!("HTTP {} without data", self.status),
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct Shopper {
    http: reqwest::Client,
    bff: String,
    /// The shopper's email, also the customer id of its orders.
    pub email: String,
    /// Whether the sign-up gave a session (false while sign-in is not wired).
    pub signed_in: bool,
}

impl Shopper {
    /// Signs `email` up at the BFF `bff` (`http://HOST:PORT`).
    pub async fn sign_up(bff: &str, email: &str) -> Result<Shopper, ShopperError> {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .timeout(Duration::from_secs(15))
            .build()?;
        let answer = http
            .post(format!("{bff}/auth/signup"))
            .json(&json!({
                "email": email,
                "name": "Chaos Shopper",
                "address": "1 Loopback Road",
                "password": PASSWORD,
            }))
            .send()
            .await?;
        let status = answer.status().as_u16();
        let signed_in = match status {
            201 => true,
            404 | 405 => false,
            _ => {
                return Err(ShopperError::SignUp {
                    status,
                    body: answer.text().await.unwrap_or_default(),
                })
            }
        };
        Ok(Shopper {
            http,
            bff: bff.to_owned(),
            email: email.to_owned(),
            signed_in,
        })
    }

    /// Signs up, retrying while the BFF does not answer yet (it may be restarting).
    pub async fn sign_up_patiently(bff: &str, email: &str) -> Result<Shopper, ShopperError> {
        let mut last = None;
        for _ in 0..100 {
            match Shopper::sign_up(bff, email).await {
                Ok(s) => return Ok(s),
                Err(ShopperError::Transport(e)) => last = Some(e),
                Err(other) => return Err(other),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(ShopperError::Transport(last.expect("at least one attempt")))
    }

    /// Posts one GraphQL request.
    pub async fn graphql(&self, query: &str, variables: Value) -> Result<Answer, ShopperError> {
        let response = self
            .http
            .post(format!("{}/graphql", self.bff))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        Ok(Answer {
            status,
            body: serde_json::from_slice(&bytes).ok(),
        })
    }
}
