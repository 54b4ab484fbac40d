#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rectify_tests::fuzz::photo_chunk(data));
