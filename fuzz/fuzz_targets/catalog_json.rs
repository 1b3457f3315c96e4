#![no_main]
//! See `yiwang_store::fuzzing::catalog_json`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| yiwang_store::fuzzing::catalog_json(data));
