use std::sync::atomic::AtomicU64;

use super::*;

/// DESIGN.md's example: B=0, B.A=1, B.A.D=2, B.C=3 (sorted by full name, nested included).
const NESTED: &str = r#"
syntax = "proto3";
message B {
  message A { message D { int32 d = 1; } int32 a = 1; }
  message C { int32 c = 1; }
  int32 b = 1;
}
"#;

fn decoder(proto: &str) -> ProtobufDecoder {
    ProtobufDecoder::new(proto, &JsonOptions::default()).unwrap()
}

fn decode(
    decoder: &ProtobufDecoder,
    wire: WireFormat,
    message: Option<&str>,
    body: &[u8],
) -> Result<String, RecordError> {
    let unknown = AtomicU64::new(0);
    let ctx = DecodeContext {
        wire,
        message,
        unknown_fields: &unknown,
        ..DecodeContext::default()
    };
    let mut out = String::new();
    decoder.decode(body, &ctx, &mut out).map(|()| out)
}

#[test]
fn glue_indexes_follow_sorted_full_names() {
    let d = decoder(NESTED);
    let names: Vec<&str> = d.sorted.iter().map(|m| m.full_name()).collect();
    assert_eq!(names, ["B", "B.A", "B.A.D", "B.C"]);
    // Field 1 = 7 in each message; the index picks which field name appears.
    for (index, key) in [(0u8, "b"), (1, "a"), (2, "d"), (3, "c")] {
        let out = decode(&d, WireFormat::Glue, None, &[index, 0x08, 0x07]).unwrap();
        assert_eq!(out, format!("{{\"{key}\":7}}"));
    }
    let err = decode(&d, WireFormat::Glue, None, &[4, 0x08, 0x07]).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidMessageIndex);
}

#[test]
fn confluent_paths_walk_nested_messages_in_declaration_order() {
    let d = decoder(NESTED);
    // Single 00: [0] = B.
    assert_eq!(
        decode(&d, WireFormat::Confluent, None, &[0x00, 0x08, 0x07]).unwrap(),
        r#"{"b":7}"#
    );
    // Count 3 (zigzag 6), path [0, 0, 0] = B.A.D.
    assert_eq!(
        decode(
            &d,
            WireFormat::Confluent,
            None,
            &[0x06, 0, 0, 0, 0x08, 0x07]
        )
        .unwrap(),
        r#"{"d":7}"#
    );
    // Count 2 (zigzag 4), path [0, 1] = B.C.
    assert_eq!(
        decode(
            &d,
            WireFormat::Confluent,
            None,
            &[0x04, 0x00, 0x02, 0x08, 0x07]
        )
        .unwrap(),
        r#"{"c":7}"#
    );
    let err = decode(&d, WireFormat::Confluent, None, &[0x02, 0x02, 0x08, 0x07]).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidMessageIndex);
    assert!(err.message.contains("[1]"), "{}", err.message);
    // A negative count (zigzag 1 = -1) names nothing.
    let err = decode(&d, WireFormat::Confluent, None, &[0x01, 0x08, 0x07]).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidMessageIndex);
}

#[test]
fn raw_uses_the_configured_message_or_the_first_declared() {
    let d = decoder(
        "syntax = \"proto3\"; package p; message First { int32 x = 1; } message Second { string y = 1; }",
    );
    assert_eq!(
        decode(&d, WireFormat::Raw, None, &[0x08, 0x01]).unwrap(),
        r#"{"x":1}"#
    );
    assert_eq!(
        decode(&d, WireFormat::Raw, Some("Second"), &[0x0a, 0x01, b'z']).unwrap(),
        r#"{"y":"z"}"#
    );
    assert_eq!(
        decode(&d, WireFormat::Raw, Some("p.Second"), &[0x0a, 0x01, b'z']).unwrap(),
        r#"{"y":"z"}"#
    );
    assert!(d.knows_message("p.First") && d.knows_message("Second") && !d.knows_message("Third"));
}

#[test]
fn unknown_fields_are_dropped_and_counted() {
    let d = decoder("syntax = \"proto3\"; message M { int32 x = 1; }");
    let unknown = AtomicU64::new(0);
    let ctx = DecodeContext {
        unknown_fields: &unknown,
        ..DecodeContext::default()
    };
    let mut out = String::new();
    // x = 1, then field 9 (varint 5) and field 10 (length-delimited "ab").
    d.decode(
        &[0x08, 0x01, 0x48, 0x05, 0x52, 0x02, b'a', b'b'],
        &ctx,
        &mut out,
    )
    .unwrap();
    assert_eq!(out, r#"{"x":1}"#);
    assert_eq!(unknown.load(Ordering::Relaxed), 2);
}

#[test]
fn schema_problems_are_reported() {
    let err = ProtobufDecoder::new(
        "syntax = \"proto3\"; message M { int32 x = 1",
        &JsonOptions::default(),
    )
    .err()
    .unwrap();
    assert!(err.contains("invalid Protobuf schema"), "{err}");
    let err = ProtobufDecoder::new(
        "syntax = \"proto3\"; enum E { A = 0; }",
        &JsonOptions::default(),
    )
    .err()
    .unwrap();
    assert!(err.contains("no message"), "{err}");
    let err = ProtobufDecoder::new(
        "syntax = \"proto3\"; import \"missing.proto\"; message M {}",
        &JsonOptions::default(),
    )
    .err()
    .unwrap();
    assert!(err.contains("missing.proto"), "{err}");
}

#[test]
fn results_over_the_limit_stop_early() {
    let d = decoder("syntax = \"proto3\"; message M { repeated string s = 1; }");
    let mut body = Vec::new();
    for _ in 0..1000 {
        body.extend_from_slice(&[0x0a, 0x03, b'a', b'b', b'c']);
    }
    let ctx = DecodeContext {
        max_result_bytes: 100,
        ..DecodeContext::default()
    };
    let mut out = String::new();
    let err = d.decode(&body, &ctx, &mut out).unwrap_err();
    assert_eq!(err.code, ErrorCode::ResultTooLarge);
}
