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
