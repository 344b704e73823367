//! Caches bounded in bytes: `quick_cache` with a weigher, its index sized from a guess of an
//! entry's weight. The stale copies, the parsed documents and the rendered my-page changes
//! are each one.

use std::hash::Hash;

use quick_cache::sync::Cache;
use quick_cache::Weighter;

/// A cache of at most `max_bytes` (as `weighter` weighs entries), its index sized for entries
/// of about `typical_entry_bytes`.
pub fn cache<K, V, W>(max_bytes: u64, typical_entry_bytes: u64, weighter: W) -> Cache<K, V, W>
where
    K: Eq + Hash,
    V: Clone,
    W: Weighter<K, V> + Clone,
{
    let items = (max_bytes / typical_entry_bytes.max(1)).clamp(16, 1 << 20);
    Cache::with_weighter(items as usize, max_bytes.max(1), weighter)
}
