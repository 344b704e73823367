//! The cargo-fuzz targets' kept inputs (`fuzz/regressions/<target>/`: seeds and every
//! finding) run through the same properties as the fuzzer (`mall_services::fuzz_targets`),
//! on stable, so a finding stays fixed. `cargo xtask fuzz` looks for more.

use mall_services::fuzz_targets;
use mall_services::fuzz_targets::replay_kept_inputs as check;

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
