//! Arbitrary bytes → `parse_event`, the reader that borrows rows from the event text, beside
//! the reference reading of a JSON tree (`parse_event_value`): never a panic, the same
//! calls or the same error, and an accepted event has one call per row, argument for
//! argument.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use superdecode::pipeline::Call;
use superdecode::redshift::{EventError, parse_event, parse_event_value};

fuzz_target!(|data: &[u8]| {
    // Mode byte: 0 = the whole input is the event; 1 = the rest is the "arguments" value
    // (so the fuzzer spends its time on rows, not on finding the key).
    let (mode, rest) = match data.split_first() {
        Some((m, r)) => (*m, r),
        None => return,
    };
    let Ok(rest) = std::str::from_utf8(rest) else {
        return;
    };
    let text = if mode & 1 == 0 {
        rest.to_owned()
    } else {
        format!(r#"{{"request_id":"fuzz","arguments":{rest}}}"#)
    };
    let fast = parse_event(&text);
    let tree = serde_json::from_str::<Value>(&text);
    let reference = match &tree {
        Ok(event) => parse_event_value(event),
        Err(e) => Err(EventError::NotJson(e.to_string())),
    };
    assert_eq!(
        format!("{fast:?}"),
        format!("{reference:?}"),
        "the two readings disagree on {text:?}"
    );
    match fast {
        Ok((_, calls)) => {
            let event = tree.expect("an accepted event is JSON");
            let rows = event
                .get("arguments")
                .and_then(Value::as_array)
                .expect("an accepted event has an arguments array");
            assert_eq!(rows.len(), calls.len());
            for (row, call) in rows.iter().zip(&calls) {
                let args = row.as_array().map(Vec::len);
                match call {
                    Call::Null => assert!(row.is_null()),
                    Call::Framed { payload } => {
                        assert_eq!(args, Some(1));
                        assert_eq!(payload.as_deref(), row[0].as_str());
                    }
                    Call::Stream { stream, payload } => {
                        assert_eq!(args, Some(2));
                        assert_eq!(stream.as_deref(), row[0].as_str());
                        assert_eq!(payload.as_deref(), row[1].as_str());
                    }
                    Call::Named { names, payload } => {
                        assert_eq!(args, Some(3));
                        assert_eq!(names.registry.as_deref(), row[0].as_str());
                        assert_eq!(names.schema.as_deref(), row[1].as_str());
                        assert_eq!(payload.as_deref(), row[2].as_str());
                    }
                }
            }
        }
        Err(message) => assert!(
            message.to_string().starts_with("malformed event"),
            "{message}"
        ),
    }
});
