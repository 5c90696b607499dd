//! Every fixture case (tests/fixtures/cases.json, made by independent encoders with
//! tests/fixtures/generate.py) through the Redshift handler, compared as exact JSON text.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};
use superdecode::config::Settings;
use superdecode::redshift::OnError;
use superdecode::redshift::{self, ResponsePolicy};

fn fixtures_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
}

fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(fixtures_dir().join("cases.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `--flag value` pairs for a case's mapping options.
fn option_flags(case: &Value) -> Vec<String> {
    let mut flags = vec![
        "--schemas".to_owned(),
        fixtures_dir().join("schemas").display().to_string(),
        "--registry".to_owned(),
        "fixtures".to_owned(),
        "--streams".to_owned(),
        fixtures_dir().join("streams.json").display().to_string(),
    ];
    if let Some(options) = case.get("options").and_then(Value::as_object) {
        for (key, value) in options {
            flags.push(format!("--{}", key.replace('_', "-")));
            flags.push(value.as_str().unwrap().to_owned());
        }
    }
    flags
}

#[tokio::test]
async fn every_fixture_case_decodes_as_documented() {
    let cases = cases();
    assert!(cases.len() >= 100, "only {} cases", cases.len());
    // One batch per option set, as Redshift would send them.
    let mut batches: BTreeMap<Vec<String>, Vec<&Value>> = BTreeMap::new();
    for case in &cases {
        batches.entry(option_flags(case)).or_default().push(case);
    }
    let mut checked = 0;
    for (flags, cases) in batches {
        let settings = Settings::from_flags(&flags).unwrap();
        let engine = settings.engine().await.unwrap();
        let rows: Vec<&Value> = cases.iter().map(|c| &c["args"]).collect();
        let event = json!({"request_id": "fixtures", "num_records": rows.len(), "arguments": rows});
        let outcome = redshift::handle(
            &engine,
            ResponsePolicy::new(OnError::Object),
            &event.to_string(),
            None,
        )
        .await;
        let response = serde_json::to_value(&outcome.response).unwrap();
        assert_eq!(response["success"], true, "{flags:?}: {response}");
        assert_eq!(response["num_records"], cases.len());
        let results = response["results"].as_array().unwrap();
        for (case, result) in cases.iter().zip(results) {
            let name = case["name"].as_str().unwrap();
            let text = result
                .as_str()
                .unwrap_or_else(|| panic!("{name}: null result"));
            match (case.get("expected"), case.get("error")) {
                // Protobuf expectations come from Google's ProtoJSON, whose field order and
                // number spelling differ from ours: compare them as JSON values. Avro and
                // JSON-format expectations are compared as exact text (decimals!).
                (Some(expected), None) if case["compare"] == "json" => {
                    let got: Value = serde_json::from_str(text)
                        .unwrap_or_else(|e| panic!("{name}: {e}: {text}"));
                    let want: Value = serde_json::from_str(expected.as_str().unwrap()).unwrap();
                    assert_eq!(got, want, "case {name:?}");
                }
                (Some(expected), None) => {
                    assert_eq!(text, expected.as_str().unwrap(), "case {name:?}")
                }
                (None, Some(code)) => {
                    let parsed: Value = serde_json::from_str(text).unwrap();
                    assert_eq!(
                        parsed["_decode_error"]["code"], *code,
                        "case {name:?}: {text}"
                    );
                    assert!(
                        parsed["_decode_error"]["message"].as_str().unwrap().len() > 10,
                        "{name:?}"
                    );
                }
                _ => panic!("case {name:?} has neither expected nor error"),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, cases.len());
}
