//! A schema and the texts of the schemas it references, as a registry might answer them
//! (any bytes: the parts are split at NUL bytes), inlined into one schema: no panic, no
//! stack overflow; the result is JSON whenever inlining succeeds, and compiling it
//! afterwards does not panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use superdecode::decode::JsonOptions;
use superdecode::decode::avro::AvroDecoder;
use superdecode::decode::avro::references::inline_references;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|b| *b == 0).map(String::from_utf8_lossy);
    let Some(root) = parts.next() else { return };
    let references: Vec<(String, String)> = parts
        .take(32)
        .enumerate()
        .map(|(i, text)| (format!("ref{i}"), text.into_owned()))
        .collect();
    let borrowed: Vec<(&str, &str)> = references
        .iter()
        .map(|(name, text)| (name.as_str(), text.as_str()))
        .collect();
    if let Ok(text) = inline_references(&root, &borrowed) {
        assert!(
            serde_json::from_str::<serde_json::Value>(&text).is_ok(),
            "{text}"
        );
        let _ = AvroDecoder::new(&text, &JsonOptions::default());
    }
});
