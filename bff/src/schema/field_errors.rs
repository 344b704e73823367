//! Field errors handled as the GraphQL specification says ("Handling Field Errors").
//!
//! async-graphql leaves a failed field out of its parent object (and answers `"data": null`
//! when nothing else was selected) instead of answering `null` beside the error, and never
//! propagates the failure of a non-null field to its parent. Clients generated from the
//! schema (and the spec's own wording) expect the key to be there. This extension, at the
//! resolve step of every field:
//!
//! - a failed **nullable** field answers `null`; its error is kept and added to the
//!   response once the request is done;
//! - a failed **non-null** field makes the nearest nullable ancestor `null` (a list item if
//!   the list's items are nullable, else the list's own field, and so on up); when no
//!   ancestor up to the root field is nullable, `data` is `null`.
//!
//! The error of the field that failed is reported once, with its own path, whichever
//! ancestor became `null`.

use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextRequest, NextResolve, NextSubscribe,
    ResolveInfo,
};
use async_graphql::{
    PathSegment, QueryPathNode, QueryPathSegment, Response, ServerError, ServerResult, Value,
};
use futures::stream::BoxStream;
use futures::StreamExt;

/// The message of the error a non-null field returns to leave its parent object, so that
/// async-graphql omits it; it is removed from the response (the real error is there).
const PROPAGATED: &str = "\u{0}propagated to the nearest nullable ancestor";

/// Installs [`SpecFieldErrors`] on the schema.
#[derive(Debug, Clone, Copy)]
pub struct FieldErrors;

impl ExtensionFactory for FieldErrors {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(SpecFieldErrors::default())
    }
}

/// One request's (or one subscription's) state.
#[derive(Debug, Default)]
pub struct SpecFieldErrors {
    /// Shared with the response stream of a subscription.
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    /// Errors of nullable fields answered as `null`, to add to the response.
    nulled: Vec<ServerError>,
    /// Paths of non-null fields that failed (their parent object must become null).
    failed: Vec<Vec<PathSegment>>,
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    // Held for a few pushes only, never across an await.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Puts a response in the specification's shape: errors of nulled fields added,
/// propagation markers removed, `data` null when a non-null root field failed.
fn finish(state: &Mutex<State>, response: &mut Response) {
    let state = std::mem::take(&mut *lock(state));
    response.errors.retain(|e| e.message != PROPAGATED);
    response.errors.extend(state.nulled);
    if state.failed.iter().any(|p| p.len() == 1) {
        response.data = Value::Null;
    }
}

impl SpecFieldErrors {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.state)
    }
}

#[async_trait::async_trait]
impl Extension for SpecFieldErrors {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        finish(&self.state, &mut response);
        response
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let state = self.state.clone();
        next.run(ctx, stream)
            .map(move |mut response| {
                finish(&state, &mut response);
                response
            })
            .boxed()
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        // Borrowed, and the path built only when a failure needs it: this runs for every
        // field of every row, and almost every field succeeds with nothing failed below it.
        let return_type = info.return_type;
        let node = info.path_node;
        match next.run(ctx, info).await {
            Err(e) if nullable(return_type) => {
                self.state().nulled.push(e);
                Ok(Some(Value::Null))
            }
            Err(e) => {
                self.state().failed.push(path_of(node));
                Err(e)
            }
            Ok(Some(mut value)) => {
                let children: Vec<Vec<usize>> = {
                    let state = self.state();
                    if state.failed.is_empty() {
                        Vec::new()
                    } else {
                        let path = path_of(node);
                        state
                            .failed
                            .iter()
                            .filter_map(|p| indices_below(&path, p))
                            .collect()
                    }
                };
                for indices in children {
                    if !null_nearest(&mut value, return_type, &indices) {
                        if nullable(return_type) {
                            return Ok(Some(Value::Null));
                        }
                        self.state().failed.push(path_of(node));
                        return Err(ServerError::new(PROPAGATED, None));
                    }
                }
                Ok(Some(value))
            }
            Ok(None) => Ok(None),
        }
    }
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

/// The path of the field being resolved (its node in the query's path).
fn path_of(node: &QueryPathNode<'_>) -> Vec<PathSegment> {
    let mut path = Vec::new();
    let mut node = Some(node);
    while let Some(n) = node {
        path.push(match n.segment {
            QueryPathSegment::Name(name) => PathSegment::Field(name.to_owned()),
            QueryPathSegment::Index(i) => PathSegment::Index(i),
        });
        node = n.parent;
    }
    path.reverse();
    path
}

/// When `failed` names a field of an object inside `parent`'s value (the value itself,
/// or an item of its lists), the list indices leading to that object.
fn indices_below(parent: &[PathSegment], failed: &[PathSegment]) -> Option<Vec<usize>> {
    let rest = failed.strip_prefix(parent)?;
    let (field, indices) = rest.split_last()?;
    if !matches!(field, PathSegment::Field(_)) {
        return None;
    }
    indices
        .iter()
        .map(|s| match s {
            PathSegment::Index(i) => Some(*i),
            PathSegment::Field(_) => None,
        })
        .collect()
}

/// Nulls the nearest nullable container of the object at `indices` inside `value` (whose
/// type is `ty`): the object itself, else the list holding it, and so on out to `value`.
/// False when none is nullable: the field holding `value` must itself become null.
fn null_nearest(value: &mut Value, ty: &str, indices: &[usize]) -> bool {
    let mut types = vec![ty];
    for _ in indices {
        let last = types[types.len() - 1];
        types.push(item_of(last));
    }
    for depth in (0..types.len()).rev() {
        if nullable(types[depth]) {
            if let Some(target) = at(value, &indices[..depth]) {
                *target = Value::Null;
            }
            return true;
        }
    }
    false
}

fn at<'v>(value: &'v mut Value, indices: &[usize]) -> Option<&'v mut Value> {
    match indices.split_first() {
        None => Some(value),
        Some((i, rest)) => match value {
            Value::List(items) => at(items.get_mut(*i)?, rest),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_types() {
        assert!(nullable("Order") && nullable("[Order!]"));
        assert!(!nullable("Order!") && !nullable("[Order]!"));
        assert_eq!(item_of("[Order!]!"), "Order!");
        assert_eq!(item_of("[Order]"), "Order");
    }

    #[test]
    fn finds_failed_fields_of_objects_below() {
        let f = |s: &str| PathSegment::Field(s.to_owned());
        let parent = vec![f("orders")];
        assert_eq!(
            indices_below(&parent, &[f("orders"), PathSegment::Index(2), f("id")]),
            Some(vec![2])
        );
        assert_eq!(indices_below(&parent, &[f("order"), f("id")]), None);
        assert_eq!(
            indices_below(
                &parent,
                &[f("orders"), PathSegment::Index(2), f("product"), f("id")]
            ),
            None,
            "a grandchild is its own parent's business"
        );
    }

    #[test]
    fn nulls_the_nearest_nullable_container() {
        let list = || Value::List(vec![Value::from(1), Value::from(2)]);
        let mut v = list();
        assert!(null_nearest(&mut v, "[Order]!", &[1]));
        assert_eq!(v, Value::List(vec![Value::from(1), Value::Null]));
        let mut v = list();
        assert!(null_nearest(&mut v, "[Order!]", &[1]));
        assert_eq!(v, Value::Null);
        let mut v = list();
        assert!(!null_nearest(&mut v, "[Order!]!", &[1]));
    }
}
