#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mall_services::fuzz_targets::domain_event(data));
