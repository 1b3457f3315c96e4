#![no_main]
//! See `yiwang_store::fuzzing::file_sniff`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| yiwang_store::fuzzing::file_sniff(data));
