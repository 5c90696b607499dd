use std::sync::atomic::AtomicU64;

use super::*;

/// The README's example: B=0, B.A=1, B.A.D=2, B.C=3 (sorted by full name, nested included).
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
    selector: MessageSelector,
    message: Option<&str>,
    body: &[u8],
) -> Result<String, RecordError> {
    let unknown = AtomicU64::new(0);
    let ctx = DecodeContext {
        selector,
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
        let out = decode(&d, MessageSelector::GlueIndex, None, &[index, 0x08, 0x07]).unwrap();
        assert_eq!(out, format!("{{\"{key}\":7}}"));
    }
    let err = decode(&d, MessageSelector::GlueIndex, None, &[4, 0x08, 0x07]).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidMessageIndex);
}

#[test]
fn confluent_paths_walk_nested_messages_in_declaration_order() {
    let d = decoder(NESTED);
    // Single 00: [0] = B.
    assert_eq!(
        decode(
            &d,
            MessageSelector::ConfluentPath,
            None,
            &[0x00, 0x08, 0x07]
        )
        .unwrap(),
        r#"{"b":7}"#
    );
    // Count 3 (zigzag 6), path [0, 0, 0] = B.A.D.
    assert_eq!(
        decode(
            &d,
            MessageSelector::ConfluentPath,
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
            MessageSelector::ConfluentPath,
            None,
            &[0x04, 0x00, 0x02, 0x08, 0x07]
        )
        .unwrap(),
        r#"{"c":7}"#
    );
    let err = decode(
        &d,
        MessageSelector::ConfluentPath,
        None,
        &[0x02, 0x02, 0x08, 0x07],
    )
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidMessageIndex);
    assert!(err.message.contains("[1]"), "{}", err.message);
    // A negative count (zigzag 1 = -1) names nothing.
    let err = decode(
        &d,
        MessageSelector::ConfluentPath,
        None,
        &[0x01, 0x08, 0x07],
    )
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidMessageIndex);
}

#[test]
fn raw_uses_the_configured_message_or_the_first_declared() {
    let d = decoder(
        "syntax = \"proto3\"; package p; message First { int32 x = 1; } message Second { string y = 1; }",
    );
    assert_eq!(
        decode(&d, MessageSelector::Configured, None, &[0x08, 0x01]).unwrap(),
        r#"{"x":1}"#
    );
    assert_eq!(
        decode(
            &d,
            MessageSelector::Configured,
            Some("Second"),
            &[0x0a, 0x01, b'z']
        )
        .unwrap(),
        r#"{"y":"z"}"#
    );
    assert_eq!(
        decode(
            &d,
            MessageSelector::Configured,
            Some("p.Second"),
            &[0x0a, 0x01, b'z']
        )
        .unwrap(),
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
    .unwrap()
    .to_string();
    assert!(err.contains("invalid Protobuf schema"), "{err}");
    let err = ProtobufDecoder::new(
        "syntax = \"proto3\"; enum E { A = 0; }",
        &JsonOptions::default(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("no message"), "{err}");
    let err = ProtobufDecoder::new(
        "syntax = \"proto3\"; import \"missing.proto\"; message M {}",
        &JsonOptions::default(),
    )
    .err()
    .unwrap()
    .to_string();
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

fn ctx_with_depth(max_depth: usize) -> DecodeContext<'static> {
    DecodeContext {
        max_depth,
        max_result_bytes: 1 << 30,
        ..DecodeContext::default()
    }
}

fn ld(number: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    varint::write(&mut out, u64::from(number << 3 | 2));
    varint::write(&mut out, payload.len() as u64);
    out.extend_from_slice(payload);
    out
}

const ENVELOPE: &str = r#"
syntax = "proto2";
package deep;
import "google/protobuf/any.proto";
import "google/protobuf/struct.proto";
message Envelope {
  optional string id = 1;
  optional google.protobuf.Any payload = 2;
  optional Envelope child = 3;
  optional group G = 4 { optional G2 inner = 5; }
  message G2 { optional group G = 4 { optional G2 inner = 5; } }
  optional google.protobuf.Value value = 6;
}
"#;

/// An Envelope whose Any holds an Envelope, `levels` times: 2 levels each.
fn nested_any(levels: usize) -> Vec<u8> {
    let mut body = ld(1, b"leaf");
    for _ in 0..levels {
        let any = [ld(1, b"type.googleapis.com/deep.Envelope"), ld(2, &body)].concat();
        body = [ld(1, b"x"), ld(2, &any)].concat();
    }
    body
}

fn depth_result(body: &[u8], max_depth: usize) -> Result<String, RecordError> {
    let d = decoder(ENVELOPE);
    let mut out = String::new();
    d.decode(body, &ctx_with_depth(max_depth), &mut out)
        .map(|()| out)
}

#[test]
fn every_recursive_path_counts_against_one_depth_limit() {
    // Messages: the record is level 1, each child one more.
    let mut child = ld(1, b"leaf");
    for _ in 0..9 {
        child = ld(3, &child);
    }
    assert!(depth_result(&child, 10).is_ok());
    assert_eq!(
        depth_result(&child, 9).unwrap_err().code,
        ErrorCode::NestingTooDeep
    );
    // Any: the Any and its payload are a level each.
    let any = nested_any(3);
    assert!(depth_result(&any, 7).is_ok());
    let err = depth_result(&any, 6).unwrap_err();
    assert_eq!(err.code, ErrorCode::NestingTooDeep);
    assert!(
        err.message.contains("deeper than 6 levels"),
        "{}",
        err.message
    );
    // Groups (start tag 0x23, end tag 0x24), inside messages inside groups.
    let mut g2 = Vec::new();
    for _ in 0..5 {
        g2 = [&[0x23][..], &ld(5, &g2), &[0x24]].concat(); // G2 { group G { inner: g2 } }
    }
    let group = [&[0x23][..], &ld(5, &g2), &[0x24]].concat();
    // Envelope, its group G, G's inner G2, then a group and a G2 per repetition.
    let levels = 3 + 5 * 2;
    assert!(
        depth_result(&group, levels).is_ok(),
        "{:?}",
        depth_result(&group, levels)
    );
    assert_eq!(
        depth_result(&group, levels - 1).unwrap_err().code,
        ErrorCode::NestingTooDeep
    );
    // Value → ListValue → Value ...: each message a level.
    let mut value = ld(3, b"s"); // string_value
    for _ in 0..10 {
        value = ld(6, &ld(1, &value)); // list_value { values: [value] }
    }
    let record = ld(6, &value);
    assert!(depth_result(&record, 1 + 21).is_ok());
    assert_eq!(
        depth_result(&record, 21).unwrap_err().code,
        ErrorCode::NestingTooDeep
    );
    // An unknown group nested past the limit is refused while it is skipped.
    let mut unknown = Vec::new();
    for _ in 0..50 {
        unknown = [&[0xbb, 0x06][..], &unknown, &[0xbc, 0x06]].concat(); // field 103
    }
    assert_eq!(
        depth_result(&unknown, 20).unwrap_err().code,
        ErrorCode::NestingTooDeep
    );
    assert!(depth_result(&unknown, 60).is_ok());
}

#[test]
fn a_deep_any_chain_is_refused_quickly_on_a_small_stack_whatever_the_setting() {
    // 10,000 Envelopes, each in the Any of the previous: 900 KB of hex. Decoded on a
    // 2 MiB stack (tokio's worker default) with the limit set far beyond it.
    let body = nested_any(10_000);
    let result = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || depth_result(&body, 1_000_000))
        .unwrap()
        .join()
        .unwrap();
    let err = result.unwrap_err();
    assert_eq!(err.code, ErrorCode::NestingTooDeep);
    assert!(err.message.contains("at most 400"), "{}", err.message);
}

#[test]
fn a_known_field_with_the_wrong_wire_type_is_an_unknown_field() {
    let d = decoder("syntax = \"proto3\"; message M { int32 x = 1; string s = 2; }");
    let unknown = AtomicU64::new(0);
    let ctx = DecodeContext {
        unknown_fields: &unknown,
        ..DecodeContext::default()
    };
    let mut out = String::new();
    // x length-delimited, s as a varint, then s properly.
    let body = [ld(1, b"\x05"), vec![0x10, 0x01], ld(2, b"ok")].concat();
    d.decode(&body, &ctx, &mut out).unwrap();
    assert_eq!(out, r#"{"x":0,"s":"ok"}"#);
    assert_eq!(unknown.load(Ordering::Relaxed), 2);
}

#[test]
fn hostile_lengths_and_tags_are_record_errors() {
    let d = decoder(ENVELOPE);
    for body in [
        &[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f][..], // length 4 GiB, 0 bytes follow
        &[
            0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ],
        &[0x00, 0x00],       // field number 0
        &[0x0e],             // wire type 6
        &[0x24],             // end group with no start
        &[0x23, 0x08],       // group without end, truncated varint
        &[0x23, 0x2c],       // group 4 ended by field 5's end tag
        &[0x80, 0x80, 0x80], // truncated tag
    ] {
        let mut out = String::new();
        let err = d
            .decode(body, &DecodeContext::default(), &mut out)
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::DecodeFailed, "{body:02x?}: {err}");
    }
}

#[test]
fn decoding_errors_name_the_field_they_happened_in() {
    let d = decoder(
        "syntax = \"proto3\"; message M { repeated N ns = 1; } message N { O o = 1; } message O { string s = 1; }",
    );
    // ns[0] fine, ns[1].o.s invalid UTF-8.
    let bad = ld(1, &ld(1, &ld(1, b"\xff")));
    let body = [ld(1, &ld(1, &ld(1, b"ok"))), bad].concat();
    let mut out = String::new();
    let err = d
        .decode(&body, &DecodeContext::default(), &mut out)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidUtf8);
    assert!(err.message.starts_with("at ns[1].o.s: "), "{}", err.message);
    // A truncated nested length.
    let body = ld(1, &[0x0a, 0x05, 0x0a]);
    let err = d
        .decode(&body, &DecodeContext::default(), &mut out)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::DecodeFailed);
    assert!(
        err.message.contains("at ns[0]: truncated"),
        "{}",
        err.message
    );
}
