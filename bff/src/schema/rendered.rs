//! A my-page CHANGE resolved once per selection, not once per subscriber.
//!
//! Every subscriber of one customer gets the same CHANGE at the same moment; those who asked
//! for the same fields (the same query, operation and variables) would resolve the same
//! selection on the same update, each on its own. The first of them to resolve it keeps the
//! result here ([`RenderedChanges`]); the others find it and take a copy of the value instead
//! of running the selection again (with 10,000 subscribers of one customer, resolving was most
//! of the work between a mutation and the last subscriber's CHANGE).
//!
//! A kept result is used only for an update equal to the one it was resolved from, for the
//! same customer and the same selection: what the copy holds is exactly what resolving would
//! have given. SNAPSHOTs are not kept (each subscriber reads its own, at its own moment), nor
//! is an update with a row whose status does not parse (its field error belongs to each
//! subscriber's response, and a kept value would not carry it). The results are bounded in
//! bytes by `quick_cache`; a forgotten one is resolved again.

use std::borrow::Cow;
use std::sync::Arc;

use async_graphql::parser::types::Field;
use async_graphql::registry::Registry;
use async_graphql::{ContextSelectionSet, OutputType, Positioned, ServerResult, Value};
use quick_cache::sync::Cache;
use quick_cache::Weighter;

use super::types::MyPageUpdate;
use crate::model::{self, MyPageRow, MyPageUpdateKind};

/// What one subscription asked for: its query, operation name and variables, as one string
/// (request data of every operation run over a WebSocket).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Selection(Arc<str>);

impl Selection {
    pub fn of(request: &async_graphql::Request) -> Selection {
        let variables = serde_json::to_string(&request.variables).unwrap_or_default();
        let operation = request.operation_name.as_deref().unwrap_or_default();
        Selection(format!("{operation}\n{variables}\n{}", request.query).into())
    }
}

/// Which kept result an update may use.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    selection: Selection,
    customer: Arc<str>,
}

/// A value and the update it was resolved from.
struct Kept {
    update: model::MyPageUpdate,
    value: Value,
}

/// The kept results (schema data).
pub struct RenderedChanges {
    kept: Cache<Key, Arc<Kept>, ByWeight>,
}

/// The bytes kept at most, by default.
pub const DEFAULT_MAX_BYTES: u64 = 8 << 20;

impl RenderedChanges {
    pub fn new(max_bytes: u64) -> RenderedChanges {
        RenderedChanges {
            kept: crate::byte_bounded::cache(max_bytes, 4096, ByWeight),
        }
    }

    fn recall(&self, key: &Key, update: &model::MyPageUpdate) -> Option<Value> {
        let kept = self.kept.get(key)?;
        (kept.update == *update).then(|| kept.value.clone())
    }

    fn keep(&self, key: Key, update: &model::MyPageUpdate, value: &Value) {
        self.kept.insert(
            key,
            Arc::new(Kept {
                update: update.clone(),
                value: value.clone(),
            }),
        );
    }

    /// How many results are kept (for tests).
    pub fn len(&self) -> usize {
        self.kept.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }
}

/// A kept result weighs about its rows three times over: the update's own, and the value's
/// maps of names and values (an estimate: the bound is what matters, not the exact bytes).
#[derive(Clone)]
struct ByWeight;

impl Weighter<Key, Arc<Kept>> for ByWeight {
    fn weight(&self, key: &Key, kept: &Arc<Kept>) -> u64 {
        let rows: u64 = kept
            .update
            .rows
            .iter()
            .chain(kept.update.row.as_ref())
            .map(row_bytes)
            .sum();
        (key.selection.0.len() + key.customer.len() + 128) as u64 + 3 * rows
    }
}

fn row_bytes(row: &MyPageRow) -> u64 {
    (std::mem::size_of::<MyPageRow>()
        + row.customer_id.len()
        + row.product_name.len()
        + row.order_status_text.len()
        + row.delivery_status_text.as_ref().map_or(0, String::len)) as u64
}

/// One update of a subscription, resolved through [`RenderedChanges`] when the schema has
/// them (the `myPage` stream's item; to clients it is the `MyPageUpdate` type itself).
pub struct SharedUpdate {
    pub update: MyPageUpdate,
    pub customer: Arc<str>,
}

impl SharedUpdate {
    /// The key of a result this update may share, if it may share one.
    fn key<'a>(&self, ctx: &ContextSelectionSet<'a>) -> Option<(&'a RenderedChanges, Key)> {
        let update = &self.update.0;
        let shareable = update.kind == MyPageUpdateKind::Change
            && update
                .rows
                .iter()
                .chain(update.row.as_ref())
                .all(|r| r.order_status().is_ok());
        if !shareable {
            return None;
        }
        let kept = ctx.data_opt::<RenderedChanges>()?;
        let selection = ctx.data_opt::<Selection>()?.clone();
        Some((
            kept,
            Key {
                selection,
                customer: self.customer.clone(),
            },
        ))
    }
}

impl OutputType for SharedUpdate {
    fn type_name() -> Cow<'static, str> {
        <MyPageUpdate as OutputType>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <MyPageUpdate as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let shared = self.key(ctx);
        if let Some((kept, key)) = &shared {
            if let Some(value) = kept.recall(key, &self.update.0) {
                return Ok(value);
            }
        }
        // Boxed, as in `live`: the resolution's future is large and lives only while it runs.
        let value = Box::pin(OutputType::resolve(&self.update, ctx, field)).await?;
        if let Some((kept, key)) = shared {
            kept.keep(key, &self.update.0, &value);
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(order: i64, status: &str) -> model::MyPageUpdate {
        let row = MyPageRow {
            order_id: order,
            customer_id: "a".into(),
            order_status_text: status.into(),
            ..MyPageRow::default()
        };
        model::MyPageUpdate {
            kind: MyPageUpdateKind::Change,
            rows: Arc::new(vec![row.clone()]),
            row: Some(row),
        }
    }

    fn key(selection: &str, customer: &str) -> Key {
        Key {
            selection: Selection(selection.into()),
            customer: customer.into(),
        }
    }

    #[test]
    fn a_kept_value_serves_only_the_same_update_of_the_same_customer_and_selection() {
        let kept = RenderedChanges::new(DEFAULT_MAX_BYTES);
        let value = Value::String("rendered".into());
        kept.keep(key("q", "a"), &change(1, "Ordered"), &value);
        assert_eq!(
            kept.recall(&key("q", "a"), &change(1, "Ordered")),
            Some(value)
        );
        assert_eq!(kept.recall(&key("q", "a"), &change(1, "Cancelled")), None);
        assert_eq!(kept.recall(&key("q", "b"), &change(1, "Ordered")), None);
        assert_eq!(kept.recall(&key("other", "a"), &change(1, "Ordered")), None);
    }

    #[test]
    fn the_kept_values_stay_within_their_bytes() {
        let kept = RenderedChanges::new(64 << 10);
        for customer in 0..10_000 {
            kept.keep(
                key("q", &customer.to_string()),
                &change(1, "Ordered"),
                &Value::Null,
            );
        }
        assert!(kept.len() < 1_000, "{} kept", kept.len());
    }
}
