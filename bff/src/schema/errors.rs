//! The one conversion of [`BffError`] into GraphQL errors: its `code` and `upstream` as
//! extensions.

use async_graphql::ErrorExtensions;

use crate::error::BffError;

impl ErrorExtensions for BffError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.to_string()).extend_with(|_, e| {
            e.set("code", self.extension_code());
            if let Some(u) = self.upstream() {
                e.set("upstream", u.as_str());
            }
        })
    }
}

/// Gives every error of a response that came from a [`BffError`] (through `?`, which keeps the
/// source) its `code` and `upstream` extensions: the one conversion point.
pub fn extend_errors(response: &mut async_graphql::Response) {
    for error in &mut response.errors {
        let Some(bff) = error.source::<BffError>() else {
            continue;
        };
        let code = bff.extension_code();
        let upstream = bff.upstream();
        let ext = error.extensions.get_or_insert_with(Default::default);
        ext.set("code", code);
        if let Some(u) = upstream {
            ext.set("upstream", u.as_str());
        }
    }
}

/// Whether the response is of a request that could not be executed (it did not parse or
/// validate, or a variable was missing): no data, and errors that name no field.
pub fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

/// Gives the errors of a request that could not be executed (no data; errors with no path)
/// a stable code as well: `GRAPHQL_PARSE_FAILED` when `query` does not parse, else
/// `GRAPHQL_VALIDATION_FAILED` (a field that does not exist, an argument of the wrong type,
/// a limit). Errors that already carry a code keep it.
pub fn code_request_errors(response: &mut async_graphql::Response, query: &str) {
    if !is_request_error(response) {
        return;
    }
    let code = if async_graphql::parser::parse_query(query).is_err() {
        "GRAPHQL_PARSE_FAILED"
    } else {
        "GRAPHQL_VALIDATION_FAILED"
    };
    for error in &mut response.errors {
        let ext = error.extensions.get_or_insert_with(Default::default);
        if ext.get("code").is_none() {
            ext.set("code", code);
        }
    }
}
