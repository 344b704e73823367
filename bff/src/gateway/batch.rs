//! The one loader of rows joined across upstreams (an order's product, an order's delivery):
//! many keys at once, through the upstream's batch search when it lists one, otherwise one
//! concurrent request per key; and the one place their last-known-good copies are kept and
//! recalled, per id.
//!
//! Why per id, here, and not per URL in the client: a batch URL names a set of ids, and the
//! set changes with every list of orders, so a copy kept per URL is seldom found again,
//! while a copy per id is found whatever batch (or single request) it came in. The loader's
//! requests therefore bypass the client's per-URL copies ([`UpstreamClient::follow`] reads
//! fresh), so one failure is recalled once, with the age of the copy it really is.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::hash::Hash;

use futures::future::join_all;
use serde::de::DeserializeOwned;

use crate::error::BffError;
use crate::request_context::RequestContext;
use crate::stale::{Fetched, StaleCache, Weigh};
use crate::upstream::client::Answer;
use crate::upstream::hal::Var;
use crate::upstream::UpstreamClient;

/// Ids per batch request (the contract's limit).
pub const MAX_BATCH: usize = 1000;

/// The result of one key of a batch: the value (fresh or a stale copy), `None` when there
/// is none and none was promised, or the failure.
pub type Loaded<T> = Result<Fetched<Option<T>>, BffError>;

/// One relation loaded by id: where, how its batch search is called, and what a missing
/// item means.
pub struct Relation<'a, T> {
    /// The request the items are loaded for (its caller's token goes with each call).
    pub ctx: &'a RequestContext,
    pub client: &'a UpstreamClient,
    /// The collection relation the items are embedded under (`products`).
    pub rel: &'static str,
    /// The batch search and its list parameter (`findByIdIn`, `ids`).
    pub search: &'static str,
    pub param: &'static str,
    /// The id an item answers for (a product's id, a delivery's order id).
    pub id_of: fn(&T) -> i64,
    /// Whether every key names an item that exists (an order's product): then finding
    /// nothing is a NOT_FOUND error. Otherwise it is a plain null (an order has no delivery
    /// until the delivery service starts one).
    pub promised: bool,
    /// What an item is called in a NOT_FOUND message ("product" gives "product 7").
    pub what: &'static str,
    pub copies: &'a StaleCache<i64, T>,
}

impl<T: DeserializeOwned + Clone + Weigh> Relation<'_, T> {
    /// Loads every key: through the batch search when the upstream lists it (one request per
    /// [`MAX_BATCH`] ids, concurrently), otherwise with `single` per key, concurrently.
    /// `single` answers `None` when there is nothing for its key.
    pub async fn load<'k, K, F, Fut>(
        &self,
        keys: &'k [K],
        id: impl Fn(&K) -> i64,
        single: F,
    ) -> HashMap<K, Loaded<T>>
    where
        K: Clone + Eq + Hash,
        F: Fn(&'k K) -> Fut,
        Fut: Future<Output = Result<Option<T>, BffError>>,
    {
        let single = &single;
        let found: Vec<(&K, Result<Option<T>, BffError>)> =
            match self.client.search(self.ctx, self.rel, self.search).await {
                Err(e) => keys.iter().map(|k| (k, Err(e.clone()))).collect(),
                Ok(Some(link)) => {
                    let by_id = self.batches(&link, keys.iter().map(&id)).await;
                    keys.iter()
                        .map(|k| {
                            let r = by_id.get(&id(k)).cloned().unwrap_or(Ok(None));
                            (k, r)
                        })
                        .collect()
                }
                Ok(None) => {
                    join_all(keys.iter().map(|k| async move { (k, single(k).await) })).await
                }
            };
        found
            .into_iter()
            .map(|(k, r)| (k.clone(), self.settle(id(k), r)))
            .collect()
    }

    /// The items of the batch search for `ids`, by id (a failed request fails its ids).
    async fn batches(
        &self,
        link: &crate::upstream::hal::Link,
        ids: impl Iterator<Item = i64>,
    ) -> HashMap<i64, Result<Option<T>, BffError>> {
        let ids = unique(ids);
        let upstream = self.client.upstream();
        let chunks = ids.chunks(MAX_BATCH).map(|chunk| async move {
            let vars = [
                (
                    self.param,
                    Var::List(chunk.iter().map(i64::to_string).collect()),
                ),
                // The whole batch in one page where the search takes a page size (ours do;
                // a Spring Data REST search without paging ignores it).
                ("size", Var::One(chunk.len().to_string())),
            ];
            let items = async {
                let url = link
                    .expand(&vars)
                    .map_err(|e| BffError::protocol(upstream, e))?;
                match self.client.follow::<T>(self.ctx, &url, self.rel).await? {
                    Answer::Page(items) => Ok(items),
                    Answer::Resource(item) => Ok(vec![item]),
                    Answer::Missing => Err(BffError::protocol(
                        upstream,
                        format!("its {} search answered 404", self.search),
                    )),
                }
            }
            .await;
            (chunk, items)
        });
        let mut by_id = HashMap::new();
        for (chunk, items) in join_all(chunks).await {
            match items {
                Ok(items) => {
                    for &i in chunk {
                        by_id.insert(i, Ok(None));
                    }
                    for item in items {
                        by_id.insert((self.id_of)(&item), Ok(Some(item)));
                    }
                }
                Err(e) => {
                    for &i in chunk {
                        by_id.insert(i, Err(e.clone()));
                    }
                }
            }
        }
        by_id
    }

    /// Keeps a copy of what was found, turns nothing found into NOT_FOUND when the item was
    /// promised, and stands a copy in for an upstream failure.
    fn settle(&self, id: i64, result: Result<Option<T>, BffError>) -> Loaded<T> {
        match result {
            Ok(Some(item)) => {
                self.copies.remember(id, item.clone());
                Ok(Fetched::fresh(Some(item)))
            }
            Ok(None) if self.promised => Err(BffError::NotFound {
                upstream: Some(self.client.upstream()),
                what: format!("{} {id}", self.what),
            }),
            Ok(None) => Ok(Fetched::fresh(None)),
            Err(e) => match self.copies.recall(&id, &e) {
                Some(copy) => Ok(copy.map(Some)),
                None => Err(e),
            },
        }
    }
}

/// What a followed link answered, as one item (the first of a page).
pub fn one_of<T>(answer: Answer<T>) -> Option<T> {
    match answer {
        Answer::Resource(item) => Some(item),
        Answer::Page(items) => items.into_iter().next(),
        Answer::Missing => None,
    }
}

/// The distinct ids, sorted: the same set of ids always gives the same batch URL (the
/// DataLoaders hand keys over in no particular order).
fn unique(ids: impl Iterator<Item = i64>) -> Vec<i64> {
    let set: BTreeSet<i64> = ids.collect();
    set.into_iter().collect()
}
