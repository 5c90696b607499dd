//! The Confluent-compatible registry source against the project's loopback registry
//! (tests/fixtures/confluent_registry.py), loaded with the state that confluent-kafka's own
//! `SchemaRegistryClient` and serializers registered through it (tests/fixtures/confluent.py):
//! the records those serializers framed decode with no local files. Registry calls are
//! counted by the server.

mod common;

use std::path::PathBuf;

use common::{Registry, batch, free_port};
use serde_json::{Value, json};
use superdecode::config::Settings;
use superdecode::pipeline::Engine;

fn fixtures() -> PathBuf {
    common::confluent_fixtures()
}

async fn engine(flags: &[&str]) -> Engine {
    let streams = fixtures().join("streams.json").display().to_string();
    let mut all: Vec<String> = vec!["--streams".to_owned(), streams];
    all.extend(flags.iter().map(|f| (*f).to_owned()));
    Settings::from_flags(all).unwrap().engine().await.unwrap()
}

fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(fixtures().join("cases.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn row(case: &Value) -> Value {
    common::confluent_row(case)
}

fn error_code(result: &Value) -> String {
    let parsed: Value = serde_json::from_str(result.as_str().unwrap()).unwrap();
    parsed["_decode_error"]["code"]
        .as_str()
        .unwrap_or("none")
        .to_owned()
}

/// Every case's result checked against what the independent encoders wrote.
fn check(cases: &[Value], results: &[Value]) {
    assert_eq!(cases.len(), results.len());
    for (case, result) in cases.iter().zip(results) {
        let name = case["name"].as_str().unwrap();
        if let Some(error) = case.get("error") {
            assert_eq!(error_code(result), *error, "{name}: {result}");
            continue;
        }
        let text = result
            .as_str()
            .unwrap_or_else(|| panic!("{name}: {result}"));
        let decoded: Value =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}: {text}"));
        assert_eq!(decoded, case["expected"], "{name}");
    }
}

#[tokio::test]
async fn records_from_the_confluent_serializers_decode_and_the_next_batch_makes_no_call() {
    let registry = Registry::start("", &[]);
    let engine = engine(&["--confluent-url", &registry.url()]).await;
    let cases = cases();
    assert!(cases.len() >= 30, "only {} cases", cases.len());
    for kind in ["avro", "protobuf", "json", "key", "customers", "raw"] {
        assert!(
            cases
                .iter()
                .any(|c| c["name"].as_str().unwrap().contains(kind)),
            "no {kind} case"
        );
    }
    let rows: Vec<Value> = cases.iter().map(row).collect();
    let results = common::handle_rows(&engine, &rows).await;
    check(&cases, &results);

    // Per distinct ID: the schema and its subject version; per reference, one call; the
    // streams' latest versions; the unknown ID once (then remembered as not found).
    let calls = registry.calls();
    let count = |prefix: &str| calls.iter().filter(|c| c.starts_with(prefix)).count();
    assert_eq!(count("GET /schemas/ids/9999"), 1, "{calls:#?}");
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.ends_with("/versions") && c.contains("/schemas/ids/"))
            .count(),
        calls
            .iter()
            .filter(|c| c.starts_with("GET /schemas/ids/") && !c.ends_with("/versions"))
            .count()
            - 1,
        "one subject lookup per found ID: {calls:#?}"
    );
    // References two levels deep, each fetched once although two schemas need them.
    assert_eq!(
        count("GET /subjects/shop.Customer/versions/1"),
        1,
        "{calls:#?}"
    );
    assert_eq!(
        count("GET /subjects/shop.Address/versions/1"),
        1,
        "{calls:#?}"
    );
    assert_eq!(
        count("GET /subjects/shop%2Fmoney.proto/versions/1"),
        1,
        "{calls:#?}"
    );
    assert!(
        !calls.iter().any(|c| c.contains("google")),
        "well-known imports come from the compiler: {calls:#?}"
    );

    registry.reset();
    let again = common::handle_rows(&engine, &rows).await;
    check(&cases, &again);
    assert_eq!(
        registry.calls(),
        Vec::<String>::new(),
        "a warm batch asks nothing"
    );
}

#[tokio::test]
async fn the_url_path_is_a_prefix_and_credentials_are_sent_but_never_shown() {
    let cases = cases();
    let framed: Vec<Value> = cases
        .iter()
        .filter(|c| c["call"].as_array().unwrap().is_empty() && c.get("error").is_none())
        .cloned()
        .collect();
    let rows: Vec<Value> = framed.iter().map(row).collect();

    let basic = Registry::start("/apis/ccompat/v7", &["--user-info", "fixture:s3cret-pass"]);
    let engine_ok = engine(&[
        "--confluent-url",
        &basic.url(),
        "--confluent-user-info",
        "fixture:s3cret-pass",
    ])
    .await;
    check(&framed, &common::handle_rows(&engine_ok, &rows).await);
    assert!(
        basic
            .calls()
            .iter()
            .all(|c| c.contains(" /apis/ccompat/v7/"))
    );

    let wrong = engine(&[
        "--confluent-url",
        &basic.url(),
        "--confluent-user-info",
        "fixture:wrong-pass",
    ])
    .await;
    let response = batch(&wrong, &rows[..1]).await;
    let text = response.to_string();
    assert_eq!(response["success"], false, "{text}");
    assert!(text.contains("HTTP 401"), "{text}");
    assert!(
        !text.contains("wrong-pass") && !text.contains("s3cret"),
        "{text}"
    );

    let bearer = Registry::start("", &["--bearer", "tok-123"]);
    let with_token = engine(&[
        "--confluent-url",
        &bearer.url(),
        "--confluent-bearer-token",
        "tok-123",
    ])
    .await;
    check(&framed, &common::handle_rows(&with_token, &rows).await);
    let without = engine(&["--confluent-url", &bearer.url()]).await;
    assert_eq!(batch(&without, &rows[..1]).await["success"], false);
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_and_outages_fail_the_batch() {
    let registry = Registry::start("", &[]);
    let case = cases()
        .into_iter()
        .find(|c| c["name"] == "confluent json clicks #0")
        .unwrap();
    let rows = [row(&case)];

    // 429 with Retry-After, then 503: retried within the lookup budget.
    let engine_a = engine(&["--confluent-url", &registry.url()]).await;
    registry.fault(json!({"status": 429, "times": 1, "retry_after": 1}));
    registry.fault(json!({"status": 503, "times": 1}));
    let started = std::time::Instant::now();
    check(
        std::slice::from_ref(&case),
        &common::handle_rows(&engine_a, &rows).await,
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(engine_a.schemas().stats().retries, 2);

    // A dropped connection is retried too.
    let engine_b = engine(&["--confluent-url", &registry.url()]).await;
    registry.fault(json!({"close": true, "times": 1}));
    check(
        std::slice::from_ref(&case),
        &common::handle_rows(&engine_b, &rows).await,
    );

    // A registry that keeps failing fails the batch (an environment error), within the
    // budget, rather than materializing error rows.
    let engine_c = engine(&[
        "--confluent-url",
        &registry.url(),
        "--registry-timeout-ms",
        "800",
    ])
    .await;
    registry.fault(json!({"status": 500, "times": 1000}));
    let response = batch(&engine_c, &rows).await;
    assert_eq!(response["success"], false, "{response}");
    assert!(response.to_string().contains("HTTP 500"), "{response}");
    registry.reset();

    // A slow registry times out.
    let engine_d = engine(&[
        "--confluent-url",
        &registry.url(),
        "--registry-timeout-ms",
        "300",
    ])
    .await;
    registry.fault(json!({"delay_ms": 2000, "times": 1000}));
    let response = batch(&engine_d, &rows).await;
    assert!(response.to_string().contains("timed out"), "{response}");
    registry.reset();

    // Nothing listening.
    let refused = format!("http://127.0.0.1:{}", free_port());
    let engine_e = engine(&["--confluent-url", &refused, "--registry-timeout-ms", "300"]).await;
    let response = batch(&engine_e, &rows).await;
    assert_eq!(response["success"], false, "{response}");
}

#[tokio::test]
async fn a_local_snapshot_answers_first_and_the_registry_only_on_a_miss() {
    let registry = Registry::start("", &[]);
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("registry.json")).unwrap())
            .unwrap();
    // A snapshot of the key subject, as a deployment would ship it.
    let snapshot = tempfile::tempdir().unwrap();
    let key_schema = state["schemas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == 2)
        .unwrap();
    let dir = snapshot.path().join("default-registry/orders-key");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("1.avsc"), key_schema["schema"].as_str().unwrap()).unwrap();
    std::fs::write(dir.join("ids.json"), r#"{"1": {"confluent": 2}}"#).unwrap();

    let engine = engine(&[
        "--schemas",
        &snapshot.path().display().to_string(),
        "--confluent-url",
        &registry.url(),
        "--source",
        "confluent",
    ])
    .await;
    let cases: Vec<Value> = cases()
        .into_iter()
        .filter(|c| c["name"].as_str().unwrap().contains("orders key"))
        .collect();
    assert!(cases.len() >= 4, "keys framed and by stream");
    let rows: Vec<Value> = cases.iter().map(row).collect();
    check(&cases, &common::handle_rows(&engine, &rows).await);
    assert_eq!(
        registry.calls(),
        Vec::<String>::new(),
        "the snapshot answered"
    );

    // A value record is not in the snapshot: the registry answers it.
    let value = cases_named("confluent avro orders value v1 #0");
    check(
        &value,
        &common::handle_rows(&engine, &[row(&value[0])]).await,
    );
    assert!(registry.calls().iter().any(|c| c == "GET /schemas/ids/1"));
}

fn cases_named(name: &str) -> Vec<Value> {
    cases().into_iter().filter(|c| c["name"] == name).collect()
}

#[tokio::test]
async fn records_read_in_the_latest_shape_of_their_subject() {
    let registry = Registry::start("", &[]);
    let engine = engine(&["--confluent-url", &registry.url(), "--reader", "latest"]).await;
    // orders-value v1 records gain v2's added field at its default.
    let v1 = cases_named("confluent avro orders value v1 #0");
    let v2 = cases_named("confluent avro orders value v2 #2");
    let results = common::handle_rows(&engine, &[row(&v1[0]), row(&v2[0])]).await;
    let first: Value = serde_json::from_str(results[0].as_str().unwrap()).unwrap();
    let second: Value = serde_json::from_str(results[1].as_str().unwrap()).unwrap();
    let v1_fields: Vec<&String> = v1[0]["expected"].as_object().unwrap().keys().collect();
    let v2_fields: Vec<&String> = second.as_object().unwrap().keys().collect();
    assert!(v2_fields.len() > v1_fields.len(), "v2 adds a field");
    let mut first_fields: Vec<&String> = first.as_object().unwrap().keys().collect();
    let mut expected_fields = v2_fields.clone();
    first_fields.sort();
    expected_fields.sort();
    assert_eq!(first_fields, expected_fields, "{first}");
    assert!(
        registry
            .calls()
            .iter()
            .any(|c| c == "GET /subjects/orders-value/versions/latest")
    );
}

#[tokio::test]
async fn an_unknown_subject_or_a_wrong_url_prefix_fails_the_batch_with_a_clear_message() {
    let registry = Registry::start("/apis/ccompat/v7", &[]);
    let raw = cases_named("raw orders-value latest (v2) by stream orders-raw");
    let overrides = r#"{"nowhere": {"framing": "raw"}}"#;
    let with_nowhere =
        Settings::from_flags(["--confluent-url", &registry.url(), "--streams", overrides])
            .unwrap()
            .engine()
            .await
            .unwrap();
    // Subject nowhere-value is not registered (404, 40401): a configuration error.
    let response = batch(&with_nowhere, &[json!(["nowhere", raw[0]["hex"]])]).await;
    assert_eq!(response["success"], false, "{response}");
    let message = response["error_msg"].as_str().unwrap();
    assert!(
        message.contains("subject 'nowhere-value' (latest) in the Confluent registry")
            && message.contains("does not exist"),
        "{message}"
    );

    // The prefix left out: the server answers 404 with no Confluent error code.
    let unprefixed = format!("http://127.0.0.1:{}", registry.port);
    let unprefixed = engine(&["--confluent-url", &unprefixed]).await;
    let framed = cases_named("confluent json clicks #0");
    let response = batch(&unprefixed, &[row(&framed[0])]).await;
    assert_eq!(response["success"], false, "{response}");
    assert!(
        response["error_msg"]
            .as_str()
            .unwrap()
            .contains("path prefix"),
        "{response}"
    );
}

#[tokio::test]
async fn a_stream_reads_an_id_shared_by_several_subjects_in_its_own_subjects_shape() {
    let registry = Registry::start("", &[]);
    // Register orders-value v1's schema under another subject too: the same ID, now
    // listed under both subjects, and that subject's latest is v1 itself.
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("registry.json")).unwrap())
            .unwrap();
    let v1 = state["schemas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == 1)
        .unwrap();
    let body = json!({"schema": v1["schema"]}).to_string();
    let (status, answer) = common::http(
        registry.port,
        "POST",
        "/subjects/aaa-archive-value/versions",
        &body,
    );
    assert_eq!(
        (
            status,
            answer.contains("\"id\": 1") || answer.contains("\"id\":1")
        ),
        (200, true),
        "{answer}"
    );

    // The ID's subjects as the registry lists them: the other subject first, so a reader
    // taken from the ID's first subject would be that subject's latest (v1).
    let (_, listed) = common::http(registry.port, "GET", "/schemas/ids/1/versions", "");
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed[0]["subject"], "aaa-archive-value", "{listed}");

    let engine = engine(&["--confluent-url", &registry.url(), "--reader", "latest"]).await;
    let v1_record = cases_named("confluent avro orders value v1 #0");
    let v2_record = cases_named("confluent avro orders value v2 #2");
    let mut by_stream = row(&v1_record[0]);
    by_stream.as_array_mut().unwrap().insert(0, json!("orders"));
    let results = common::handle_rows(&engine, &[by_stream, row(&v2_record[0])]).await;
    let keys = |result: &Value| {
        let parsed: Value = serde_json::from_str(result.as_str().unwrap()).unwrap();
        let mut keys: Vec<String> = parsed.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(
        keys(&results[0]),
        keys(&results[1]),
        "read as orders-value latest (v2)"
    );
    let calls = registry.calls();
    assert!(
        calls
            .iter()
            .any(|c| c == "GET /subjects/orders-value/versions/latest"),
        "{calls:#?}"
    );
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("GET") && c.contains("aaa-archive")),
        "{calls:#?}"
    );
}
