//! The event reader that borrows rows from the event text against the reference reading of
//! a JSON tree: the same calls and metadata, or the same error, for every event text.

use std::borrow::Cow;

use proptest::prelude::*;
use serde_json::Value;
use superdecode::pipeline::Call;
use superdecode::redshift::{EventError, parse_event, parse_event_value};

/// The reference: a JSON tree first, then the event read from it.
fn reference(text: &str) -> Result<String, EventError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| EventError::NotJson(e.to_string()))?;
    parse_event_value(&value).map(|parsed| format!("{parsed:?}"))
}

/// A JSON string literal for `s`, sometimes with every character escaped (so that the
/// reader cannot borrow it).
fn string_literal(s: &str, escape: bool) -> String {
    if escape {
        let mut out = String::from("\"");
        for unit in s.encode_utf16() {
            out.push_str(&format!("\\u{unit:04x}"));
        }
        out + "\""
    } else {
        serde_json::to_string(s).unwrap()
    }
}

fn text() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["", "orders", "0300ab", "é\"\\\n", "QUJD", "x y"]),
        any::<bool>(),
    )
        .prop_map(|(s, escape)| string_literal(s, escape))
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        Just("null".to_owned()),
        Just("true".to_owned()),
        prop::sample::select(vec![
            "0",
            "-0",
            "7",
            "-3",
            "1.5",
            "4",
            "18446744073709551615",
            "9223372036854775808",
            "1e400",
            "2e0",
        ])
        .prop_map(str::to_owned),
    ]
}

/// A value: mostly the shapes an event has, with every wrong shape in reach.
fn value() -> impl Strategy<Value = String> {
    scalar().prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5)
                .prop_map(|items| format!("[{}]", items.join(","))),
            prop::collection::vec((text(), inner), 0..3).prop_map(|entries| {
                let entries: Vec<String> = entries
                    .into_iter()
                    .map(|(k, v)| format!("{k}:{v}"))
                    .collect();
                format!("{{{}}}", entries.join(","))
            }),
        ]
    })
}

fn row() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::collection::vec(prop_oneof![4 => text(), 1 => Just("null".to_owned())], 1..4)
            .prop_map(|args| format!("[{}]", args.join(" , "))),
        1 => prop::collection::vec(text(), 0..6)
            .prop_map(|args| format!("[{}]", args.join(","))),
        1 => Just("null".to_owned()),
        1 => value(),
    ]
}

fn key() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "arguments",
            "num_records",
            "request_id",
            "query_id",
            "external_function",
            "cluster",
        ]),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(k, escape)| string_literal(k, escape))
}

fn event() -> impl Strategy<Value = String> {
    let entry = prop_oneof![
        3 => prop::collection::vec(row(), 0..6).prop_map(|rows| {
            format!("{}:[{}]", string_literal("arguments", false), rows.join(","))
        }),
        1 => (0u8..7).prop_map(|n| format!("{}:{n}", string_literal("num_records", false))),
        2 => (key(), prop_oneof![3 => scalar(), 1 => value()])
            .prop_map(|(k, v)| format!("{k}: {v}")),
    ];
    prop_oneof![
        8 => prop::collection::vec(entry, 0..6)
            .prop_map(|entries| format!("{{ {} }}", entries.join(","))),
        1 => value(),
        1 => Just("{\"arguments\": [[\"00\"]]".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4_000))]

    #[test]
    fn borrowed_reading_agrees_with_the_json_tree(text in event()) {
        let fast = parse_event(&text).map(|parsed| format!("{parsed:?}"));
        prop_assert_eq!(fast, reference(&text), "event: {}", text);
    }
}

#[test]
fn payloads_without_escapes_are_borrowed_from_the_event() {
    let text = r#"{"num_records":2,"arguments":[["orders","0300ab"],["o\u0072ders","00"]]}"#;
    let (_, calls) = parse_event(text).unwrap();
    let Call::Stream {
        stream: Some(Cow::Borrowed("orders")),
        payload: Some(Cow::Borrowed("0300ab")),
    } = &calls[0]
    else {
        panic!("not borrowed: {:?}", calls[0]);
    };
    // An escaped text cannot be borrowed; it is unescaped into its own string.
    assert!(matches!(
        &calls[1],
        Call::Stream { stream: Some(Cow::Owned(s)), .. } if s == "orders"
    ));
}

#[test]
fn num_records_reserves_no_more_than_the_event_can_hold() {
    // A hostile count fails the batch (it disagrees with the rows) without reserving
    // memory for it.
    let text = r#"{"num_records":18446744073709551615,"arguments":[["00"]]}"#;
    let err = parse_event(text).unwrap_err();
    assert!(
        matches!(err, EventError::RecordCount { rows: 1, .. }),
        "{err}"
    );
}
