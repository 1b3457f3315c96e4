#![no_main]
//! See `yiwang_store::fuzzing::qr_payload`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| yiwang_store::fuzzing::qr_payload(data));
