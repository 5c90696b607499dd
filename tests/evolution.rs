//! Schema evolution: records of five Avro and three Protobuf schema versions, written by
//! fastavro, Google's runtime and the Glue serializer, read in one reader's shape. The
//! expected JSON is fastavro's own writer→reader resolution and ProtoJSON of the bytes
//! parsed with the reader's class (tests/fixtures/evolution.py); superdecode is not used
//! to make any of it.

mod common;

use std::path::Path;

use serde_json::{Value, json};
use superdecode::config::Settings;

fn fixtures() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/evolution"
    ))
}

fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(fixtures().join("cases.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn engine() -> superdecode::pipeline::Engine {
    let dir = fixtures();
    let flags = [
        "--schemas".to_owned(),
        dir.join("schemas").display().to_string(),
        "--registry".to_owned(),
        "evolution".to_owned(),
        "--streams".to_owned(),
        dir.join("streams.json").display().to_string(),
        // `(payload)` calls have no stream: the global setting shapes them.
        "--reader".to_owned(),
        "latest".to_owned(),
    ];
    Settings::from_flags(flags).unwrap().engine().await.unwrap()
}

#[tokio::test]
async fn every_writer_version_reads_in_the_readers_shape() {
    let cases = cases();
    assert!(cases.len() >= 35, "only {} cases", cases.len());
    let engine = engine().await;
    let rows: Vec<&Value> = cases.iter().map(|c| &c["args"]).collect();
    let unknown_before = engine.unknown_fields();
    let results = common::handle_rows(&engine, &rows).await;
    let mut checked = 0;
    for (case, result) in cases.iter().zip(&results) {
        let name = case["name"].as_str().unwrap();
        let text = result.as_str().unwrap_or_else(|| panic!("{name}: null"));
        match (case.get("expected"), case.get("error")) {
            // ProtoJSON's number spelling differs from ours: compare values.
            (Some(expected), None) if case["compare"] == "json" => {
                let got: Value = serde_json::from_str(text).unwrap();
                let want: Value = serde_json::from_str(expected.as_str().unwrap()).unwrap();
                assert_eq!(got, want, "case {name:?}");
            }
            // Avro: exact text, so the reader's field order is checked too.
            (Some(expected), None) => assert_eq!(text, expected.as_str().unwrap(), "{name:?}"),
            (None, Some(code)) => {
                let parsed: Value = serde_json::from_str(text).unwrap();
                assert_eq!(parsed["_decode_error"]["code"], *code, "{name:?}: {text}");
            }
            _ => panic!("case {name:?} has neither expected nor error"),
        }
        checked += 1;
    }
    assert_eq!(checked, cases.len());
    // Fields a reader version removed are dropped and counted.
    let removed: u64 = cases
        .iter()
        .filter_map(|c| c.get("unknown_fields").and_then(Value::as_u64))
        .sum();
    assert!(removed > 0);
    assert_eq!(engine.unknown_fields() - unknown_before, removed);
}

/// One view over a stream whose producers are on three versions: under `reader: latest`
/// every row has the same keys for Avro framed, Avro raw with an inferred writer, and
/// Protobuf. (A Protobuf message-typed field has presence: unset, ProtoJSON leaves it out,
/// so `audit` only appears where it was set.)
#[tokio::test]
async fn one_shape_per_view_under_reader_latest() {
    let cases = cases();
    let engine = engine().await;
    for stream in ["orders_framed", "orders_infer", "items_framed"] {
        let rows: Vec<&Value> = cases
            .iter()
            .filter(|c| c["args"][0] == stream)
            .map(|c| &c["args"])
            .collect();
        assert!(rows.len() >= 3, "{stream}: {} rows", rows.len());
        let shapes: std::collections::BTreeSet<Vec<String>> = common::handle_rows(&engine, &rows)
            .await
            .iter()
            .map(|r| {
                let text = r.as_str().unwrap();
                let object: serde_json::Map<String, Value> =
                    serde_json::from_str(text).unwrap_or_else(|e| panic!("{stream}: {e}: {text}"));
                object.keys().filter(|k| *k != "audit").cloned().collect()
            })
            .collect();
        assert_eq!(shapes.len(), 1, "{stream}: {shapes:?}");
    }
}

/// The writer versions the rows were read with are what `writer: infer` is for: a record
/// whose bytes no version reads is an error that names the versions tried.
#[tokio::test]
async fn inference_that_finds_no_version_says_which_were_tried() {
    let engine = engine().await;
    // A lone zig-zag id, then nothing: too short for any version.
    let rows = [json!(["orders_infer", "02"])];
    let rows: Vec<&Value> = rows.iter().collect();
    let result = &common::handle_rows(&engine, &rows).await[0];
    let parsed: Value = serde_json::from_str(result.as_str().unwrap()).unwrap();
    let message = parsed["_decode_error"]["message"].as_str().unwrap();
    assert!(message.contains("versions 5 down to 1"), "{message}");
}
