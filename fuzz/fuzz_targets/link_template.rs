#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mall_bff::fuzz_targets::link_template(data));
