//! The cargo-fuzz targets' kept inputs (`fuzz/regressions/<target>/`: seeds and every
//! finding) run through the same properties as the fuzzer (`mall_services::fuzz_targets`),
//! on stable, so a finding stays fixed. `cargo xtask fuzz` looks for more.

use std::path::PathBuf;

use mall_services::fuzz_targets;

/// Every input kept for `target`, with its file name.
fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let bytes = std::fs::read(&path).expect("an input file");
            (path.display().to_string(), bytes)
        })
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "no inputs under {}", dir.display());
    inputs
}

/// Runs `property` on every input of `target`, naming the ones that panic.
fn check(target: &str, property: impl Fn(&[u8]) + std::panic::RefUnwindSafe) {
    let failed: Vec<String> = inputs(target)
        .into_iter()
        .filter(|(_, bytes)| std::panic::catch_unwind(|| property(bytes)).is_err())
        .map(|(name, _)| name)
        .collect();
    assert!(failed.is_empty(), "{target} fails on {failed:?}");
}

#[test]
fn events_off_the_bus_decode_and_are_handled_without_panicking() {
    check("domain_event", fuzz_targets::domain_event);
}

#[test]
fn idempotency_keys_round_trip_through_the_order_service() {
    check("idempotency_key", |data| {
        fuzz_targets::idempotency_key(data);
    });
}
