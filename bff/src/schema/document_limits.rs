//! What a document may ask, checked once it is parsed (by [`super::execute`], before
//! async-graphql runs it): its depth, counted on the caller's
//! own selections, whether it introspects when introspection is off, and how wide its
//! operations are: root fields per operation (each alias is one; fields merged under one
//! response key are one) and mutations per operation. Every root field is at least one
//! upstream call, so 200 aliases of `orders` were 600 calls; past the caps the request is
//! refused with `REQUEST_TOO_EXPENSIVE` before anything runs. So is a document past
//! `limits.max_complexity` (async-graphql's own check, priced by [`super::cost`]: list fields
//! count their rows), with a message that says what to ask for instead.
//!
//! These are checks on the parsed document, not a schema extension: any extension puts every
//! field of every row on async-graphql's slower extension path (see [`super::field_errors`]).
//!
//! async-graphql's `limit_depth` counts every field, introspection included, and the
//! standard introspection query of graphql-js (what GraphiQL-from-URL, codegen tools,
//! Postman, Altair and Schemathesis send) nests `ofType` seven levels deep inside
//! `__type`: the built-in limit refuses every GraphQL tool. These checks count the
//! depth of the operations' selections with fragments inlined, and count a `__schema` or
//! `__type` field as one level whatever it selects (the introspection schema is finite and
//! served from memory, so its depth costs nothing upstream).

use std::collections::HashSet;

use async_graphql::parser::types::OperationType;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ErrorExtensionValues, ServerError};

/// The message of a refused query (kept from async-graphql's own limit).
pub const TOO_DEEP: &str = "Query is nested too deep.";

/// The message of an introspection query when introspection is off (async-graphql alone
/// would answer `null` without saying why).
pub const NO_INTROSPECTION: &str =
    "introspection is switched off on this server; ask its operators for the schema file";

/// async-graphql's message for a document past `limit_complexity`.
const TOO_COMPLEX: &str = "Query is too complex.";

/// The `extensions.code` of a request refused for its width or its cost.
pub const REQUEST_TOO_EXPENSIVE: &str = "REQUEST_TOO_EXPENSIVE";

/// Refuses documents whose selections nest deeper than `max_depth` fields, documents that
/// introspect when `introspection` is false, operations with more than `max_root_fields`
/// root fields and mutations with more than `max_mutations`; gives a document past
/// `max_complexity` (refused by async-graphql's `limit_complexity`) its code and a message.
#[derive(Debug, Clone, Copy)]
pub struct DocumentLimits {
    pub max_depth: usize,
    pub introspection: bool,
    pub max_root_fields: usize,
    pub max_mutations: usize,
    pub max_complexity: usize,
}

impl DocumentLimits {
    /// Why an operation of `document` is too wide, if one is.
    fn too_wide(&self, document: &ExecutableDocument) -> Option<String> {
        for (_, operation) in document.operations.iter() {
            let fields = root_fields(document, &operation.node.selection_set.node);
            let mutation = operation.node.ty == OperationType::Mutation;
            if mutation && fields > self.max_mutations {
                return Some(format!(
                    "this request makes {fields} mutations; at most {} are allowed in one \
                     request: send the others in further requests",
                    self.max_mutations
                ));
            }
            if fields > self.max_root_fields {
                return Some(format!(
                    "this operation asks for {fields} root fields (each alias counts); at most \
                     {} are allowed in one operation: split it into several requests",
                    self.max_root_fields
                ));
            }
        }
        None
    }
}

fn too_expensive(message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", REQUEST_TOO_EXPENSIVE);
    error.extensions = Some(extensions);
    error
}

impl DocumentLimits {
    /// Why `document` is refused, if it is: too deep, introspecting when introspection is
    /// off, or too wide. Run on every request's parsed document before it executes.
    pub fn check(&self, document: &ExecutableDocument) -> Result<(), ServerError> {
        if depth_of(document) > self.max_depth {
            return Err(ServerError::new(TOO_DEEP, None));
        }
        if !self.introspection && introspects(document) {
            return Err(ServerError::new(NO_INTROSPECTION, None));
        }
        if let Some(message) = self.too_wide(document) {
            return Err(too_expensive(message));
        }
        Ok(())
    }

    /// Gives async-graphql's refusal of a document past `limit_complexity` (a request error,
    /// without a path) its code and a message that says what to ask for instead.
    pub fn explain(&self, response: &mut async_graphql::Response) {
        for error in &mut response.errors {
            if error.message == TOO_COMPLEX && error.path.is_empty() {
                *error = too_expensive(format!(
                    "this query could bring back too much at once: each field of each row it \
                     may return counts (a page its size, an unpaged list {} rows), and it is \
                     past {} (limits.max_complexity); ask for smaller pages, fewer fields or \
                     fewer aliases",
                    super::cost::EXPECTED_ROWS,
                    self.max_complexity
                ));
            }
        }
    }
}

/// The deepest operation's depth.
pub fn depth_of(document: &ExecutableDocument) -> usize {
    document
        .operations
        .iter()
        .map(|(_, op)| depth(document, &op.node.selection_set.node, &mut HashSet::new()))
        .max()
        .unwrap_or(0)
}

/// The root fields a selection set runs: its distinct response keys (alias, else name),
/// fragments inlined, meta fields (`__typename`, `__schema`, `__type`) not counted.
pub fn root_fields(document: &ExecutableDocument, set: &SelectionSet) -> usize {
    super::selections::response_keys(document, &[set], |field| !field.name.node.starts_with("__"))
        .len()
}

/// Whether any selection of the document (fragments included) is `__schema` or `__type`.
pub fn introspects(document: &ExecutableDocument) -> bool {
    fn any(set: &SelectionSet) -> bool {
        set.items.iter().any(|selection| match &selection.node {
            Selection::Field(field) => {
                let name = field.node.name.node.as_str();
                name == "__schema" || name == "__type" || any(&field.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => any(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => false,
        })
    }
    document
        .operations
        .iter()
        .any(|(_, op)| any(&op.node.selection_set.node))
        || document
            .fragments
            .values()
            .any(|fragment| any(&fragment.node.selection_set.node))
}

/// The depth of a selection set; `open` holds the fragments being expanded, so a cycle
/// (which validation refuses later) ends the count instead of recursing forever.
fn depth<'a>(
    document: &'a ExecutableDocument,
    set: &'a SelectionSet,
    open: &mut HashSet<&'a str>,
) -> usize {
    set.items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(field) => {
                let name = field.node.name.node.as_str();
                if name == "__schema" || name == "__type" {
                    1
                } else {
                    1 + depth(document, &field.node.selection_set.node, open)
                }
            }
            Selection::InlineFragment(fragment) => {
                depth(document, &fragment.node.selection_set.node, open)
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                match document.fragments.get(&spread.node.fragment_name.node) {
                    Some(fragment) if open.insert(name) => {
                        let d = depth(document, &fragment.node.selection_set.node, open);
                        open.remove(name);
                        d
                    }
                    _ => 0,
                }
            }
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    fn depth_of_query(query: &str) -> usize {
        depth_of(&parse_query(query).expect("a valid document"))
    }

    #[test]
    fn counts_fields_through_fragments() {
        assert_eq!(depth_of_query("{ orders { product { name } } }"), 3);
        assert_eq!(
            depth_of_query(
                "{ orders { ...O } } fragment O on Order { product { ... on Product { name } } }"
            ),
            3
        );
    }

    #[test]
    fn counts_introspection_as_one_level() {
        let q =
            "{ __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } }";
        assert_eq!(depth_of_query(q), 1);
        assert_eq!(depth_of_query("{ orders { __typename } }"), 2);
    }

    #[test]
    fn finds_introspection_anywhere() {
        let doc = |q: &str| parse_query(q).expect("a valid document");
        assert!(introspects(&doc("{ __type(name: \"Order\") { name } }")));
        assert!(introspects(&doc(
            "{ ...F } fragment F on Query { __schema { queryType { name } } }"
        )));
        assert!(!introspects(&doc("{ orders { __typename } }")));
    }

    #[test]
    fn root_fields_count_aliases_once_each_through_fragments() {
        let count = |q: &str| {
            let doc = parse_query(q).expect("a valid document");
            let (_, op) = doc.operations.iter().next().expect("an operation");
            root_fields(&doc, &op.node.selection_set.node)
        };
        assert_eq!(count("{ orders { id } upstreams { name } __typename }"), 2);
        assert_eq!(
            count("{ a: orders { id } b: orders { id } orders { id } }"),
            3
        );
        assert_eq!(count("{ a: orders { id } a: orders { id } }"), 1, "merged");
        assert_eq!(
            count("{ ...F ... on Query { x: upstreams { name } } } fragment F on Query { orders { id } }"),
            2
        );
    }

    #[test]
    fn a_fragment_cycle_ends_the_count() {
        let q = "{ orders { ...A } } fragment A on Order { product { ...B } } fragment B on Product { ...A }";
        assert_eq!(depth_of_query(q), 2);
    }
}
