//! The Redshift external-function contract (README, "The three call shapes" and "Errors"), through the pure handler.

use std::path::Path;

use serde_json::{Value, json};
use superdecode::config::Settings;
use superdecode::pipeline::Engine;
use superdecode::redshift::OnError;
use superdecode::redshift::{self, ResponsePolicy};

const SCHEMAS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schemas");

async fn engine(extra: &[&str]) -> Engine {
    let mut flags = vec!["--schemas", SCHEMAS, "--registry", "fixtures"];
    flags.extend_from_slice(extra);
    Settings::from_flags(flags).unwrap().engine().await.unwrap()
}

/// A real payload from the fixtures: the recursive list, Glue-framed.
fn glue_list_hex() -> String {
    let cases: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(Path::new(SCHEMAS).join("../cases.json")).unwrap(),
    )
    .unwrap();
    let case = cases
        .iter()
        .find(|c| c["name"] == "recursive list via glue")
        .unwrap();
    case["args"][0].as_str().unwrap().to_owned()
}

async fn handle(engine: &Engine, policy: OnError, event: Value) -> Value {
    let outcome = redshift::handle(
        engine,
        ResponsePolicy::new(policy),
        &event.to_string(),
        None,
    )
    .await;
    serde_json::to_value(&outcome.response).unwrap()
}

#[tokio::test]
async fn null_rows_and_null_payloads_give_null_and_keep_order() {
    let engine = engine(&[]).await;
    let hex = glue_list_hex();
    let event = json!({
        "request_id": "r", "cluster": "c", "user": "u", "database": "d",
        "external_function": "f", "query_id": 7, "num_records": 5,
        "arguments": [[hex], null, [null], ["linked_list", null], [hex]]
    });
    let response = handle(&engine, OnError::Object, event).await;
    assert_eq!(response["success"], true);
    assert_eq!(response["num_records"], 5);
    let results = response["results"].as_array().unwrap();
    let expected = r#"{"value":"a","next":{"value":"b","next":{"value":"c","next":null}}}"#;
    assert_eq!(results[0], expected);
    assert_eq!(results[1], Value::Null);
    assert_eq!(results[2], Value::Null);
    assert_eq!(results[3], Value::Null);
    assert_eq!(results[4], expected);
}

#[tokio::test]
async fn a_direct_test_invoke_needs_only_arguments() {
    let response = handle(
        &engine(&[]).await,
        OnError::Object,
        json!({"arguments": [[glue_list_hex()]]}),
    )
    .await;
    assert_eq!(response["success"], true, "{response}");
    assert_eq!(response["num_records"], 1);
}

#[tokio::test]
async fn malformed_events_fail_with_what_was_expected() {
    let engine = engine(&[]).await;
    let cases = [
        (json!([1, 2]), "expected a JSON object"),
        (json!({"num_records": 1}), "missing \"arguments\""),
        (json!({"arguments": "x"}), "must be an array of rows"),
        (
            json!({"arguments": [["a"]], "num_records": 2}),
            "num_records is 2 but \"arguments\" has 1 rows",
        ),
        (json!({"arguments": [[1]]}), "row 0: argument 1 is a number"),
        (
            json!({"arguments": [["a", "b", "c", "d"]]}),
            "row 0: 4 arguments",
        ),
        (json!({"arguments": [[]]}), "row 0: 0 arguments"),
        (
            json!({"arguments": ["abc"]}),
            "row 0: expected an array of arguments",
        ),
    ];
    for (event, message) in cases {
        let response = handle(&engine, OnError::Object, event.clone()).await;
        assert_eq!(response["success"], false, "{event}");
        let got = response["error_msg"].as_str().unwrap();
        assert!(got.contains(message), "{event}: {got}");
        assert!(got.starts_with("malformed event"), "{got}");
    }
}

#[tokio::test]
async fn record_error_policy() {
    let engine = engine(&[]).await;
    let event = json!({"arguments": [["zz"], [glue_list_hex()]]});
    let object = handle(&engine, OnError::Object, event.clone()).await;
    let error: Value = serde_json::from_str(object["results"][0].as_str().unwrap()).unwrap();
    assert_eq!(error["_decode_error"]["code"], "invalid_hex");
    assert!(object["results"][1].is_string());

    let null = handle(&engine, OnError::Null, event.clone()).await;
    assert_eq!(null["success"], true);
    assert_eq!(null["results"][0], Value::Null);
    assert!(null["results"][1].is_string());

    let fail = handle(&engine, OnError::Fail, event).await;
    assert_eq!(fail["success"], false);
    let message = fail["error_msg"].as_str().unwrap();
    assert!(
        message.contains("record 0") && message.contains("invalid_hex"),
        "{message}"
    );
}

#[tokio::test]
async fn a_missing_configured_schema_fails_the_batch_under_every_policy() {
    let engine = engine(&[]).await;
    for policy in [OnError::Object, OnError::Null, OnError::Fail] {
        let event = json!({"arguments": [["no_such_stream", "00"], ["fixtures", "nope", "00"]]});
        let response = handle(&engine, policy, event).await;
        assert_eq!(response["success"], false);
        let message = response["error_msg"].as_str().unwrap();
        assert!(message.contains("does not exist"), "{message}");
    }
}

#[tokio::test]
async fn a_null_name_argument_is_a_record_error() {
    let response = handle(
        &engine(&[]).await,
        OnError::Object,
        json!({"arguments": [[null, "00"]]}),
    )
    .await;
    let error: Value = serde_json::from_str(response["results"][0].as_str().unwrap()).unwrap();
    assert_eq!(error["_decode_error"]["code"], "invalid_argument");
}

#[tokio::test]
async fn results_over_the_size_limit_are_record_errors() {
    let engine = engine(&["--max-result-bytes", "40"]).await;
    let response = handle(
        &engine,
        OnError::Object,
        json!({"arguments": [[glue_list_hex()]]}),
    )
    .await;
    let error: Value = serde_json::from_str(response["results"][0].as_str().unwrap()).unwrap();
    assert_eq!(error["_decode_error"]["code"], "result_too_large");
}

#[tokio::test]
async fn bad_schema_directories_are_reported_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let schema_dir = dir.path().join("reg/orders");
    std::fs::create_dir_all(&schema_dir).unwrap();
    std::fs::write(schema_dir.join("v1.avsc"), "\"int\"").unwrap();
    let settings = Settings::from_flags(["--schemas", dir.path().to_str().unwrap()]).unwrap();
    let err = settings.engine().await.err().unwrap().to_string();
    assert!(err.contains("v1.avsc") && err.contains("layout"), "{err}");

    std::fs::remove_file(schema_dir.join("v1.avsc")).unwrap();
    std::fs::write(schema_dir.join("1.avsc"), "{\"type\":").unwrap();
    let err = settings.engine().await.err().unwrap().to_string();
    assert!(
        err.contains("1.avsc") && err.contains("invalid Avro schema"),
        "{err}"
    );

    std::fs::write(schema_dir.join("1.avsc"), "\"int\"").unwrap();
    std::fs::write(schema_dir.join("ids.json"), r#"{"2": {"confluent": 5}}"#).unwrap();
    let err = settings.engine().await.err().unwrap().to_string();
    assert!(err.contains("version \"2\" has no schema file"), "{err}");

    let missing = Settings::from_flags(["--schemas", "/nonexistent/superdecode"]).unwrap();
    assert!(
        missing
            .engine()
            .await
            .err()
            .unwrap()
            .to_string()
            .contains("does not exist")
    );
}

#[tokio::test]
async fn latest_is_the_highest_version_and_pins_resolve_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let schema_dir = dir.path().join("reg/s");
    std::fs::create_dir_all(&schema_dir).unwrap();
    std::fs::write(schema_dir.join("1.avsc"), "\"int\"").unwrap();
    std::fs::write(schema_dir.join("2.avsc"), "\"string\"").unwrap();
    std::fs::write(schema_dir.join("10.avsc"), "\"boolean\"").unwrap();
    std::fs::write(schema_dir.join("ids.json"), r#"{"2": {"confluent": 42}}"#).unwrap();
    let engine = Settings::from_flags([
        "--schemas",
        dir.path().to_str().unwrap(),
        "--registry",
        "reg",
    ])
    .unwrap()
    .engine()
    .await
    .unwrap();
    let event = json!({"arguments": [["s", "01"], ["000000002a0461620a"], ["000000002a046162"]]});
    let response = handle(&engine, OnError::Object, event).await;
    assert_eq!(response["results"][0], "true");
    let trailing: Value = serde_json::from_str(response["results"][1].as_str().unwrap()).unwrap();
    assert_eq!(trailing["_decode_error"]["code"], "trailing_bytes");
    assert_eq!(response["results"][2], "\"ab\"");
}

#[tokio::test]
async fn a_stream_configured_with_a_missing_protobuf_message_fails_the_batch() {
    let engine = engine(&[
        "--streams",
        r#"{"orders": {"schema": "shop", "message": "NoSuchMessage"}}"#,
    ])
    .await;
    let response = handle(
        &engine,
        OnError::Object,
        json!({"arguments": [["orders", "0a0161"]]}),
    )
    .await;
    assert_eq!(response["success"], false);
    let message = response["error_msg"].as_str().unwrap();
    assert!(
        message.contains("defines no message 'NoSuchMessage'"),
        "{message}"
    );

    let bad_config = Settings::from_flags([
        "--schemas",
        SCHEMAS,
        "--streams",
        r#"{"orders": {"shema": "x"}}"#,
    ])
    .unwrap()
    .engine()
    .await
    .err()
    .unwrap()
    .to_string();
    assert!(bad_config.contains("unknown field `shema`"), "{bad_config}");
}

#[tokio::test]
async fn base64_payloads_by_function_name_or_setting() {
    use base64::Engine as _;
    let hex = glue_list_hex();
    let b64 = base64::engine::general_purpose::STANDARD.encode(hex::decode(&hex).unwrap());
    let expected = r#"{"value":"a","next":{"value":"b","next":{"value":"c","next":null}}}"#;
    let event = |function: &str, payload: &str| json!({"external_function": function, "arguments": [[payload], [payload]]});
    let hex_engine = engine(&[]).await;
    // A *_b64 function reads base64 whatever the default; the name is case-insensitive.
    for function in ["f_superdecode_b64", "PUBLIC.F_SUPERDECODE_B64"] {
        let response = handle(&hex_engine, OnError::Object, event(function, &b64)).await;
        assert_eq!(response["results"][0], expected, "{function}");
        assert_eq!(response["results"][1], expected, "{function}");
    }
    // Other functions read hex, unless --input-encoding says base64.
    let response = handle(&hex_engine, OnError::Object, event("f_superdecode", &b64)).await;
    assert!(
        response["results"][0]
            .as_str()
            .unwrap()
            .contains("invalid_hex"),
        "{response}"
    );
    let base64_engine = engine(&["--input-encoding", "base64"]).await;
    let response = handle(
        &base64_engine,
        OnError::Object,
        event("f_superdecode", &b64),
    )
    .await;
    assert_eq!(response["results"][0], expected);
    let response = handle(
        &base64_engine,
        OnError::Object,
        event("f_superdecode", &hex),
    )
    .await;
    assert!(
        response["results"][0]
            .as_str()
            .unwrap()
            .contains("invalid_base64"),
        "{response}"
    );
}
