//! The `Idempotency-Key` of an order request: the one place that says what a key is (1 to
//! 200 visible ASCII characters, so never a space), how it is read off a request, and which
//! record it claims for its customer.

use axum::http::HeaderMap;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::Required;

use crate::domain_error::DomainError;
use crate::problem::AppError;

/// The longest key taken, in characters (all ASCII, so bytes).
pub const MAX_LEN: usize = 200;

/// A checked key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Checks `key`: 1 to [`MAX_LEN`] visible ASCII characters.
    pub fn parse(key: &str) -> Result<IdempotencyKey, DomainError> {
        if key.is_empty() || key.len() > MAX_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(DomainError::Invalid(format!(
                "`Idempotency-Key` must be 1 to {MAX_LEN} visible ASCII characters"
            )));
        }
        Ok(IdempotencyKey(key.to_owned()))
    }

    /// The request's `Idempotency-Key` header, checked: `None` when the request has none.
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, AppError> {
        let Some(value) = headers.get("idempotency-key") else {
            return Ok(None);
        };
        let key = value
            .to_str()
            .map_err(|_| AppError::BadRequest("`Idempotency-Key` must be visible ASCII".into()))?;
        Ok(Some(IdempotencyKey::parse(key)?))
    }

    /// The header as the order service's OpenAPI document describes it.
    pub fn parameter() -> Parameter {
        ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(format!(
                "Repeating a request with the same key answers the first result (200) instead \
                 of acting twice: 1 to {MAX_LEN} visible ASCII characters"
            )))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(MAX_LEN))
                    .pattern(Some("^[!-~]+$")),
            ))
            .build()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name of the record this key claims for `customer`: a key holds no space, so the
    /// first space after `order ` ends it and no two (key, customer) pairs share a name.
    pub(crate) fn record_name(&self, customer: &str) -> String {
        format!("order {} {customer}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_one_to_two_hundred_visible_ascii_characters() {
        assert!(IdempotencyKey::parse("k-1").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(MAX_LEN)).is_ok());
        for bad in ["", "a b", "ключ", "tab\there", &"k".repeat(MAX_LEN + 1)] {
            let err = IdempotencyKey::parse(bad).expect_err(bad);
            assert!(err.to_string().contains("1 to 200 visible ASCII"), "{err}");
        }
    }

    #[test]
    fn keys_of_two_customers_claim_two_records() {
        let key = IdempotencyKey::parse("k").expect("a key");
        assert_ne!(key.record_name("a"), key.record_name("b"));
        assert_eq!(key.record_name("a@x"), "order k a@x");
    }
}
