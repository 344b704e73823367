//! What the cargo-fuzz targets (the `fuzz/` crate, run by `cargo xtask fuzz`) check on the
//! bytes the services read from outside, one function per target. Each function is the
//! whole property: it returns normally for any input and panics when the parser panics or
//! an invariant breaks. `tests/fuzz_regressions.rs` feeds every input kept under
//! `fuzz/regressions/<target>/` to the same function on the stable toolchain.
//!
//! - [`domain_event`]: an event off the bus (NATS message or embedded log line), read as
//!   the bus reads it, then handled by each consumer's policy (which decodes its payload)
//!   in a transaction that is rolled back;
//! - [`idempotency_key`]: the `Idempotency-Key` header of `POST /orders`.
//!
//! [`replay_kept_inputs`] is how the stable tests of both crates (the BFF's and ours) run a
//! target's kept inputs.

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue};

use crate::consumer::Handler;
use crate::event::Event;
use crate::store::sqlite::SqliteStore;
use crate::store::{Store, TxExt};
use crate::{delivery, mypage, product};

/// An in-memory store holding product 1 (so the catalogue's policy gets past its lookup),
/// and the three consumers' policies, made once per process.
fn consumers() -> &'static (SqliteStore, [Handler; 3]) {
    static CONSUMERS: OnceLock<(SqliteStore, [Handler; 3])> = OnceLock::new();
    CONSUMERS.get_or_init(|| {
        let store = SqliteStore::in_memory().expect("an in-memory SQLite store opens");
        let mut tx = store.begin().expect("a transaction begins");
        tx.put(
            product::RESOURCE.collection,
            1,
            &product::Product {
                id: 1,
                name: "fuzzed".into(),
                price: 1000,
                stock: 10,
            },
        )
        .expect("the product is stored");
        tx.commit().expect("the product is committed");
        (
            store,
            [product::policy(), delivery::policy(), mypage::policy()],
        )
    })
}

/// An event read off the bus: decoding never panics; an event that decodes is written back
/// in the same wire form (the outbox and the bus keep `to_json`) and reads back equal; each
/// consumer either handles it or refuses it with an error (a poison event is dead-lettered),
/// never panics.
pub fn domain_event(data: &[u8]) {
    let Ok(event) = serde_json::from_slice::<Event>(data) else {
        return;
    };
    let wire = event.to_json();
    let again: Event = serde_json::from_str(&wire).expect("an event's wire form reads back");
    if !has_float(&event) {
        // serde_json's float parsing may differ in the last bit from its printing.
        assert_eq!(again, event, "an event reads back as it was written");
    }
    let (store, policies) = consumers();
    for policy in policies {
        let mut tx = store.begin().expect("a transaction begins");
        let _ = policy(&mut *tx, &event);
        // Dropped without commit: rolled back, the next input sees the same store.
    }
}

fn has_float(event: &Event) -> bool {
    fn float(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Number(n) => n.is_f64(),
            serde_json::Value::Array(a) => a.iter().any(float),
            serde_json::Value::Object(o) => o.values().any(float),
            _ => false,
        }
    }
    event.data.values().any(float)
}

/// The `Idempotency-Key` header as the order service reads it: `Some(key)` when accepted.
/// An accepted key is the header's bytes unchanged (it round-trips) and holds no space (the
/// idempotency record's name `order <key> <customer>` relies on it).
pub fn idempotency_key(data: &[u8]) -> Option<String> {
    let value = HeaderValue::from_bytes(data).ok()?;
    let mut headers = HeaderMap::new();
    headers.insert("idempotency-key", value);
    let key = crate::order::idempotency::IdempotencyKey::from_headers(&headers)
        .ok()??
        .as_str()
        .to_owned();
    assert_eq!(
        key.as_bytes(),
        data,
        "an accepted key is the header unchanged"
    );
    assert!(
        !key.contains(' '),
        "an accepted key ends at no space: {key:?}"
    );
    Some(key)
}

/// Runs `property` on every input kept for `target` under `fuzz/regressions/<target>/`
/// (seeds and findings), and fails naming every input it panics on.
pub fn replay_kept_inputs(target: &str, property: impl Fn(&[u8]) + std::panic::RefUnwindSafe) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "no inputs under {}", dir.display());
    let failed: Vec<String> = inputs
        .into_iter()
        .filter(|path| {
            let bytes = std::fs::read(path).expect("an input file");
            std::panic::catch_unwind(|| property(&bytes)).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(failed.is_empty(), "{target} fails on {failed:?}");
}
