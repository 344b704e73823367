//! The order service's view of the product service: name and price of a product, read over
//! HTTP when an order is placed.

use std::time::Duration;

use serde::Deserialize;

use super::ProductFacts;
use crate::problem::AppError;

#[derive(Clone)]
pub struct Catalog {
    client: reqwest::Client,
    base: String,
}

#[derive(Deserialize)]
struct ProductDoc {
    name: String,
    price: i64,
}

impl Catalog {
    pub fn new(base: String) -> Catalog {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .build()
            .expect("a client without TLS or proxies always builds");
        Catalog { client, base }
    }

    /// The product's facts, a 422 if it does not exist, a 503 if the catalogue is down.
    pub async fn product(&self, id: i64) -> Result<ProductFacts, AppError> {
        let url = format!("{}/products/{id}", self.base);
        let unavailable = |e: String| {
            tracing::warn!(%url, error = %e, "product lookup failed");
            AppError::Unavailable(
                "the product service did not answer; the order was not placed, try again".into(),
            )
        };
        let response = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(AppError::Unprocessable(format!(
                "product {id} does not exist; choose a product from the catalogue"
            )));
        }
        if !response.status().is_success() {
            return Err(unavailable(format!("status {}", response.status())));
        }
        let doc: ProductDoc = response
            .json()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        Ok(ProductFacts {
            name: doc.name,
            price: doc.price,
        })
    }
}
