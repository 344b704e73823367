//! Required variables, checked before anything runs.
//!
//! async-graphql reports a required variable that was not sent only when the field using
//! it executes, as a field error with a path: the request half runs, and a client cannot
//! tell a missing variable from a failed field. GraphQL over HTTP counts variable coercion
//! as part of the request, so a missing one refuses the whole request up front.

use async_graphql::parser::types::{ExecutableDocument, OperationDefinition};
use async_graphql::{Request, ServerError, Value};

/// The operation a request runs: the one named `operation_name`, or the document's only
/// (first) one when it names none. `None` when the document holds no such operation.
pub fn selected_operation<'d>(
    document: &'d ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'d OperationDefinition> {
    document
        .operations
        .iter()
        .find(|(name, _)| match operation_name {
            Some(wanted) => name.map(|n| n.as_str()) == Some(wanted),
            None => true,
        })
        .map(|(_, op)| &op.node)
}

/// The error of the first required variable (non-null, no default) of the operation of
/// `document` (the request's, parsed) that the request selects and does not carry; `None`
/// when all are there, or when the document names no such operation (execution reports it).
pub fn missing_required(document: &ExecutableDocument, request: &Request) -> Option<ServerError> {
    selected_operation(document, request.operation_name.as_deref())?
        .variable_definitions
        .iter()
        .find_map(|definition| {
            let d = &definition.node;
            if d.var_type.node.nullable || d.default_value.is_some() {
                return None;
            }
            let name = d.name.node.as_str();
            match request.variables.get(name) {
                None | Some(Value::Null) => {
                    let mut error = ServerError::new(
                        format!(
                            "the variable ${name} of type {} is required; send it in `variables`",
                            d.var_type.node
                        ),
                        Some(definition.pos),
                    );
                    error
                        .extensions
                        .get_or_insert_with(Default::default)
                        .set("code", "BAD_USER_INPUT");
                    Some(error)
                }
                Some(_) => None,
            }
        })
}

#[cfg(test)]
mod tests {
    use async_graphql::Variables;
    use serde_json::json;

    use super::*;

    fn missing_required(request: &Request) -> Option<ServerError> {
        let document = async_graphql::parser::parse_query(&request.query).expect("parses");
        super::missing_required(&document, request)
    }

    fn request(query: &str, variables: serde_json::Value) -> Request {
        Request::new(query).variables(Variables::from_json(variables))
    }

    #[test]
    fn a_required_variable_must_be_sent() {
        let q = "query($id: Int!) { order(orderId: $id) { id } }";
        let e = missing_required(&request(q, json!({}))).expect("missing");
        assert!(e.message.contains("$id") && e.path.is_empty(), "{e:?}");
        assert!(missing_required(&request(q, json!({"id": null}))).is_some());
        assert!(missing_required(&request(q, json!({"id": 1}))).is_none());
    }

    #[test]
    fn optional_and_defaulted_variables_may_be_left_out() {
        let q = "query($a: Int, $b: Int! = 3) { order(orderId: $b) { id } }";
        assert!(missing_required(&request(q, json!({}))).is_none());
    }

    #[test]
    fn only_the_selected_operation_counts() {
        let q = "query A { orders { id } } query B($id: Int!) { order(orderId: $id) { id } }";
        let a = request(q, json!({})).operation_name("A");
        assert!(missing_required(&a).is_none());
        let b = request(q, json!({})).operation_name("B");
        assert!(missing_required(&b).is_some());
    }
}
