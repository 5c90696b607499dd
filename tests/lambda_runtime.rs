//! The real binary in Lambda mode, served by cargo-lambda's Runtime API emulator
//! (`cargo lambda watch --only-lambda-apis`), answering Redshift batches over HTTP.
//!
//! A second process of the function reads its schemas from the loopback Confluent
//! registry, with no local files.
//!
//! Needs `cargo-lambda` on PATH; `scripts/test.sh` installs the pinned version. Without it
//! this test fails, on purpose: it must not pass by skipping.

mod common;

use std::process::{Command, Stdio};

use common::{Running, free_port, http, wait_for_port};
use serde_json::{Value, json};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn post(port: u16, path: &str, body: &str) -> (u16, String) {
    http(port, "POST", path, body)
}

/// The binary in Lambda mode, polling the emulator on `port` as the function "_" (what
/// `--only-lambda-apis` serves), with `env` on top; its stdout (the log) piped.
fn start_function(port: u16, env: &[(&str, &str)]) -> Running {
    Running(
        Command::new(env!("CARGO_BIN_EXE_superdecode"))
            .current_dir(ROOT)
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{port}/.rt"),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

#[test]
fn the_binary_answers_redshift_batches_through_the_lambda_runtime_api() {
    let probe = Command::new("cargo").args(["lambda", "--version"]).output();
    assert!(
        probe.is_ok_and(|o| o.status.success()),
        "cargo-lambda is required for this test: run scripts/test.sh, which installs the pinned version"
    );
    let port = free_port();
    let emulator = Command::new("cargo")
        .args([
            "lambda",
            "watch",
            "--only-lambda-apis",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
        ])
        .arg(port.to_string())
        .current_dir(ROOT)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut emulator = Running(emulator);
    wait_for_port(port, &mut emulator, "cargo lambda watch");

    let mut function = start_function(
        port,
        &[
            ("SUPERDECODE_SCHEMAS", "schemas"),
            (
                "SUPERDECODE_STREAMS",
                "tests/fixtures/schemaless/streams.json",
            ),
        ],
    );
    // The function's stdout is its CloudWatch log: read it on a thread until it closes.
    let mut stdout = function.0.stdout.take().unwrap();
    let log = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).unwrap();
        text
    });
    let invoke = "/2015-03-31/functions/_/invocations";

    let event = std::fs::read_to_string(format!("{ROOT}/samples/redshift-event.json")).unwrap();
    let expected: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(format!("{ROOT}/samples/redshift-event.expected.json")).unwrap(),
    )
    .unwrap();
    let (status, body) = post(port, invoke, &event);
    assert_eq!(status, 200, "{body}");
    let response: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(response["success"], true, "{response}");
    let results = response["results"].as_array().unwrap();
    assert_eq!(results.len(), expected.len());
    for (i, (got, want)) in results
        .iter()
        .zip(&expected)
        .take(expected.len() - 1)
        .enumerate()
    {
        // Compared as JSON values: the Protobuf expectations come from Google's ProtoJSON,
        // whose key order differs from ours.
        let parse = |v: &Value| {
            v.as_str()
                .map(|t| serde_json::from_str::<Value>(t).unwrap())
        };
        assert_eq!(parse(got), parse(want), "row {i}");
    }
    assert!(
        results
            .last()
            .unwrap()
            .as_str()
            .unwrap()
            .contains("invalid_hex")
    );

    // MessagePack and CBOR streams (no registry): the fixtures' rows, one batch.
    let cases: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(format!("{ROOT}/tests/fixtures/schemaless/cases.json")).unwrap(),
    )
    .unwrap();
    let cases: Vec<&Value> = cases
        .iter()
        .filter(|c| c.get("expected").is_some())
        .collect();
    let rows: Vec<&Value> = cases.iter().map(|c| &c["args"]).collect();
    let event = json!({"num_records": rows.len(), "arguments": rows});
    let (status, body) = post(port, invoke, &event.to_string());
    assert_eq!(status, 200, "{body}");
    let response: Value = serde_json::from_str(&body).unwrap();
    for (case, got) in cases.iter().zip(response["results"].as_array().unwrap()) {
        assert_eq!(*got, case["expected"], "{}", case["name"]);
    }

    // The same process serves the next batch; a malformed one gets a clear failure.
    let (status, body) = post(port, invoke, &json!({"arguments": [[1]]}).to_string());
    assert_eq!(status, 200);
    let response: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(response["success"], false);
    assert!(
        response["error_msg"].as_str().unwrap().contains("VARCHAR"),
        "{response}"
    );

    // One JSON log line and EMF metric records per batch.
    drop(function);
    let log = log.join().unwrap();
    let lines: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let emf: Vec<&Value> = lines.iter().filter(|l| l.get("_aws").is_some()).collect();
    let batch = emf
        .iter()
        .find(|l| l["Records"] == expected.len() && l.get("ErrorCode").is_none())
        .unwrap_or_else(|| panic!("no EMF batch record in:\n{log}"));
    assert_eq!(batch["RecordErrors"], 1);
    assert_eq!(batch["BatchFailures"], 0);
    assert_eq!(
        batch["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "superdecode"
    );
    assert!(
        emf.iter()
            .any(|l| l["ErrorCode"] == "invalid_hex" && l["RecordErrors"] == 1)
    );
    assert!(
        emf.iter().any(|l| l["BatchFailures"] == 1),
        "the malformed batch counts as failed"
    );
    let info = lines
        .iter()
        .find(|l| l["fields"]["message"] == "batch" && l["fields"]["records"] == expected.len())
        .unwrap_or_else(|| panic!("no batch log line in:\n{log}"));
    assert_eq!(info["fields"]["request_id"], "5f0c3c7e-sample");
    assert_eq!(info["fields"]["record_errors"], 1);

    // A second function process, with no local files: schemas from the loopback Confluent
    // registry, records framed by confluent-kafka's serializers.
    let registry = common::Registry::start("", &[]);
    let url = registry.url();
    let _confluent_function = start_function(
        port,
        &[
            ("SUPERDECODE_CONFLUENT_URL", url.as_str()),
            (
                "SUPERDECODE_STREAMS",
                "tests/fixtures/confluent/streams.json",
            ),
        ],
    );
    let cases: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(common::confluent_fixtures().join("cases.json")).unwrap(),
    )
    .unwrap();
    let cases: Vec<&Value> = cases
        .iter()
        .filter(|c| c.get("expected").is_some())
        .collect();
    let rows: Vec<Value> = cases.iter().map(|c| common::confluent_row(c)).collect();
    let event = json!({"num_records": rows.len(), "arguments": rows});
    let (status, body) = post(port, invoke, &event.to_string());
    assert_eq!(status, 200, "{body}");
    let response: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(response["success"], true, "{response}");
    for (case, got) in cases.iter().zip(response["results"].as_array().unwrap()) {
        let got: Value = serde_json::from_str(got.as_str().unwrap()).unwrap();
        assert_eq!(got, case["expected"], "{}", case["name"]);
    }
    assert!(!registry.calls().is_empty());
}
