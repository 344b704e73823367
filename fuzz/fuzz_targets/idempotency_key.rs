#![no_main]

// A key the BFF accepts and passes on is a key the order service accepts, unchanged.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let service = mall_services::fuzz_targets::idempotency_key(data);
    if let Some(sent) = mall_bff::fuzz_targets::idempotency_key(data) {
        let accepted = mall_services::fuzz_targets::idempotency_key(&sent);
        assert_eq!(
            accepted.as_deref().map(str::as_bytes),
            Some(sent.as_slice()),
            "the order service refuses a key the BFF sent"
        );
        assert_eq!(service.as_deref().map(str::as_bytes), Some(data));
    }
});
