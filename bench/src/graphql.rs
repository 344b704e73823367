//! GraphQL over HTTP, as a browser would send it to the BFF.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use serde_json::{json, Value};

/// The course's Composite lab query.
pub const COMPOSITE: &str = "query Composite { orders { quantity customerId state product { price name } delivery { deliveryAddress } } }";

/// The product listing of scenarios 2 and 3.
pub const PRODUCTS: &str =
    "query Products { products(page: 0, size: 20) { items { id name price stock } totalElements } }";

/// A GraphQL response and how long it took.
#[derive(Debug, Clone)]
pub struct Answer {
    pub body: Value,
    /// When the request was sent.
    pub sent: Instant,
    pub took: Duration,
}

impl Answer {
    /// `extensions.code` of every error.
    pub fn error_codes(&self) -> Vec<String> {
        self.body
            .get("errors")
            .and_then(Value::as_array)
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        e.pointer("/extensions/code")
                            .and_then(Value::as_str)
                            .unwrap_or("NO_CODE")
                            .to_owned()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Fails unless there are data and no errors.
    pub fn expect_clean(&self) -> Result<&Value> {
        if let Some(errors) = self.body.get("errors") {
            bail!("the BFF answered errors: {errors}");
        }
        self.body
            .get("data")
            .filter(|d| !d.is_null())
            .context("the BFF answered no data")
    }
}

/// The JSON body of a request for `query`.
pub fn body(query: &str) -> Value {
    json!({ "query": query })
}

/// POSTs `query` as an anonymous visitor (who may read the catalogue only).
pub async fn post(client: &reqwest::Client, url: &str, query: &str) -> Result<Answer> {
    send(client, url, &body(query), None).await
}

/// POSTs `query` as the caller of the bearer token `token` (see [`crate::tokens`]).
pub async fn post_as(
    client: &reqwest::Client,
    url: &str,
    query: &str,
    token: &str,
) -> Result<Answer> {
    send(client, url, &body(query), Some(token)).await
}

/// POSTs a GraphQL request body, with a bearer token when one is given.
pub async fn send(
    client: &reqwest::Client,
    url: &str,
    request: &Value,
    token: Option<&str>,
) -> Result<Answer> {
    let started = Instant::now();
    let mut builder = client.post(url).json(request);
    if let Some(token) = token {
        builder = builder.bearer_auth(token);
    }
    let response = builder
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = response.status();
    let text = response.text().await?;
    let took = started.elapsed();
    let body: Value = serde_json::from_str(&text).with_context(|| {
        format!("{url} answered {status} with no GraphQL response: {text:.200}")
    })?;
    Ok(Answer {
        body,
        sent: started,
        took,
    })
}

/// Whether the BFF answers GraphQL at `url` yet (and if not, why).
pub async fn available(client: &reqwest::Client, url: &str) -> Result<(), String> {
    match post(client, url, "{ __typename }").await {
        Ok(a) if a.body.pointer("/data/__typename").is_some() => Ok(()),
        Ok(a) => Err(format!("the BFF at {url} answered {}", a.body)),
        Err(e) => Err(format!(
            "the BFF does not serve GraphQL at {url} yet ({e:#})"
        )),
    }
}
