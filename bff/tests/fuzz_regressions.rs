//! The cargo-fuzz targets' kept inputs (`fuzz/regressions/<target>/`: seeds and every
//! finding) run through the same properties as the fuzzer (`mall_bff::fuzz_targets`), on
//! stable, so a finding stays fixed. `cargo xtask fuzz` looks for more.

use mall_bff::fuzz_targets;
use mall_services::fuzz_targets::replay_kept_inputs as check;

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
