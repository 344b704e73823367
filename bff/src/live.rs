//! The live my-page: what a `myPage` subscription streams, fed by the CQRS projection.
//!
//! The BFF does not read the event bus itself. It is handed a [`LiveFeed`] (the port): one
//! bus subscription per process, fanned out to each customer's subscribers with a bounded
//! buffer each (the `mall` binary adapts the services' `MyPageFeed` to it). This keeps the
//! BFF free of the services' code and of any bus client.
//!
//! [`my_page_updates`] turns one feed subscription into the subscription's updates:
//!
//! 1. register with the feed first, then read the customer's rows from the mypage service
//!    (through the gateway) and send them as a SNAPSHOT: a change committed while the
//!    snapshot is read is in the snapshot, in the feed, or in both, never in neither;
//! 2. then one CHANGE per feed item, with the row that changed and all rows after it (an
//!    item that changes nothing the subscriber has, such as a change the snapshot already
//!    held, is skipped);
//! 3. when the feed says the subscriber fell behind ([`LiveItem::Lagged`]), read a fresh
//!    SNAPSHOT instead of catching up (a resync), so a slow client never grows memory;
//! 4. when the snapshot cannot be read, send the error and try again with backoff.
//!
//! Dropping the stream drops the feed subscription: nothing stays registered.

use std::sync::Arc;
use std::time::Duration;

use futures::stream::BoxStream;
use futures::{FutureExt, Stream, StreamExt};

use crate::error::BffError;
use crate::gateway::Gateway;
use crate::model::{MyPageRow, MyPageUpdate, MyPageUpdateKind};
use crate::request_context::RequestContext;
use crate::upstream::Upstream;

/// Open my-page subscriptions (gauge).
pub const METRIC_ACTIVE: &str = "bff_subscriptions_active";
/// Updates sent to subscribers, by `kind` (snapshot or change).
pub const METRIC_DELIVERED: &str = "bff_subscription_updates_total";
/// Subscribers that fell behind and were resynchronised with a fresh snapshot.
pub const METRIC_LAGGED: &str = "bff_subscriptions_lagged_total";

/// The longest wait between two attempts to read a snapshot.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// One item of a customer's feed.
#[derive(Debug, Clone)]
pub enum LiveItem {
    /// A row of this customer changed; this is the row after the change.
    Changed(MyPageRow),
    /// Changes were dropped for this subscriber (it fell behind, or the feed lost the bus):
    /// read a fresh snapshot.
    Lagged,
}

/// The port the BFF's subscriptions are fed by.
pub trait LiveFeed: Send + Sync + 'static {
    /// This customer's changes, in order, from the moment this returns (the registration
    /// is done before it returns). Dropping the stream unregisters it.
    fn subscribe(&self, customer_id: &str) -> BoxStream<'static, LiveItem>;
}

/// The schema data that gives subscriptions their feed (absent when the BFF runs without
/// an event bus).
#[derive(Clone)]
pub struct Live(pub Arc<dyn LiveFeed>);

/// Counts one open subscription for as long as it lives.
struct Active;

impl Active {
    fn new() -> Active {
        metrics::gauge!(METRIC_ACTIVE).increment(1.0);
        Active
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        metrics::gauge!(METRIC_ACTIVE).decrement(1.0);
    }
}

struct State {
    gateway: Arc<Gateway>,
    ctx: RequestContext,
    customer: String,
    changes: BoxStream<'static, LiveItem>,
    /// The rows the subscriber has; `None` until a snapshot is read (again). Shared with
    /// the update last sent, which is gone by the time the next change is applied, so
    /// applying one changes them in place.
    rows: Option<Arc<Vec<MyPageRow>>>,
    failures: u32,
    _active: Active,
}

/// The updates of one subscription: a SNAPSHOT, then a CHANGE per change (see the module
/// docs). Registers with `feed` before it returns.
pub fn my_page_updates(
    gateway: Arc<Gateway>,
    ctx: RequestContext,
    feed: &dyn LiveFeed,
    customer: &str,
) -> impl Stream<Item = Result<MyPageUpdate, BffError>> + Send + 'static {
    let state = State {
        gateway,
        ctx,
        customer: customer.to_owned(),
        changes: feed.subscribe(customer),
        rows: None,
        failures: 0,
        _active: Active::new(),
    };
    futures::stream::unfold(state, step)
}

async fn step(mut s: State) -> Option<(Result<MyPageUpdate, BffError>, State)> {
    loop {
        if s.rows.is_none() {
            if s.failures > 0 {
                // Boxed like the read below: a timer inline would stay in every waiting
                // subscriber's state.
                Box::pin(tokio::time::sleep(backoff(s.failures))).await;
            }
            // What the feed already holds was committed before the read below starts, so
            // the snapshot has it: dropping it spares the client changes older than its rows.
            loop {
                match s.changes.next().now_or_never() {
                    Some(Some(_)) => continue,
                    Some(None) => return None,
                    None => break,
                }
            }
            // Boxed: the read's future is large and lives only while it runs; inline, it
            // would make every subscriber's waiting state as large for its whole life.
            let update = match Box::pin(snapshot(&s.gateway, &s.ctx, &s.customer)).await {
                Ok(rows) => {
                    let rows = Arc::new(rows);
                    s.failures = 0;
                    s.rows = Some(rows.clone());
                    metrics::counter!(METRIC_DELIVERED, "kind" => "snapshot").increment(1);
                    Ok(MyPageUpdate {
                        kind: MyPageUpdateKind::Snapshot,
                        rows,
                        row: None,
                    })
                }
                Err(e) => {
                    s.failures = s.failures.saturating_add(1);
                    tracing::debug!(customer = %s.customer, error = %e, "my-page snapshot not read");
                    Err(e)
                }
            };
            return Some((update, s));
        }
        match s.changes.next().await? {
            LiveItem::Lagged => {
                metrics::counter!(METRIC_LAGGED).increment(1);
                tracing::debug!(customer = %s.customer, "subscriber fell behind; resyncing");
                s.rows = None;
            }
            LiveItem::Changed(row) => {
                let rows = s.rows.get_or_insert_with(Default::default);
                if !apply(Arc::make_mut(rows), row.clone()) {
                    // The subscriber has this row already: a change the snapshot included
                    // (its event reached the bus after the snapshot was read), or a
                    // redelivered event.
                    continue;
                }
                metrics::counter!(METRIC_DELIVERED, "kind" => "change").increment(1);
                let update = MyPageUpdate {
                    kind: MyPageUpdateKind::Change,
                    rows: rows.clone(),
                    row: Some(row),
                };
                return Some((Ok(update), s));
            }
        }
    }
}

/// The customer's rows, fresh: a copy served stale would not be a point to resume from.
async fn snapshot(
    gateway: &Gateway,
    ctx: &RequestContext,
    customer: &str,
) -> Result<Vec<MyPageRow>, BffError> {
    let fetched = gateway.my_pages.of_customer(ctx, customer).await?;
    if fetched.stale.is_some() {
        return Err(BffError::UpstreamUnavailable {
            upstream: Upstream::Mypage,
            detail: "only an old copy of the rows is at hand; live updates resume once it \
                     answers"
                .into(),
        });
    }
    let mut rows = fetched.value;
    rows.sort_by_key(|r| r.order_id);
    Ok(rows)
}

/// Replaces the row of the same order, or adds it (rows stay ordered by order id); false
/// when the rows had it already, as it is.
fn apply(rows: &mut Vec<MyPageRow>, row: MyPageRow) -> bool {
    match rows.binary_search_by_key(&row.order_id, |r| r.order_id) {
        Ok(i) if rows[i] == row => false,
        Ok(i) => {
            rows[i] = row;
            true
        }
        Err(i) => {
            rows.insert(i, row);
            true
        }
    }
}

fn backoff(failures: u32) -> Duration {
    (Duration::from_millis(250) * 2u32.saturating_pow(failures.min(8))).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(order: i64, status: &str) -> MyPageRow {
        MyPageRow {
            order_id: order,
            customer_id: "a".into(),
            order_status_text: status.into(),
            ..MyPageRow::default()
        }
    }

    #[test]
    fn a_change_replaces_its_order_row_or_is_added_in_order() {
        let mut rows = vec![row(1, "Ordered"), row(3, "Ordered")];
        assert!(apply(&mut rows, row(2, "Ordered")));
        assert!(apply(&mut rows, row(3, "Cancelled")));
        assert!(
            !apply(&mut rows, row(3, "Cancelled")),
            "a row the subscriber has is no change"
        );
        let got: Vec<(i64, &str)> = rows
            .iter()
            .map(|r| (r.order_id, r.order_status_text.as_str()))
            .collect();
        assert_eq!(
            got,
            [(1, "Ordered"), (2, "Ordered"), (3, "Cancelled")],
            "one row per order, sorted"
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert!(backoff(2) > backoff(1));
        assert_eq!(backoff(50), MAX_BACKOFF);
    }
}
