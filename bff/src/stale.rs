//! Last-known-good copies, served (marked stale) while their upstream fails.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::upstream::Upstream;

/// Last-known-good copies served (marked stale) while an upstream fails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StaleSettings {
    pub enabled: bool,
    /// At most this many copies are kept per upstream and kind of resource.
    pub capacity: usize,
}

impl Default for StaleSettings {
    fn default() -> Self {
        StaleSettings {
            enabled: true,
            capacity: 10_000,
        }
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

/// A bounded map of last-known-good copies. When full, it forgets everything at once: a
/// cheap bound that keeps the memory in check, and a stale copy is only a courtesy.
#[derive(Debug)]
pub struct StaleCache<K, V> {
    upstream: Upstream,
    capacity: usize,
    entries: Mutex<HashMap<K, (V, SystemTime)>>,
}

impl<K: Eq + Hash, V: Clone> StaleCache<K, V> {
    /// A cache of `capacity` copies (0 disables it).
    pub fn new(upstream: Upstream, capacity: usize) -> StaleCache<K, V> {
        StaleCache {
            upstream,
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (V, SystemTime)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn remember(&self, key: K, value: V) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(key, (value, SystemTime::now()));
    }

    /// The last copy of `key`, marked stale because of `failure`.
    pub fn recall(&self, key: &K, failure: &crate::BffError) -> Option<Fetched<V>> {
        if !failure.is_upstream_failure() {
            return None;
        }
        let entries = self.lock();
        entries.get(key).map(|(value, at)| Fetched {
            value: value.clone(),
            stale: Some(Staleness {
                upstream: self.upstream,
                fetched_at: *at,
                reason: failure.extension_code(),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BffError;

    #[test]
    fn copies_come_back_only_for_upstream_failures() {
        let cache = StaleCache::new(Upstream::Delivery, 2);
        cache.remember(1, "a");
        let down = BffError::CircuitOpen {
            upstream: Upstream::Delivery,
        };
        let copy = cache.recall(&1, &down).expect("copy");
        assert_eq!(copy.value, "a");
        assert_eq!(copy.stale.expect("stale").reason, "CIRCUIT_OPEN");
        assert!(cache.recall(&1, &BffError::bad_input("no")).is_none());
        assert!(cache.recall(&2, &down).is_none());
    }
}
