#![no_main]
//! See `yiwang_store::fuzzing::licence_file`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| yiwang_store::fuzzing::licence_file(data));
