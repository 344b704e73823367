//! The typed GraphQL HTTP client. Queries are `graphql_client` derives against
//! schema/schema.graphql, so a query that does not match the contract fails to compile.

use graphql_client::{GraphQLQuery, Response};
use serde::Deserialize;

/// Why a request gave no usable answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GraphQlError {
    #[error("the mall could not be reached ({0})")]
    Network(String),
    #[error("the mall answered HTTP {0}")]
    Http(u16),
    #[error("{}", .0.first().map(|e| e.message.as_str()).unwrap_or("the request failed"))]
    Errors(Vec<FieldError>),
}

impl GraphQlError {
    /// The first error's `extensions.code`, if the BFF gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            GraphQlError::Errors(errors) => errors.iter().find_map(|e| e.code.as_deref()),
            _ => None,
        }
    }
}

/// One GraphQL error, with its stable `extensions.code` (UPSTREAM_TIMEOUT, CIRCUIT_OPEN, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub message: String,
    pub code: Option<String>,
    /// Whether the BFF answered last-known-good data marked stale.
    pub stale: bool,
}

/// Data (possibly partial) with the errors that came with it.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer<T> {
    pub data: Option<T>,
    pub errors: Vec<FieldError>,
}

impl<T> Answer<T> {
    /// The data, or the errors when there is none.
    pub fn into_result(self) -> Result<(T, Vec<FieldError>), GraphQlError> {
        match self.data {
            Some(data) => Ok((data, self.errors)),
            None => Err(GraphQlError::Errors(self.errors)),
        }
    }
}

pub(crate) fn field_errors(errors: Option<Vec<graphql_client::Error>>) -> Vec<FieldError> {
    errors
        .unwrap_or_default()
        .into_iter()
        .map(|e| {
            let ext = e.extensions.unwrap_or_default();
            FieldError {
                message: e.message,
                code: ext.get("code").and_then(|c| c.as_str()).map(str::to_owned),
                stale: ext.get("stale").and_then(|s| s.as_bool()).unwrap_or(false),
            }
        })
        .collect()
}

/// Sends `Q` with `variables` to `url` and decodes the typed answer.
pub async fn send<Q: GraphQLQuery>(
    url: &str,
    variables: Q::Variables,
) -> Result<Answer<Q::ResponseData>, GraphQlError>
where
    Q::ResponseData: for<'de> Deserialize<'de>,
{
    let body = Q::build_query(variables);
    let request = gloo_net::http::Request::post(url)
        .json(&body)
        .map_err(|e| GraphQlError::Network(e.to_string()))?;
    let response = request
        .send()
        .await
        .map_err(|e| GraphQlError::Network(e.to_string()))?;
    // GraphQL over HTTP may answer errors with a 4xx/5xx and a JSON body; prefer the body.
    let status = response.status();
    let decoded: Result<Response<Q::ResponseData>, _> = response.json().await;
    match decoded {
        Ok(r) => Ok(Answer {
            data: r.data,
            errors: field_errors(r.errors),
        }),
        Err(_) if !(200..300).contains(&status) => Err(GraphQlError::Http(status)),
        Err(e) => Err(GraphQlError::Network(e.to_string())),
    }
}

/// Like [`send`], but an answer without data is an error.
pub async fn fetch<Q: GraphQLQuery>(
    url: &str,
    variables: Q::Variables,
) -> Result<Q::ResponseData, GraphQlError>
where
    Q::ResponseData: for<'de> Deserialize<'de>,
{
    send::<Q>(url, variables)
        .await?
        .into_result()
        .map(|(data, _)| data)
}
