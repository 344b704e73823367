//! Last-known-good copies, served (marked stale) while their upstream fails.

use std::hash::Hash;
use std::time::SystemTime;

use bytes::Bytes;
use quick_cache::sync::Cache;
use quick_cache::Weighter;
use serde::{Deserialize, Serialize};

use crate::upstream::Upstream;

/// Last-known-good copies served (marked stale) while an upstream fails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StaleSettings {
    pub enabled: bool,
    /// The copies of one upstream and kind of resource (whole documents by URL, rows by
    /// id) hold at most this many bytes: keys, values and bookkeeping counted. Past it the
    /// copies used least are forgotten first.
    pub max_bytes: u64,
}

/// 8 MiB per upstream and kind of resource.
pub const DEFAULT_STALE_MAX_BYTES: u64 = 8 * 1024 * 1024;

impl Default for StaleSettings {
    fn default() -> Self {
        StaleSettings {
            enabled: true,
            max_bytes: DEFAULT_STALE_MAX_BYTES,
        }
    }
}

impl StaleSettings {
    /// The byte cap in force: 0 when copies are off.
    pub fn bytes(&self) -> u64 {
        if self.enabled {
            self.max_bytes
        } else {
            0
        }
    }
}

/// What a key or a value holds in memory beyond its own inline size (its heap bytes), so
/// that a cache of them can be bounded in bytes.
pub trait Weigh {
    fn heap_bytes(&self) -> u64;
}

impl Weigh for String {
    fn heap_bytes(&self) -> u64 {
        self.capacity() as u64
    }
}

impl Weigh for Bytes {
    fn heap_bytes(&self) -> u64 {
        self.len() as u64
    }
}

impl Weigh for i64 {
    fn heap_bytes(&self) -> u64 {
        0
    }
}

/// Why a value is stale: where it should have come from, since when the copy is, and the
/// failure that made the BFF serve it.
#[derive(Debug, Clone, PartialEq)]
pub struct Staleness {
    pub upstream: Upstream,
    pub fetched_at: SystemTime,
    /// The `extensions.code` the failure would have had.
    pub reason: &'static str,
}

/// A value as the BFF got it: fresh, or a stale copy.
#[derive(Debug, Clone)]
pub struct Fetched<T> {
    pub value: T,
    pub stale: Option<Staleness>,
}

impl<T> Fetched<T> {
    pub fn fresh(value: T) -> Fetched<T> {
        Fetched { value, stale: None }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Fetched<U> {
        Fetched {
            value: f(self.value),
            stale: self.stale,
        }
    }

    pub fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Fetched<U>, E> {
        Ok(Fetched {
            value: f(self.value)?,
            stale: self.stale,
        })
    }
}

/// Last-known-good copies, bounded in bytes (`quick_cache`, whose CLOCK-PRO policy keeps the
/// copies that are used again and forgets first those seen once): a flood of distinct
/// requests pushes out other one-off copies, not the ones the shop keeps asking for, and no
/// request can empty it.
pub struct StaleCache<K, V> {
    upstream: Upstream,
    /// `None` when copies are off.
    entries: Option<Cache<K, Kept<V>, ByWeight>>,
}

impl<K, V> std::fmt::Debug for StaleCache<K, V>
where
    K: Eq + Hash + Clone + Weigh,
    V: Clone + Weigh,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaleCache")
            .field("upstream", &self.upstream)
            .field("bytes", &self.weight())
            .field("max_bytes", &self.max_bytes())
            .finish()
    }
}

/// A copy and when it was fetched.
#[derive(Debug, Clone)]
struct Kept<V> {
    value: V,
    at: SystemTime,
}

/// Bookkeeping bytes of one entry beyond its key and value (the cache's slot and index).
const ENTRY_OVERHEAD: u64 = 32;

/// An entry weighs its key, its value and the bookkeeping.
#[derive(Debug, Clone, Copy)]
struct ByWeight;

impl<K: Weigh, V: Weigh> Weighter<K, Kept<V>> for ByWeight {
    fn weight(&self, key: &K, kept: &Kept<V>) -> u64 {
        let inline = std::mem::size_of::<K>() + std::mem::size_of::<Kept<V>>();
        inline as u64 + ENTRY_OVERHEAD + key.heap_bytes() + kept.value.heap_bytes()
    }
}

/// A guess of an entry's weight, to size the cache's index up front.
const TYPICAL_ENTRY_BYTES: u64 = 1024;

impl<K, V> StaleCache<K, V>
where
    K: Eq + Hash + Clone + Weigh,
    V: Clone + Weigh,
{
    /// A cache of at most `max_bytes` (0 disables it).
    pub fn new(upstream: Upstream, max_bytes: u64) -> StaleCache<K, V> {
        let entries = (max_bytes > 0)
            .then(|| crate::byte_bounded::cache(max_bytes, TYPICAL_ENTRY_BYTES, ByWeight));
        StaleCache { upstream, entries }
    }

    /// Keeps `value` as the last copy of `key`. A key seen again counts as used: its copy
    /// outlives those of keys seen once.
    pub fn remember(&self, key: K, value: V) {
        let Some(entries) = &self.entries else {
            return;
        };
        // Inserting over a kept copy counts as a use of it (and a key forgotten lately comes
        // back as one used often): quick_cache's CLOCK-PRO keeps such copies longest.
        entries.insert(
            key,
            Kept {
                value,
                at: SystemTime::now(),
            },
        );
    }

    /// The last copy of `key`, marked stale because of `failure`.
    pub fn recall(&self, key: &K, failure: &crate::BffError) -> Option<Fetched<V>> {
        if !failure.is_upstream_failure() {
            return None;
        }
        let kept = self.entries.as_ref()?.get(key)?;
        Some(Fetched {
            value: kept.value,
            stale: Some(Staleness {
                upstream: self.upstream,
                fetched_at: kept.at,
                reason: failure.extension_code(),
            }),
        })
    }
}

impl<K, V> StaleCache<K, V>
where
    K: Eq + Hash + Clone + Weigh,
    V: Clone + Weigh,
{
    /// The bytes the copies weigh now (keys, values and bookkeeping).
    pub fn weight(&self) -> u64 {
        self.entries.as_ref().map_or(0, |e| e.weight())
    }

    /// The most the copies may weigh.
    pub fn max_bytes(&self) -> u64 {
        self.entries.as_ref().map_or(0, |e| e.capacity())
    }

    /// How many copies are kept.
    pub fn len(&self) -> usize {
        self.entries.as_ref().map_or(0, |e| e.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BffError;

    #[test]
    fn copies_come_back_only_for_upstream_failures() {
        let cache = StaleCache::new(Upstream::Delivery, 4096);
        cache.remember(1, "a".to_owned());
        let down = BffError::CircuitOpen {
            upstream: Upstream::Delivery,
        };
        let copy = cache.recall(&1, &down).expect("copy");
        assert_eq!(copy.value, "a");
        assert_eq!(copy.stale.expect("stale").reason, "CIRCUIT_OPEN");
        assert!(cache.recall(&1, &BffError::bad_input("no")).is_none());
        assert!(cache.recall(&2, &down).is_none());
    }

    #[test]
    fn copies_stay_within_their_bytes_and_the_used_ones_stay() {
        let max_bytes = 64 * 1024;
        let cache: StaleCache<String, Bytes> = StaleCache::new(Upstream::Mypage, max_bytes);
        let down = BffError::CircuitOpen {
            upstream: Upstream::Mypage,
        };
        let hot = "hot".to_owned();
        for i in 0..5_000 {
            if i % 10 == 0 {
                cache.remember(hot.clone(), Bytes::from_static(b"{\"hot\":true}"));
            }
            let key = format!("{}-{i}", "k".repeat(200));
            cache.remember(key, Bytes::from(vec![b' '; 300]));
            assert!(
                cache.weight() <= max_bytes,
                "{} > {max_bytes}",
                cache.weight()
            );
        }
        assert!(cache.len() > 10, "the cache keeps what fits");
        let copy = cache.recall(&hot, &down).expect("the hot copy survived");
        assert_eq!(&copy.value[..], b"{\"hot\":true}");
    }

    #[test]
    fn off_keeps_nothing() {
        let cache: StaleCache<i64, String> = StaleCache::new(Upstream::Product, 0);
        cache.remember(1, "a".to_owned());
        let down = BffError::CircuitOpen {
            upstream: Upstream::Product,
        };
        assert!(cache.recall(&1, &down).is_none());
        assert_eq!(cache.weight(), 0);
    }
}
