//! The order service's view of the product service: name and price of a product, read over
//! HTTP when an order is placed. The product service decides how long its answer is, so
//! the answer is read chunk by chunk and refused past [`MAX_PRODUCT_BYTES`]: a broken or
//! hostile catalogue cannot make the order service hold more than that per lookup.

use std::time::Duration;

use serde::Deserialize;

use super::ProductFacts;
use crate::problem::AppError;

/// The largest product document read (a product is a few hundred bytes).
pub const MAX_PRODUCT_BYTES: usize = 64 * 1024;

#[derive(Clone)]
pub struct Catalog {
    client: reqwest::Client,
    base: String,
    max_bytes: usize,
}

#[derive(Deserialize)]
struct ProductDoc {
    name: String,
    price: i64,
}

/// Why a product lookup failed.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("product {0} does not exist")]
    Missing(i64),
    #[error("the product service cannot be reached: {0}")]
    Unreachable(String),
    #[error("the product service answered {0}")]
    Failed(reqwest::StatusCode),
    #[error("the product service's answer is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the product service's answer cannot be read: {0}")]
    Unreadable(String),
}

impl From<LookupError> for AppError {
    /// A missing product is the client's to fix (422); anything else is the catalogue's
    /// failure (503), logged here with its detail.
    fn from(e: LookupError) -> AppError {
        match e {
            LookupError::Missing(id) => AppError::Unprocessable(format!(
                "product {id} does not exist; choose a product from the catalogue"
            )),
            other => {
                tracing::warn!(error = %other, "product lookup failed");
                AppError::Unavailable(
                    "the product service did not answer; the order was not placed, try again"
                        .into(),
                )
            }
        }
    }
}

impl Catalog {
    pub fn new(base: String) -> Catalog {
        Catalog::with_max_bytes(base, MAX_PRODUCT_BYTES)
    }

    /// A catalogue whose answers are refused past `max_bytes`.
    pub fn with_max_bytes(base: String, max_bytes: usize) -> Catalog {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .build()
            .expect("a client without TLS or proxies always builds");
        Catalog {
            client,
            base,
            max_bytes,
        }
    }

    /// The product's facts, a 422 if it does not exist, a 503 if the catalogue is down.
    pub async fn product(&self, id: i64) -> Result<ProductFacts, AppError> {
        Ok(self.lookup(id).await?)
    }

    /// The product's facts, or why they could not be had.
    pub async fn lookup(&self, id: i64) -> Result<ProductFacts, LookupError> {
        let url = format!("{}/products/{id}", self.base);
        let response = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| LookupError::Unreachable(e.to_string()))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(LookupError::Missing(id));
        }
        if !response.status().is_success() {
            return Err(LookupError::Failed(response.status()));
        }
        let body = read_capped(response, self.max_bytes).await?;
        let doc: ProductDoc =
            serde_json::from_slice(&body).map_err(|e| LookupError::Unreadable(e.to_string()))?;
        Ok(ProductFacts {
            name: doc.name,
            price: doc.price,
        })
    }
}

/// Reads a body chunk by chunk, refusing it as soon as it passes `limit` (a
/// `Content-Length` past it is refused before reading). Dropping the response closes the
/// connection, so the rest is never read.
async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, LookupError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(LookupError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| LookupError::Unreadable(e.to_string()))?
    {
        if chunk.len() > limit - body.len() {
            return Err(LookupError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use futures::stream;

    use super::*;

    /// A product service on `127.0.0.1:0` answering `body` to every product, and the bytes
    /// it managed to send.
    async fn catalogue(body: fn(Arc<AtomicUsize>) -> Body) -> (String, Arc<AtomicUsize>) {
        let sent = Arc::new(AtomicUsize::new(0));
        let counter = sent.clone();
        let app = Router::new().route(
            "/products/{id}",
            get(move || {
                let counter = counter.clone();
                async move { body(counter) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (base, sent)
    }

    /// An endless chunked answer of 64 KiB chunks, counted as they are sent.
    fn endless(sent: Arc<AtomicUsize>) -> Body {
        let chunk = axum::body::Bytes::from(vec![b' '; 64 * 1024]);
        Body::from_stream(stream::repeat_with(move || {
            sent.fetch_add(chunk.len(), Ordering::Relaxed);
            Ok::<_, std::convert::Infallible>(chunk.clone())
        }))
    }

    #[tokio::test]
    async fn an_endless_answer_is_refused_past_the_cap() {
        let (base, sent) = catalogue(endless).await;
        let catalog = Catalog::with_max_bytes(base, MAX_PRODUCT_BYTES);
        let err = catalog.lookup(1).await.expect_err("too large");
        assert!(
            matches!(err, LookupError::TooLarge { limit } if limit == MAX_PRODUCT_BYTES),
            "{err}"
        );
        let app: AppError = err.into();
        assert_eq!(app.status(), axum::http::StatusCode::SERVICE_UNAVAILABLE);
        // The server may have pushed a little into the socket buffers, never a stream's worth.
        assert!(
            sent.load(Ordering::Relaxed) < 32 * 1024 * 1024,
            "sent {}",
            sent.load(Ordering::Relaxed)
        );
    }

    #[tokio::test]
    async fn a_declared_length_past_the_cap_is_refused_before_reading() {
        let (base, _) = catalogue(|_| Body::from(vec![b' '; 2 * MAX_PRODUCT_BYTES])).await;
        let err = Catalog::new(base).lookup(1).await.expect_err("too large");
        assert!(matches!(err, LookupError::TooLarge { .. }), "{err}");
    }

    #[tokio::test]
    async fn a_product_within_the_cap_is_read() {
        let (base, _) = catalogue(|_| Body::from(r#"{"name":"TV","price":1000,"stock":3}"#)).await;
        let facts = Catalog::new(base).lookup(1).await.expect("read");
        assert_eq!(facts.name, "TV");
        assert_eq!(facts.price, 1000);
    }
}
