//! Field errors handled as the GraphQL specification says ("Handling Field Errors").
//!
//! async-graphql leaves a failed field out of its parent object (and answers `null` for an
//! object none of whose fields succeeded, `"data": null` when that is the root) instead of
//! answering `null` beside the error, and never propagates the failure of a non-null field
//! to its parent. Clients generated from the schema (and the spec's own wording) expect the
//! key to be there. [`shape`] puts a finished response in the specification's shape, from
//! each field error's path, the document and the schema's field types:
//!
//! - a failed **nullable** field answers `null`, at its place among its siblings;
//! - a failed **non-null** field makes the nearest nullable ancestor `null` (a list item if
//!   the list's items are nullable, else the list's own field, and so on up); when no
//!   ancestor up to the root field is nullable, `data` is `null`.
//!
//! The error of the field that failed is reported once, with its own path, whichever
//! ancestor became `null`.
//!
//! This runs on the finished response, not as an extension at every field's resolve step:
//! any schema extension puts every field of every row on async-graphql's extension path (a
//! registry look-up and a boxed future per field), about a tenth of the CPU of a query of
//! 100 orders with their products and deliveries, while a response with no field error
//! (nearly all of them) needs nothing done here.

use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, OperationType, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::{ObjectType, PathSegment, Response, SubscriptionType, Value};

use super::selections::{each_field, response_keys};

/// The declared type of every field of every object type (`Order` → `status` →
/// `OrderStatus!`), and the root types: what [`shape`] needs of the schema. Read from a
/// registry of its own, built once with the schema: async-graphql keeps the schema's
/// registry to itself.
#[derive(Debug)]
pub struct FieldTypes {
    fields: HashMap<String, HashMap<String, String>>,
    query: String,
    mutation: String,
    subscription: String,
}

impl FieldTypes {
    /// The field types of the schema of these root types.
    pub fn of<Q: ObjectType, M: ObjectType, S: SubscriptionType>() -> FieldTypes {
        let mut registry = Registry::default();
        let query = Q::create_type_info(&mut registry);
        let mutation = M::create_type_info(&mut registry);
        let subscription = S::create_type_info(&mut registry);
        let fields = registry
            .types
            .iter()
            .filter_map(|(name, ty)| {
                let fields = ty.fields()?;
                Some((
                    name.clone(),
                    fields
                        .iter()
                        .map(|(field, meta)| (field.clone(), meta.ty.clone()))
                        .collect(),
                ))
            })
            .collect();
        FieldTypes {
            fields,
            query: named(&query).to_owned(),
            mutation: named(&mutation).to_owned(),
            subscription: named(&subscription).to_owned(),
        }
    }

    fn field(&self, ty: &str, field: &str) -> Option<&str> {
        self.fields.get(ty)?.get(field).map(String::as_str)
    }

    fn root(&self, operation: OperationType) -> &str {
        match operation {
            OperationType::Query => &self.query,
            OperationType::Mutation => &self.mutation,
            OperationType::Subscription => &self.subscription,
        }
    }
}

/// Puts `response` (of `operation` in `document`) in the specification's shape: each failed
/// nullable field `null` in its place, each failed non-null field's nearest nullable
/// ancestor `null` (or `data`). Errors without a path (request errors) are left as they
/// are; so is a path the document does not explain.
pub fn shape(
    response: &mut Response,
    document: &ExecutableDocument,
    operation: Option<&str>,
    types: &FieldTypes,
) {
    let Some((ty, set)) = root_of(document, operation) else {
        return;
    };
    let root = Walk {
        document,
        types,
        root_type: types.root(ty),
        root_set: set,
    };
    let failures: Vec<Failure> = response
        .errors
        .iter()
        .filter_map(|e| root.failure(&e.path))
        .collect();
    // Nullable fields first: each only puts a `null` in its place (or gives back an object
    // async-graphql emptied); then the non-null ones null their ancestors, which may hold
    // the first ones' nulls.
    for failure in failures.iter().filter(|f| nullable(f.ty())) {
        put_null(&mut response.data, failure, &failures);
    }
    for failure in failures.iter().filter(|f| !nullable(f.ty())) {
        propagate(&mut response.data, failure);
    }
}

/// A failed field: its path, the declared type of the value at each step of it, and the
/// response keys of the object holding it in selection order.
#[derive(Debug)]
struct Failure {
    path: Vec<PathSegment>,
    types: Vec<String>,
    siblings: Vec<String>,
}

impl Failure {
    fn ty(&self) -> &str {
        self.types.last().map_or("", String::as_str)
    }

    fn key(&self) -> &str {
        match self.path.last() {
            Some(PathSegment::Field(key)) => key,
            _ => "",
        }
    }

    fn parent(&self) -> &[PathSegment] {
        &self.path[..self.path.len() - 1]
    }
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    types: &'a FieldTypes,
    root_type: &'a str,
    root_set: &'a SelectionSet,
}

impl<'a> Walk<'a> {
    /// The failure at `path`, if the path ends in a field the document selects.
    fn failure(&self, path: &[PathSegment]) -> Option<Failure> {
        if !matches!(path.last()?, PathSegment::Field(_)) {
            return None;
        }
        let mut sets = vec![self.root_set];
        let mut types: Vec<String> = Vec::with_capacity(path.len());
        let mut siblings = Vec::new();
        let mut object = self.root_type.to_owned();
        for (i, segment) in path.iter().enumerate() {
            match segment {
                PathSegment::Field(key) => {
                    if i + 1 == path.len() {
                        siblings = response_keys(self.document, &sets, |_| true)
                            .into_iter()
                            .map(str::to_owned)
                            .collect();
                    }
                    let (name, below) = select(self.document, &sets, key)?;
                    let ty = self.types.field(&object, &name)?.to_owned();
                    object = named(&ty).to_owned();
                    types.push(ty);
                    sets = below;
                }
                PathSegment::Index(_) => {
                    let item = item_of(types.last()?).to_owned();
                    types.push(item);
                }
            }
        }
        Some(Failure {
            path: path.to_vec(),
            types,
            siblings,
        })
    }
}

/// The operation to shape: the one named, else the only one.
fn root_of<'d>(
    document: &'d ExecutableDocument,
    name: Option<&str>,
) -> Option<(OperationType, &'d SelectionSet)> {
    let mut operations = document.operations.iter();
    let (_, operation) = match name {
        Some(name) => operations.find(|(n, _)| n.is_some_and(|n| n.as_str() == name))?,
        None => {
            let only = operations.next()?;
            if operations.next().is_some() {
                return None;
            }
            only
        }
    };
    Some((operation.node.ty, &operation.node.selection_set.node))
}

/// The field name selected under response `key`, and the selection sets below it (merged).
fn select<'d>(
    document: &'d ExecutableDocument,
    sets: &[&'d SelectionSet],
    key: &str,
) -> Option<(String, Vec<&'d SelectionSet>)> {
    let mut name = None;
    let mut below = Vec::new();
    each_field(document, sets, &mut |field| {
        if field.response_key().node.as_str() == key {
            name.get_or_insert_with(|| field.name.node.to_string());
            below.push(&field.selection_set.node);
        }
    });
    Some((name?, below))
}

/// Puts `null` for a failed nullable field into its parent object, at its place among the
/// siblings. A parent async-graphql answered `null` because every field of it failed becomes
/// an object again, each of its failed fields `null`.
fn put_null(data: &mut Value, failure: &Failure, all: &[Failure]) {
    let Some(parent) = at(data, failure.parent()) else {
        return;
    };
    if *parent == Value::Null {
        let failed_here = all
            .iter()
            .filter(|f| f.parent() == failure.parent())
            .map(Failure::key)
            .collect::<Vec<_>>();
        *parent = Value::Object(
            failure
                .siblings
                .iter()
                .filter(|k| failed_here.contains(&k.as_str()))
                .map(|k| (async_graphql::Name::new(k), Value::Null))
                .collect(),
        );
        return;
    }
    let Value::Object(object) = parent else {
        return;
    };
    let key = failure.key();
    if object.contains_key(key) {
        return;
    }
    let place = failure
        .siblings
        .iter()
        .take_while(|k| k.as_str() != key)
        .filter(|k| object.contains_key(k.as_str()))
        .count();
    object.shift_insert(place, async_graphql::Name::new(key), Value::Null);
}

/// Nulls the nearest nullable ancestor of a failed non-null field (`data` when none is).
fn propagate(data: &mut Value, failure: &Failure) {
    for depth in (1..failure.path.len()).rev() {
        if nullable(&failure.types[depth - 1]) {
            if let Some(value) = at(data, &failure.path[..depth]) {
                *value = Value::Null;
            }
            return;
        }
    }
    *data = Value::Null;
}

/// The value at `path` inside `data`.
fn at<'v>(data: &'v mut Value, path: &[PathSegment]) -> Option<&'v mut Value> {
    let mut value = data;
    for segment in path {
        value = match (segment, value) {
            (PathSegment::Field(key), Value::Object(object)) => object.get_mut(key.as_str())?,
            (PathSegment::Index(i), Value::List(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(value)
}

/// The named type of a type (`[Order!]!` -> `Order`).
fn named(ty: &str) -> &str {
    ty.trim_start_matches('[').trim_end_matches(['!', ']'])
}

/// Whether a GraphQL type (as async-graphql names it: `Order`, `[Order!]!`) admits null.
fn nullable(ty: &str) -> bool {
    !ty.ends_with('!')
}

/// The item type of a list type (`[Order!]!` -> `Order!`); the type itself if not a list.
fn item_of(ty: &str) -> &str {
    let ty = ty.strip_suffix('!').unwrap_or(ty);
    ty.strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(ty)
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;
    use async_graphql::ServerError;

    use super::*;

    #[test]
    fn reads_types() {
        assert!(nullable("Order") && nullable("[Order!]"));
        assert!(!nullable("Order!") && !nullable("[Order]!"));
        assert_eq!(item_of("[Order!]!"), "Order!");
        assert_eq!(item_of("[Order]"), "Order");
        assert_eq!(named("[Order!]!"), "Order");
    }

    /// A small schema: `orders: [Order!]!`, `order: Order`, `Order { id: Int!, note:
    /// String, product: Product }`, `Product { name: String!, stock: Int }`.
    fn types() -> FieldTypes {
        let object = |fields: &[(&str, &str)]| {
            fields
                .iter()
                .map(|(f, t)| (f.to_string(), t.to_string()))
                .collect::<HashMap<_, _>>()
        };
        FieldTypes {
            fields: HashMap::from([
                (
                    "Query".to_owned(),
                    object(&[("orders", "[Order!]!"), ("order", "Order")]),
                ),
                (
                    "Order".to_owned(),
                    object(&[("id", "Int!"), ("note", "String"), ("product", "Product")]),
                ),
                (
                    "Product".to_owned(),
                    object(&[("name", "String!"), ("stock", "Int")]),
                ),
            ]),
            query: "Query".to_owned(),
            mutation: "Mutation".to_owned(),
            subscription: "Subscription".to_owned(),
        }
    }

    fn field(s: &str) -> PathSegment {
        PathSegment::Field(s.to_owned())
    }

    /// `data` as async-graphql answered it, with an error at each path, shaped.
    fn shaped(query: &str, data: serde_json::Value, paths: &[Vec<PathSegment>]) -> String {
        let mut response = Response::new(Value::from_json(data).expect("a value"));
        for path in paths {
            let mut error = ServerError::new("failed", None);
            error.path = path.clone();
            response.errors.push(error);
        }
        let document = parse_query(query).expect("a document");
        shape(&mut response, &document, None, &types());
        response.data.into_json().expect("json").to_string()
    }

    #[test]
    fn a_failed_nullable_field_is_null_in_its_place() {
        let query = "{ orders { id note product { name } } }";
        let data = serde_json::json!({"orders": [{"id": 1, "product": {"name": "A"}}]});
        let path = vec![field("orders"), PathSegment::Index(0), field("note")];
        assert_eq!(
            shaped(query, data, &[path]),
            r#"{"orders":[{"id":1,"note":null,"product":{"name":"A"}}]}"#
        );
    }

    #[test]
    fn an_object_whose_every_field_failed_is_an_object_of_nulls() {
        // async-graphql answers such an object as null.
        let query = "{ order { product { stock } } }";
        let data = serde_json::json!({"order": {"product": null}});
        let path = vec![field("order"), field("product"), field("stock")];
        assert_eq!(
            shaped(query, data, &[path]),
            r#"{"order":{"product":{"stock":null}}}"#
        );
        let data = serde_json::json!(null);
        assert_eq!(
            shaped("{ order { id } }", data, &[vec![field("order")]]),
            r#"{"order":null}"#
        );
    }

    #[test]
    fn a_failed_non_null_field_nulls_its_nearest_nullable_ancestor() {
        // `name` is non-null inside `product` (nullable): product is null.
        let query = "{ orders { id product { name stock } } }";
        let data = serde_json::json!({"orders": [{"id": 1, "product": {"stock": 2}}]});
        let path = vec![
            field("orders"),
            PathSegment::Index(0),
            field("product"),
            field("name"),
        ];
        assert_eq!(
            shaped(query, data, &[path]),
            r#"{"orders":[{"id":1,"product":null}]}"#
        );
        // `id` is non-null in a non-null item of a non-null root field: data is null.
        let data = serde_json::json!({"orders": [{"note": "x"}]});
        let path = vec![field("orders"), PathSegment::Index(0), field("id")];
        assert_eq!(shaped("{ orders { id note } }", data, &[path]), "null");
    }

    #[test]
    fn aliases_and_fragments_are_followed() {
        let query = "{ a: order { ...F } } fragment F on Order { id n: note }";
        let data = serde_json::json!({"a": {"id": 1}});
        let path = vec![field("a"), field("n")];
        assert_eq!(shaped(query, data, &[path]), r#"{"a":{"id":1,"n":null}}"#);
    }

    #[test]
    fn a_mixed_failure_nulls_what_the_non_null_one_reaches() {
        // Both fields of `order` failed: `note` (nullable) and `id` (non-null): order is null.
        let data = serde_json::json!({"order": null});
        let paths = [
            vec![field("order"), field("note")],
            vec![field("order"), field("id")],
        ];
        assert_eq!(
            shaped("{ order { id note } }", data, &paths),
            r#"{"order":null}"#
        );
    }
}
