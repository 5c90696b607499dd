//! MessagePack and CBOR streams: records made by the `msgpack` and `cbor2` packages
//! (tests/fixtures/schemaless.py), decoded with no registry, compared with the mapping the
//! README documents; and hostile records that must stay within the limits.

mod common;

use std::path::Path;

use serde_json::{Value, json};
use superdecode::config::Settings;
use superdecode::pipeline::Engine;

fn fixtures() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/schemaless"
    ))
}

async fn engine() -> Engine {
    // An empty schema directory: these streams must never need one.
    let empty = std::env::temp_dir().join(format!("superdecode-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let flags = [
        "--schemas".to_owned(),
        empty.display().to_string(),
        "--streams".to_owned(),
        fixtures().join("streams.json").display().to_string(),
    ];
    Settings::from_flags(flags).unwrap().engine().await.unwrap()
}

fn code(result: &Value) -> String {
    let parsed: Value = serde_json::from_str(result.as_str().unwrap()).unwrap();
    parsed["_decode_error"]["code"]
        .as_str()
        .unwrap_or("none")
        .to_owned()
}

#[tokio::test]
async fn msgpack_and_cbor_records_decode_as_documented() {
    let text = std::fs::read_to_string(fixtures().join("cases.json")).unwrap();
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert!(cases.len() >= 25, "only {} cases", cases.len());
    let rows: Vec<Value> = cases.iter().map(|c| c["args"].clone()).collect();
    let engine = engine().await;
    let results = common::handle_rows(&engine, &rows).await;
    for (case, result) in cases.iter().zip(&results) {
        let name = case["name"].as_str().unwrap();
        match (case.get("expected"), case.get("error")) {
            (Some(expected), None) => assert_eq!(result, expected, "{name}"),
            (None, Some(error)) => assert_eq!(code(result), *error, "{name}: {result}"),
            _ => panic!("{name} has neither expected nor error"),
        }
    }
    assert_eq!(engine.schemas().stats().registry_calls, 0);
}

#[tokio::test]
async fn hostile_nesting_stays_within_the_limits() {
    let engine = engine().await;
    let deep = |open: &str, leaf: &str| format!("{}{leaf}", open.repeat(100_000));
    let rows = vec![
        // 100,000 nested one-item arrays.
        json!(["events_msgpack", deep("91", "c0")]),
        json!(["events_cbor", deep("81", "f6")]),
        // 100,000 nested indefinite maps, each a key away from the next.
        json!(["events_cbor", deep("bf6161", "f6")]),
        // A chain of 100,000 tags on one integer: read in a loop, not by recursion.
        json!(["events_cbor", deep("d863", "01")]),
    ];
    let results = common::handle_rows(&engine, &rows).await;
    assert_eq!(code(&results[0]), "nesting_too_deep");
    assert_eq!(code(&results[1]), "nesting_too_deep");
    assert_eq!(code(&results[2]), "nesting_too_deep");
    assert_eq!(results[3], "1");
}

/// A result that passes the cap only by its closing brackets is still too large (found
/// by the `self_describing` fuzz target).
#[test]
fn the_closing_bracket_counts_against_the_result_cap() {
    use superdecode::decode::{DecodeContext, JsonOptions, SchemalessFormat};
    // [[ "aaaa" ]] as CBOR: 8182 64 61616161, JSON `[["aaaa"]]` (10 bytes).
    let body = [0x81, 0x81, 0x64, b'a', b'a', b'a', b'a'];
    let decoder = SchemalessFormat::Cbor.decoder(&JsonOptions::default());
    let decode = |max| {
        let ctx = DecodeContext {
            max_result_bytes: max,
            ..DecodeContext::default()
        };
        let mut out = String::new();
        decoder.decode(&body, &ctx, &mut out).map(|()| out)
    };
    assert_eq!(decode(10).unwrap(), r#"[["aaaa"]]"#);
    for max in [8, 9] {
        let err = decode(max).unwrap_err();
        assert_eq!(
            err.code,
            superdecode::error::ErrorCode::ResultTooLarge,
            "{max}"
        );
    }
}
