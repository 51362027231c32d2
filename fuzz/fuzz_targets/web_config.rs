#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| lakewatch_exporter::fuzz::web_config(data));
