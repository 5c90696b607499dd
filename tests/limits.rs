//! A batch never dies of its input: every resource a record can drive is bounded, and
//! crossing a bound is a record error with its own code. Hostile but plausible payloads go
//! through the pure Redshift handler (and, for memory, the real binary under an
//! address-space limit), each with the error object it must give.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use superdecode::config::Settings;
use superdecode::decode::JsonOptions;
use superdecode::error::BatchError;
use superdecode::pipeline::{Engine, Limits};
use superdecode::redshift::OnError;
use superdecode::redshift::{self, Outcome, ResponsePolicy};
use superdecode::schema::{CacheSettings, SchemaCache, SchemaDefinition, SchemaKey, SchemaSource};
use superdecode::streams::Streams;

const BLOB_ID: &str = "5b1d0c3e-0000-4000-8000-00000000b10b";
const TEXT_ID: &str = "5b1d0c3e-0000-4000-8000-0000000074e7";

/// A schema directory of small hostile-friendly schemas, in the documented layout.
fn schema_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, schema: &str, glue: Option<&str>| {
        let folder = dir.path().join("limits").join(name);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("1.avsc"), schema).unwrap();
        if let Some(id) = glue {
            std::fs::write(
                folder.join("ids.json"),
                json!({"1": {"glue": id}}).to_string(),
            )
            .unwrap();
        }
    };
    write("blob", r#""bytes""#, Some(BLOB_ID));
    write("text", r#""string""#, Some(TEXT_ID));
    write("nulls", r#"{"type":"array","items":"null"}"#, None);
    write("strings", r#"{"type":"array","items":"string"}"#, None);
    write(
        "list",
        r#"{"type":"record","name":"Node","fields":[{"name":"v","type":"int"},
            {"name":"next","type":["null","Node"]}]}"#,
        None,
    );
    write(
        "tree",
        r#"{"type":"record","name":"T","fields":[{"name":"kids","type":{"type":"array","items":"T"}},
            {"name":"tags","type":{"type":"map","values":"T"}}]}"#,
        None,
    );
    dir
}

async fn engine(dir: &Path, extra: &[&str]) -> Engine {
    let mut flags = vec![
        "--schemas".to_owned(),
        dir.display().to_string(),
        "--registry".to_owned(),
        "limits".to_owned(),
    ];
    flags.extend(extra.iter().map(|s| (*s).to_owned()));
    Settings::from_flags(flags).unwrap().engine().await.unwrap()
}

async fn run(engine: &Engine, policy: ResponsePolicy, rows: Vec<Value>) -> Outcome {
    let event = json!({"num_records": rows.len(), "arguments": rows});
    redshift::handle(engine, policy, &event.to_string(), None).await
}

/// The response as a JSON tree.
fn response(outcome: &Outcome) -> Value {
    serde_json::to_value(&outcome.response).unwrap()
}

/// Avro's zig-zag varint.
fn long(n: i64) -> Vec<u8> {
    let mut v = ((n << 1) ^ (n >> 63)) as u64;
    let mut out = Vec::new();
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
    out
}

fn avro_string(text: &[u8]) -> Vec<u8> {
    let mut out = long(text.len() as i64);
    out.extend_from_slice(text);
    out
}

/// A Glue frame with a zlib body (flate2, the same zlib any producer uses).
fn glue_zlib(id: &str, body: &[u8]) -> String {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(body).unwrap();
    let mut out = vec![0x03, 0x05];
    out.extend_from_slice(uuid::Uuid::parse_str(id).unwrap().as_bytes());
    out.extend_from_slice(&encoder.finish().unwrap());
    hex::encode(out)
}

fn code_of(result: &Value) -> String {
    let text = result
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {result}"));
    let parsed: Value = serde_json::from_str(text).unwrap();
    parsed["_decode_error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error object: {text}"))
        .to_owned()
}

fn results(outcome: &Outcome) -> Vec<Value> {
    let response = response(outcome);
    assert_eq!(response["success"], true, "{response}");
    response["results"].as_array().unwrap().clone()
}

#[tokio::test]
async fn hostile_payloads_give_their_error_objects() {
    let dir = schema_dir();
    let engine = engine(dir.path(), &[]).await;
    let huge_count = {
        // One block claiming 2^62 - 1 items.
        let mut b = long((1 << 62) - 1);
        b.push(0);
        b
    };
    let mut deep_list = Vec::new();
    for _ in 0..10_000 {
        deep_list.extend_from_slice(&[0x02, 0x02]);
    }
    deep_list.extend_from_slice(&[0x02, 0x00]);
    // A tree 10,000 arrays deep: each level is a block of one child.
    let deep_tree = vec![0x02; 10_000];
    let bad_utf8 = avro_string(b"caf\xc3\x28");
    let cut_zlib = {
        let full = glue_zlib(TEXT_ID, &avro_string(b"hello world"));
        full[..full.len() - 8].to_owned()
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "array of nulls, block count near 2^62",
            json!(["nulls", hex::encode(&huge_count)]),
            "result_too_large",
        ),
        (
            "array of strings, block count near 2^62 and no data",
            json!(["strings", hex::encode(&huge_count)]),
            "decode_failed",
        ),
        (
            "array with a negative block count and a block size near 2^62",
            json!(["strings", hex::encode([long(-3), long(1 << 62)].concat())]),
            "decode_failed",
        ),
        (
            "bytes with a length near 2^40",
            json!(["blob", hex::encode(long(1 << 40))]),
            "decode_failed",
        ),
        (
            "bytes with a negative length",
            json!(["blob", hex::encode(long(-5))]),
            "decode_failed",
        ),
        (
            "a string with invalid UTF-8",
            json!(["text", hex::encode(&bad_utf8)]),
            "invalid_utf8",
        ),
        (
            "a truncated body",
            json!(["text", hex::encode(&avro_string(b"hello")[..4])]),
            "decode_failed",
        ),
        (
            "a recursive record 10,000 levels deep",
            json!(["list", hex::encode(&deep_list)]),
            "nesting_too_deep",
        ),
        (
            "arrays nested 10,000 levels deep",
            json!(["tree", hex::encode(&deep_tree)]),
            "nesting_too_deep",
        ),
        (
            "a zlib bomb: 64 MiB of zeros in a few KB",
            json!([glue_zlib(BLOB_ID, &vec![0u8; 64 << 20])]),
            "decompressed_too_large",
        ),
        (
            "a zlib body cut short",
            json!([cut_zlib]),
            "decompression_failed",
        ),
    ];
    let rows: Vec<Value> = cases.iter().map(|(_, row, _)| row.clone()).collect();
    let outcome = run(&engine, ResponsePolicy::new(OnError::Object), rows).await;
    for ((label, _, code), result) in cases.iter().zip(results(&outcome)) {
        assert_eq!(code_of(&result), *code, "{label}: {result}");
    }
    let depth = &results(&outcome)[7];
    assert!(
        depth
            .as_str()
            .unwrap()
            .contains("nesting deeper than 128 levels"),
        "{depth}"
    );
}

#[tokio::test]
async fn the_depth_limit_is_configurable() {
    let dir = schema_dir();
    let mut list = Vec::new();
    for _ in 0..20 {
        list.extend_from_slice(&[0x02, 0x02]);
    }
    list.extend_from_slice(&[0x02, 0x00]);
    let row = json!(["list", hex::encode(&list)]);
    let shallow = engine(dir.path(), &["--max-depth", "10"]).await;
    let outcome = run(
        &shallow,
        ResponsePolicy::new(OnError::Object),
        vec![row.clone()],
    )
    .await;
    assert_eq!(code_of(&results(&outcome)[0]), "nesting_too_deep");
    let default = engine(dir.path(), &[]).await;
    let outcome = run(&default, ResponsePolicy::new(OnError::Object), vec![row]).await;
    assert!(
        results(&outcome)[0]
            .as_str()
            .unwrap()
            .starts_with("{\"v\":1")
    );
}

/// 2,000 rows whose 30 KB results would make a 60 MB response: the response stays under
/// the limit, the rows that fit are whole, the rest are `response_too_large` dead letters.
#[tokio::test]
async fn a_response_never_passes_the_lambda_limit() {
    let dir = schema_dir();
    let engine = engine(dir.path(), &[]).await;
    let text = "x".repeat(30_000);
    let row = json!([glue_zlib(TEXT_ID, &avro_string(text.as_bytes()))]);
    let rows = vec![row; 2_000];
    let outcome = run(&engine, ResponsePolicy::new(OnError::Object), rows.clone()).await;
    let size = outcome.response.to_json().len();
    let answer = results(&outcome);
    assert_eq!(answer.len(), 2_000);
    assert!(size <= redshift::DEFAULT_MAX_RESPONSE_BYTES, "{size} bytes");
    let whole = answer
        .iter()
        .take_while(|r| r.as_str().unwrap().len() == 30_002)
        .count();
    assert!(whole > 150, "only {whole} rows fit");
    assert!(
        answer[whole..]
            .iter()
            .all(|r| code_of(r) == "response_too_large")
    );
    assert_eq!(outcome.errors_by_code["response_too_large"], 2_000 - whole);
    eprintln!(
        "2,000 rows x 30 KB: response {size} bytes, {whole} whole rows, {} response_too_large",
        2_000 - whole
    );

    // Under the null policy the rows that do not fit are NULL; under fail the batch fails.
    // NULL fallbacks need less room than error objects, so at least as many rows fit.
    let outcome = run(&engine, ResponsePolicy::new(OnError::Null), rows.clone()).await;
    let answer = results(&outcome);
    let whole_with_nulls = answer.iter().take_while(|r| r.is_string()).count();
    assert!(whole_with_nulls >= whole);
    assert!(answer[whole_with_nulls..].iter().all(Value::is_null));
    assert!(outcome.response.to_json().len() <= redshift::DEFAULT_MAX_RESPONSE_BYTES);
    let outcome = run(&engine, ResponsePolicy::new(OnError::Fail), rows).await;
    assert_eq!(response(&outcome)["success"], false);
    assert!(
        outcome.failure.unwrap().contains("does not fit"),
        "a fail-policy batch names the cause"
    );
}

/// So many rows that even their error objects would not fit: rows that do not fit become
/// NULL, and the response still fits.
#[tokio::test]
async fn a_tiny_response_limit_falls_back_to_null() {
    let dir = schema_dir();
    let engine = engine(dir.path(), &[]).await;
    let rows = vec![json!(["00"]); 1_000];
    let policy = ResponsePolicy {
        on_error: OnError::Object,
        max_response_bytes: 20_000,
    };
    let outcome = run(&engine, policy, rows).await;
    let size = outcome.response.to_json().len();
    assert!(size <= 20_000, "{size}");
    let answer = results(&outcome);
    assert_eq!(code_of(&answer[0]), "short_header");
    assert!(answer.last().unwrap().is_null());
}

/// A source that panics for one schema: a bug that escapes must fail its batch, not the
/// process, and the next batch is served.
struct PanickingSource;

#[async_trait::async_trait]
impl SchemaSource for PanickingSource {
    async fn fetch(&self, key: &SchemaKey) -> Result<Option<SchemaDefinition>, BatchError> {
        match key {
            SchemaKey::Named { schema, .. } if schema == "boom" => {
                panic!("forced by the test")
            }
            SchemaKey::Named {
                source,
                registry,
                schema,
                ..
            } => Ok(Some(SchemaDefinition {
                source: *source,
                registry: registry.clone(),
                schema: schema.clone(),
                version: 1,
                format: superdecode::decode::DataFormat::Avro,
                text: r#""string""#.to_owned(),
                imports: Vec::new(),
                glue_id: None,
                confluent_id: None,
            })),
            SchemaKey::Id(_) => Ok(None),
        }
    }

    fn describe(&self) -> String {
        "a test source".to_owned()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panic_fails_its_batch_and_the_engine_keeps_serving() {
    let engine = Engine::new(
        SchemaCache::new(
            Arc::new(PanickingSource),
            JsonOptions::default(),
            CacheSettings::default(),
        ),
        Streams::new("reg".to_owned(), HashMap::new()),
        Limits {
            max_result_bytes: 65_535,
            max_inflated_bytes: 1 << 20,
            max_depth: 128,
        },
    );
    let hello = hex::encode(avro_string(b"hello"));
    let policy = ResponsePolicy::new(OnError::Object);
    let outcome = run(&engine, policy, vec![json!(["boom", hello])]).await;
    assert_eq!(response(&outcome)["success"], false);
    let response = response(&outcome);
    let message = response["error_msg"].as_str().unwrap();
    assert!(
        message.contains("panicked") && message.contains("forced by the test"),
        "{message}"
    );
    let outcome = run(&engine, policy, vec![json!(["fine", hello])]).await;
    assert_eq!(results(&outcome)[0], "\"hello\"");
}

/// The real binary, under a 1 GiB address-space limit, answers a 6 MB event of Glue rows
/// that each inflate to just under the 8 MiB cap (the old engine inflated them all before
/// decoding any, and died).
#[test]
fn a_6_mb_event_of_rows_at_the_inflate_cap_is_answered_under_a_1_gib_address_space() {
    let dir = schema_dir();
    let body = [long(8 * 1024 * 1024 - 16), vec![0u8; 8 * 1024 * 1024 - 16]].concat();
    let row = glue_zlib(BLOB_ID, &body);
    let rows = (6 * 1024 * 1024) / (row.len() + 6);
    let event = json!({"arguments": vec![json!([row]); rows]});
    let event_path = dir.path().join("event.json");
    std::fs::write(&event_path, event.to_string()).unwrap();
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v 1048576 && exec \"$0\" invoke --schemas '{}' --registry limits '{}'",
            dir.path().display(),
            event_path.display()
        ))
        .arg(env!("CARGO_BIN_EXE_superdecode"))
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let response: Value = serde_json::from_slice(&output.stdout).unwrap();
    let results = response["results"].as_array().unwrap();
    assert_eq!(results.len(), rows);
    assert!(rows > 300, "{rows} rows");
    assert!(results.iter().all(|r| code_of(r) == "result_too_large"));
}
