//! The built binary's command line, end to end, on the shipped schemas/ and samples/.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn superdecode(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_superdecode"))
        .args(args)
        .current_dir(ROOT)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("SUPERDECODE_SCHEMAS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/{path}")).unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Two JSON texts as values: the sample expectations for Protobuf come from Google's
/// ProtoJSON, whose key order differs from ours. (Exact text, decimals included, is
/// checked on the fixtures in tests/fixture_cases.rs.)
fn assert_same_json(got: &str, want: &str, context: &str) {
    let got: Value = serde_json::from_str(got).unwrap_or_else(|e| panic!("{context}: {e}: {got}"));
    let want: Value = serde_json::from_str(want).unwrap();
    assert_eq!(got, want, "{context}");
}

#[test]
fn invoke_replays_the_sample_event() {
    check_sample_event("samples/redshift-event.json", "invalid_hex");
}

#[test]
fn a_b64_function_reads_the_same_rows_as_base64() {
    // The same rows, base64-encoded by Python, called as f_superdecode_b64.
    check_sample_event("samples/redshift-event-b64.json", "invalid_base64");
}

#[test]
fn decode_reads_base64_with_input_encoding() {
    let event: Value = serde_json::from_str(&read("samples/redshift-event-b64.json")).unwrap();
    let payload = event["arguments"][0][1].as_str().unwrap();
    let expected: Vec<Value> =
        serde_json::from_str(&read("samples/redshift-event.expected.json")).unwrap();
    let args = [
        "decode",
        "--schemas",
        "schemas",
        "--stream",
        "clickstream",
        payload,
    ];
    let hex_read = superdecode(&args, None);
    assert!(
        stdout(&hex_read).contains("\"invalid_hex\""),
        "{}",
        stdout(&hex_read)
    );
    let mut base64_args = args.to_vec();
    base64_args.extend(["--input-encoding", "base64"]);
    let output = superdecode(&base64_args, None);
    assert!(output.status.success());
    assert_eq!(stdout(&output).trim_end(), expected[0].as_str().unwrap());
}

/// Invokes the sample event at `path` and checks every row against the expected results;
/// the deliberate dead letter must carry `dead_letter_code`.
fn check_sample_event(path: &str, dead_letter_code: &str) {
    let output = superdecode(&["invoke", "--schemas", "schemas", path], None);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let response: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let expected: Vec<Value> =
        serde_json::from_str(&read("samples/redshift-event.expected.json")).unwrap();
    assert_eq!(response["success"], true);
    assert_eq!(response["num_records"], expected.len());
    let results = response["results"].as_array().unwrap();
    for (i, (got, want)) in results.iter().zip(&expected).enumerate() {
        if want.is_null() && got.is_string() {
            // The sample's deliberate dead letter.
            let error: Value = serde_json::from_str(got.as_str().unwrap()).unwrap();
            assert_eq!(error["_decode_error"]["code"], dead_letter_code, "row {i}");
        } else if want.is_null() {
            assert!(got.is_null(), "row {i}: {got}");
        } else {
            assert_same_json(
                got.as_str().unwrap(),
                want.as_str().unwrap(),
                &format!("row {i}"),
            );
        }
    }
}

#[test]
fn decode_reads_stdin_lines_and_arguments() {
    let expected = read("samples/framed.expected.jsonl");
    let output = superdecode(
        &["decode", "--schemas", "schemas"],
        Some(&read("samples/framed.hex")),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let got = stdout(&output);
    assert_eq!(got.lines().count(), expected.lines().count());
    for (i, (got, want)) in got.lines().zip(expected.lines()).enumerate() {
        assert_same_json(got, want, &format!("line {i}"));
    }

    let hex = read("samples/framed.hex");
    let first = hex.lines().next().unwrap();
    let output = superdecode(&["decode", "--schemas", "schemas", first, "00"], None);
    let lines: Vec<String> = stdout(&output).lines().map(str::to_owned).collect();
    assert_same_json(&lines[0], expected.lines().next().unwrap(), "first payload");
    assert!(lines[1].contains("\"short_header\""), "{}", lines[1]);
    assert!(output.status.success());
}

#[test]
fn decode_answers_each_line_while_stdin_stays_open() {
    // A quiet producer: one line, and the pipe stays open. The answer must come before
    // more input does (no waiting for a full batch or the end of input).
    let hex = read("samples/framed.hex");
    let expected = read("samples/framed.expected.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_superdecode"))
        .args(["decode", "--schemas", "schemas"])
        .current_dir(ROOT)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let (sender, answers) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(stdout) {
            if sender.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    for (i, (line, want)) in hex.lines().zip(expected.lines()).take(3).enumerate() {
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        let got = answers
            .recv_timeout(std::time::Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no answer to line {i} while stdin is open"));
        assert_same_json(&got, want, &format!("line {i}"));
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn decode_with_a_stream_reads_raw_payloads_and_the_environment_twin_works() {
    let event: Value = serde_json::from_str(&read("samples/redshift-event.json")).unwrap();
    let raw = event["arguments"][0][1].as_str().unwrap().to_uppercase();
    let expected: Vec<Value> =
        serde_json::from_str(&read("samples/redshift-event.expected.json")).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_superdecode"))
        .args(["decode", "--stream", "clickstream", &raw])
        .current_dir(ROOT)
        .env("SUPERDECODE_SCHEMAS", "schemas")
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout(&output).trim_end(), expected[0].as_str().unwrap());
}

/// MessagePack and CBOR records through `decode --stream` and `invoke`, with no registry,
/// and an Avro-evolution reader through `decode --reader`.
#[test]
fn decode_and_invoke_read_msgpack_cbor_and_reader_shapes() {
    let cases: Vec<Value> =
        serde_json::from_str(&read("tests/fixtures/schemaless/cases.json")).unwrap();
    let streams = "tests/fixtures/schemaless/streams.json";
    let mut rows = Vec::new();
    let mut expected = Vec::new();
    for stream in ["events_msgpack", "events_cbor"] {
        let case = cases.iter().find(|c| c["args"][0] == stream).unwrap();
        let hex = case["args"][1].as_str().unwrap();
        let output = superdecode(
            &[
                "decode",
                "--schemas",
                "schemas",
                "--streams",
                streams,
                "--stream",
                stream,
                hex,
            ],
            None,
        );
        assert_eq!(stdout(&output).trim_end(), case["expected"], "{stream}");
        rows.push(case["args"].clone());
        expected.push(case["expected"].clone());
    }
    let event = serde_json::json!({"num_records": rows.len(), "arguments": rows}).to_string();
    let path = std::env::temp_dir().join(format!("superdecode-cli-{}.json", std::process::id()));
    std::fs::write(&path, event).unwrap();
    let output = superdecode(
        &[
            "invoke",
            "--schemas",
            "schemas",
            "--streams",
            streams,
            path.to_str().unwrap(),
        ],
        None,
    );
    let response: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(response["results"], Value::Array(expected));

    let evolution: Vec<Value> =
        serde_json::from_str(&read("tests/fixtures/evolution/cases.json")).unwrap();
    let case = evolution
        .iter()
        .find(|c| c["name"] == "orders v1 #0 framed, global reader")
        .unwrap();
    let schemas = "tests/fixtures/evolution/schemas";
    let args = [
        "decode",
        "--schemas",
        schemas,
        "--registry",
        "evolution",
        "--reader",
        "latest",
    ];
    let hex = case["args"][0].as_str().unwrap();
    let output = superdecode(&[&args[..], &[hex]].concat(), None);
    assert_eq!(stdout(&output).trim_end(), case["expected"]);
}

#[test]
fn environment_errors_exit_2_with_a_message() {
    let output = superdecode(
        &[
            "decode",
            "--schemas",
            "schemas",
            "--stream",
            "no_such_stream",
            "00",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("'no_such_stream'") && stderr.contains("does not exist"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());

    let output = superdecode(
        &["decode", "--schemas", "schemas", "--framing", "raw", "00"],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--framing raw needs --stream"));

    let output = superdecode(&["decode", "--schemas", "does-not-exist", "00"], None);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn invoke_of_a_malformed_event_prints_the_failure_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("event.json");
    std::fs::write(&path, r#"{"arguments": 5}"#).unwrap();
    let output = superdecode(
        &["invoke", "--schemas", "schemas", path.to_str().unwrap()],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    let response: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(response["success"], false);
    assert!(
        response["error_msg"]
            .as_str()
            .unwrap()
            .contains("\"arguments\" must be an array")
    );
}

#[test]
fn decode_honours_on_error() {
    let hex = read("samples/framed.hex");
    let first = hex.lines().next().unwrap();
    let good = superdecode(&["decode", "--schemas", "schemas", first], None);
    let good_line = stdout(&good);

    let null = superdecode(
        &[
            "decode",
            "--schemas",
            "schemas",
            "--on-error",
            "null",
            first,
            "00",
            first,
        ],
        None,
    );
    assert!(null.status.success());
    let lines: Vec<&str> = std::str::from_utf8(&null.stdout).unwrap().lines().collect();
    assert_eq!(lines, [good_line.trim(), "null", good_line.trim()]);

    let fail = superdecode(
        &[
            "decode",
            "--schemas",
            "schemas",
            "--on-error",
            "fail",
            first,
            "00",
            first,
        ],
        None,
    );
    assert_eq!(fail.status.code(), Some(1));
    assert_eq!(
        stdout(&fail).trim(),
        good_line.trim(),
        "stops at the bad payload"
    );
    let stderr = String::from_utf8_lossy(&fail.stderr);
    assert!(
        stderr.contains("payload 2") && stderr.contains("short_header"),
        "{stderr}"
    );
}

#[test]
fn commands_reject_the_flags_they_cannot_honour() {
    // The response limit applies to Redshift responses: `decode` prints lines.
    let decode = superdecode(
        &[
            "decode",
            "--schemas",
            "schemas",
            "--max-response-bytes",
            "100",
            "00",
        ],
        None,
    );
    assert_eq!(decode.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&decode.stderr).contains("--max-response-bytes"),
        "{}",
        String::from_utf8_lossy(&decode.stderr)
    );
    // Deeper than the decoders can follow on a worker thread's stack.
    let deep = superdecode(
        &["decode", "--schemas", "schemas", "--max-depth", "401", "00"],
        None,
    );
    assert_eq!(deep.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&deep.stderr).contains("expected a depth from 1 to 400"),
        "{}",
        String::from_utf8_lossy(&deep.stderr)
    );
    // `encode` writes payloads: no record errors, no limits, no cache.
    for flag in ["--on-error", "--max-result-bytes", "--latest-ttl-secs"] {
        let encode = superdecode(
            &[
                "encode",
                "--schemas",
                "schemas",
                "--schema",
                "orders",
                flag,
                "1",
                "{}",
            ],
            None,
        );
        assert_eq!(encode.status.code(), Some(2), "{flag}");
        assert!(
            String::from_utf8_lossy(&encode.stderr).contains(flag),
            "{flag}: {}",
            String::from_utf8_lossy(&encode.stderr)
        );
    }
}
