//! The cargo-fuzz targets' kept inputs (`fuzz/regressions/<target>/`: seeds and every
//! finding) run through the same properties as the fuzzer (`mall_bff::fuzz_targets`), on
//! stable, so a finding stays fixed. `cargo xtask fuzz` looks for more.

use std::path::PathBuf;

use mall_bff::fuzz_targets;

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
fn hal_documents_are_read_without_panicking() {
    check("hal_document", fuzz_targets::hal_document);
}

#[test]
fn link_templates_resolve_and_expand() {
    check("link_template", fuzz_targets::link_template);
}

#[test]
fn graphql_request_envelopes_are_read_without_panicking() {
    check("graphql_request", fuzz_targets::graphql_request);
}

/// The property of the `idempotency_key` target: a key the BFF accepts and passes on is one
/// the order service accepts, unchanged.
#[test]
fn a_key_the_bff_passes_on_is_one_the_order_service_accepts() {
    check("idempotency_key", |data| {
        if let Some(sent) = fuzz_targets::idempotency_key(data) {
            let accepted = mall_services::fuzz_targets::idempotency_key(&sent);
            assert_eq!(
                accepted.as_deref().map(str::as_bytes),
                Some(sent.as_slice()),
                "the order service refuses a key the BFF sent"
            );
        }
    });
}
