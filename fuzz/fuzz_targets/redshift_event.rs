//! Arbitrary bytes → JSON → `parse_event`: must never panic, and an accepted event has one
//! call per row.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use superdecode::pipeline::Call;

fuzz_target!(|data: &[u8]| {
    // Mode byte: 0 = the whole input is the event; 1 = the rest is the "arguments" value
    // (so the fuzzer spends its time on rows, not on finding the key).
    let (mode, rest) = match data.split_first() {
        Some((m, r)) => (*m, r),
        None => return,
    };
    let Ok(parsed) = serde_json::from_slice::<Value>(rest) else {
        return;
    };
    let event = if mode & 1 == 0 {
        parsed
    } else {
        serde_json::json!({ "arguments": parsed })
    };
    match superdecode::redshift::parse_event(&event) {
        Ok((_, calls)) => {
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
                    Call::Named {
                        registry,
                        schema,
                        payload,
                    } => {
                        assert_eq!(args, Some(3));
                        assert_eq!(registry.as_deref(), row[0].as_str());
                        assert_eq!(schema.as_deref(), row[1].as_str());
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
