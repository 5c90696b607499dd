//! Arbitrary strings → the response writer (each result escaped once, eight bytes at a
//! time, into one buffer after the response's opening), beside serde_json writing the same
//! JSON tree: byte for byte the same text, copied (`to_json`) or closed in place
//! (`into_json`, the Lambda and `invoke` path), and a `Serialize` that yields the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use superdecode::redshift::{Response, Results};

fuzz_target!(|data: &[u8]| {
    // 0xFF never occurs in UTF-8, so it splits the input into rows; an empty row is NULL.
    let rows: Vec<Option<String>> = data
        .split(|&b| b == 0xff)
        .map(|row| (!row.is_empty()).then(|| String::from_utf8_lossy(row).into_owned()))
        .collect();
    let response = Response::Success(Results::from_rows(rows.iter().map(Option::as_deref)));
    let tree = serde_json::json!({"num_records": rows.len(), "results": rows, "success": true});
    let json = response.to_json();
    assert_eq!(json, tree.to_string());
    assert_eq!(response.clone().into_json(), json);
    let parsed: Value = serde_json::to_value(&response).expect("the response is JSON");
    assert_eq!(parsed, tree);
});
