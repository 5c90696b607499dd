//! The Protobuf decoder against independent implementations:
//!
//! * random `TestAllTypesProto3` messages (protobuf v21.5's conformance schema) made and
//!   printed by Google's Python runtime (`tests/fixtures/random_proto3.py`, fixed seed),
//!   compared as JSON values with superdecode's output in two option sets; a third of the
//!   records are two messages concatenated (protobuf's merge), a fifth carry known fields
//!   with the wrong wire type, and those Google's printer refuses must be refused;
//! * the same messages, and every Protobuf fixture case, decoded again by the reference
//!   path (`prost-reflect`'s `DynamicMessage` written with the same mapping), compared as
//!   exact text, so the wire decoder keeps the field order and spelling byte for byte.
//!
//! `scripts/test.sh` runs the generator and points `SUPERDECODE_RANDOM_PROTO3` at its
//! output. Without that file the random test fails when `CI` is set; elsewhere it says
//! loudly that it did not run.
//!
//! Deliberate differences from Google's `MessageToDict`, handled here and nowhere else:
//!
//! * numbers are compared as numbers (`3` and `3.0` are the same JSON number; Python
//!   writes integral `Struct` numbers as integers);
//! * superdecode writes 64-bit integers as numbers by default; both option sets here use
//!   `--int64 string`, ProtoJSON's spelling, so the values compare exactly (numbers past
//!   2^53 would not survive an f64 comparison);
//! * NaN and ±Infinity: `--non-finite string`, ProtoJSON's spelling (the default, `null`,
//!   is covered by the fixture cases);
//! * map keys: superdecode sorts them; JSON objects compare without order here;
//! * `float` values are compared as f32: Python prints the first precision from 6 digits
//!   up that reads back as the same float (`1.4013e-45`), superdecode the shortest one
//!   (`1e-45`).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicU64;

use clap::ValueEnum;
use serde_json::Value;
use superdecode::decode::protobuf::{
    EnumEncoding, FieldNames, PresenceDefaults, ProtobufDecoder, ProtobufOptions,
};
use superdecode::decode::{DecodeContext, JsonOptions, NumberOrString, RecordDecoder};
use superdecode::frame::{FrameLimits, Framing, WireFormat, decode_hex, unframe};
use superdecode::json_text::NonFinite;

const MESSAGE: &str = "protobuf_test_messages.proto3.TestAllTypesProto3";

fn decode(
    decoder: &ProtobufDecoder,
    body: &[u8],
    wire: WireFormat,
    message: Option<&str>,
    reference: bool,
) -> Result<String, superdecode::error::RecordError> {
    let unknown = AtomicU64::new(0);
    let ctx = DecodeContext {
        selector: wire.message_selector(),
        message,
        unknown_fields: &unknown,
        ..DecodeContext::default()
    };
    let mut out = String::new();
    if reference {
        decoder.decode_reference(body, &ctx, &mut out)?;
        return Ok(out);
    }
    let decoded = decoder.decode(body, &ctx, &mut out);
    if let Err(why) = common::literal_agrees(decoder, body, &ctx, &decoded, &out) {
        panic!("{why}\nbody: {}", hex::encode(body));
    }
    decoded.map(|()| out)
}

/// JSON equality with numbers compared by value.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(p), Some(q), _, _) => p == q,
                (_, _, Some(p), Some(q)) => p == q,
                _ => match (x.as_f64(), y.as_f64()) {
                    // `float` fields: Python prints the first precision from 6 digits up that
                    // reads back as the same f32 (1.4013e-45), superdecode the shortest such
                    // decimal (1e-45): the same f32.
                    (Some(p), Some(q)) => p == q || (p as f32 == q as f32 && p as f32 != 0.0),
                    _ => false,
                },
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn random_messages_match_googles_python_json() {
    let Some(path) = std::env::var_os("SUPERDECODE_RANDOM_PROTO3") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "SUPERDECODE_RANDOM_PROTO3 is not set: scripts/test.sh generates the random messages"
        );
        eprintln!(
            "NOT RUN: random_messages_match_googles_python_json needs SUPERDECODE_RANDOM_PROTO3 \
             (scripts/test.sh sets it)"
        );
        return;
    };
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", Path::new(&path).display()));
    let data: Value = serde_json::from_str(&text).unwrap();
    let proto = data["proto"].as_str().unwrap();
    let common = JsonOptions {
        non_finite: NonFinite::String,
        protobuf: ProtobufOptions {
            int64: NumberOrString::String,
            ..ProtobufOptions::default()
        },
        ..JsonOptions::default()
    };
    let product = ProtobufDecoder::new(proto, &common).unwrap();
    let protojson = ProtobufDecoder::new(
        proto,
        &JsonOptions {
            protobuf: ProtobufOptions {
                field_names: FieldNames::Json,
                defaults: PresenceDefaults::Omit,
                enums: EnumEncoding::Name,
                ..common.protobuf.clone()
            },
            ..common.clone()
        },
    )
    .unwrap();
    let cases = data["cases"].as_array().unwrap();
    assert!(cases.len() >= 1000, "only {} random messages", cases.len());
    let (mut compared, mut refused, mut merged, mut wrong_wire) = (0, 0, 0, 0);
    for (i, case) in cases.iter().enumerate() {
        let body = hex::decode(case["hex"].as_str().unwrap()).unwrap();
        merged += usize::from(case.get("merged").is_some());
        if let Some(why) = case.get("error") {
            // Google's printer refuses these bytes; so must superdecode.
            for decoder in [&product, &protojson] {
                let result = decode(decoder, &body, WireFormat::Raw, Some(MESSAGE), false);
                let err =
                    result.expect_err(&format!("message {i}: MessageToDict refuses it ({why})"));
                assert_eq!(err.code.as_str(), "decode_failed", "message {i}: {err}");
            }
            refused += 1;
            continue;
        }
        for (decoder, key) in [(&product, "product"), (&protojson, "protojson")] {
            let got = decode(decoder, &body, WireFormat::Raw, Some(MESSAGE), false)
                .unwrap_or_else(|e| panic!("message {i} ({key}): {e}"));
            let got_value: Value = serde_json::from_str(&got)
                .unwrap_or_else(|e| panic!("message {i} ({key}): {e}: {got}"));
            assert!(
                same(&got_value, &case[key]),
                "message {i} ({key}) differs from MessageToDict\n ours: {got}\n want: {}",
                case[key]
            );
            compared += 1;
        }
        // The reference path prints the same text, where it is not itself wrong: it drops
        // -0.0 when defaults are omitted, so only the option set that emits defaults.
        // prost-reflect rejects a known field with the wrong wire type: no reference there.
        let reference = decode(&product, &body, WireFormat::Raw, Some(MESSAGE), true);
        if case.get("wrong_wire_type").is_some() {
            assert!(
                reference.is_err(),
                "message {i}: the reference accepted a wrong wire type"
            );
            wrong_wire += 1;
            continue;
        }
        let reference = reference.unwrap_or_else(|e| panic!("message {i} (reference): {e}"));
        let ours = decode(&product, &body, WireFormat::Raw, Some(MESSAGE), false).unwrap();
        assert_eq!(
            ours, reference,
            "message {i}: wire decoder vs DynamicMessage"
        );
    }
    assert!(
        merged >= 300 && wrong_wire >= 200,
        "{merged} merged, {wrong_wire} wrong wire types"
    );
    eprintln!(
        "{} random records ({merged} merged from two messages, {wrong_wire} with wrong wire types): \
         {compared} JSON comparisons with MessageToDict, {refused} refused by both",
        cases.len()
    );
}

/// The fixture cases the reference path gets wrong (the defects the wire decoder fixes).
const REFERENCE_DEFECTS: &[&str] = &[
    "protobuf known field with wrong wire type dropped",
    "protobuf known field with wrong wire type dropped in a nested message",
    "protobuf negative zero kept when defaults are omitted",
    "protobuf duration above ProtoJSON's range",
    "protobuf duration below ProtoJSON's range",
    "protobuf field mask path in camelCase",
    "protobuf field mask path with a digit after underscore",
    "protobuf field mask path with two underscores",
    "protobuf any nested deeper than the depth limit",
    "protobuf list values nested deeper than the depth limit",
];

fn options_of(case: &Value) -> JsonOptions {
    let mut options = JsonOptions::default();
    if let Some(map) = case.get("options").and_then(Value::as_object) {
        for (key, value) in map {
            let v = value.as_str().unwrap();
            match key.as_str() {
                "proto_field_names" => {
                    options.protobuf.field_names = FieldNames::from_str(v, true).unwrap()
                }
                "proto_defaults" => {
                    options.protobuf.defaults = PresenceDefaults::from_str(v, true).unwrap()
                }
                "enums" => options.protobuf.enums = EnumEncoding::from_str(v, true).unwrap(),
                "int64" => options.protobuf.int64 = NumberOrString::from_str(v, true).unwrap(),
                "non_finite" => options.non_finite = NonFinite::from_str(v, true).unwrap(),
                other => panic!("option {other} not handled here"),
            }
        }
    }
    options
}

#[test]
fn wire_decoder_matches_the_reference_on_every_fixture_byte_for_byte() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"));
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
    let shop = std::fs::read_to_string(dir.join("schemas/fixtures/shop/1.proto")).unwrap();
    let legacy = std::fs::read_to_string(dir.join("schemas/fixtures/legacy/1.proto")).unwrap();
    let streams: BTreeMap<&str, &str> = [
        ("shop_order", "fixtures.shop.Order"),
        ("shop_discount", "Order.Line.Discount"),
    ]
    .into();
    let limits = FrameLimits {
        max_inflated_bytes: 1 << 24,
    };
    let (mut identical, mut defects) = (0, 0);
    for case in cases
        .iter()
        .filter(|c| c["name"].as_str().unwrap().starts_with("protobuf"))
    {
        let name = case["name"].as_str().unwrap();
        let args: Vec<&str> = case["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let bytes = decode_hex(args[args.len() - 1]).unwrap();
        let (framing, message) = match args.len() {
            1 => (Framing::Auto, None),
            2 => (Framing::Fixed(WireFormat::Raw), Some(streams[args[0]])),
            _ => (Framing::Fixed(WireFormat::Raw), None),
        };
        let Ok(frame) = unframe(&bytes, framing, &limits) else {
            continue;
        };
        let schema = if name.contains("proto2") {
            &legacy
        } else {
            &shop
        };
        let decoder = ProtobufDecoder::new(schema, &options_of(case)).unwrap();
        let ours = decode(&decoder, &frame.body, frame.wire, message, false);
        let reference = decode(&decoder, &frame.body, frame.wire, message, true);
        if REFERENCE_DEFECTS.contains(&name) {
            assert_ne!(
                ours, reference,
                "{name}: the reference was expected to be wrong here"
            );
            defects += 1;
            continue;
        }
        match (&ours, &reference) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{name}"),
            (Err(a), Err(b)) => assert!(
                a.code == b.code || a.code.as_str() == "invalid_utf8",
                "{name}: {a} vs {b}"
            ),
            _ => panic!("{name}: wire decoder {ours:?} vs reference {reference:?}"),
        }
        identical += 1;
    }
    assert!(identical >= 50, "only {identical} fixture cases compared");
    assert_eq!(defects, REFERENCE_DEFECTS.len());
}
