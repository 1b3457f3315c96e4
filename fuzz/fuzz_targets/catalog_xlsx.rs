#![no_main]
//! See `yiwang_store::fuzzing::catalog_xlsx`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| yiwang_store::fuzzing::catalog_xlsx(data));
