#![no_main]
//! See `yiwang_store::fuzzing::application_json`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| yiwang_store::fuzzing::application_json(data));
