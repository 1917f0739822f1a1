#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fpt_login_fuzz::proxy(data));
