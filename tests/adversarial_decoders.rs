//! Adversarial inputs through the public entry points the fuzz targets use (fuzz/): every
//! input the fuzzers found to crash, allocate past a limit or emit bad JSON is kept here,
//! with the hostile shapes the targets assert about. See docs/fuzzing.md.

use std::io::Write;

use serde_json::json;
use superdecode::decode::{DataFormat, DecodeContext, JsonOptions, compile};
use superdecode::error::{ErrorCode, RecordError};
use superdecode::frame::{FrameLimits, Framing, WireFormat, decode_hex, unframe};
use superdecode::redshift::parse_event;

const MIB: usize = 1 << 20;

fn avro(schema: &str, body: &[u8], ctx: &DecodeContext) -> Result<String, RecordError> {
    let decoder = compile(DataFormat::Avro, schema, &JsonOptions::default())
        .unwrap_or_else(|e| panic!("test schema does not compile: {e}"));
    let mut out = String::new();
    decoder.decode(body, ctx, &mut out).map(|()| out)
}

fn glue_zlib(body: &[u8]) -> Vec<u8> {
    let mut framed = vec![0x03, 0x05];
    framed.extend_from_slice(&[0x11; 16]);
    let mut encoder = flate2::write::ZlibEncoder::new(framed, flate2::Compression::best());
    encoder.write_all(body).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn zlib_bomb_stops_at_the_inflate_cap() {
    let limits = FrameLimits {
        max_inflated_bytes: MIB,
    };
    // 8 MiB of zeros in about 8 KiB.
    let bomb = glue_zlib(&vec![0u8; 8 * MIB]);
    assert!(bomb.len() < 16 * 1024, "{}", bomb.len());
    let err = unframe(&bomb, Framing::Auto, &limits).unwrap_err();
    assert_eq!(err.code, ErrorCode::DecompressedTooLarge);
    // Exactly at the cap is fine, one byte past is not.
    let at_cap = glue_zlib(&vec![7u8; MIB]);
    assert_eq!(
        unframe(&at_cap, Framing::Fixed(WireFormat::Glue), &limits)
            .unwrap()
            .body
            .len(),
        MIB
    );
    let past = glue_zlib(&vec![7u8; MIB + 1]);
    assert_eq!(
        unframe(&past, Framing::Fixed(WireFormat::Glue), &limits)
            .unwrap_err()
            .code,
        ErrorCode::DecompressedTooLarge
    );
}

#[test]
fn truncated_and_corrupt_zlib_are_record_errors() {
    let limits = FrameLimits {
        max_inflated_bytes: MIB,
    };
    let good = glue_zlib(b"hello");
    for cut in 18..good.len() {
        let err = unframe(&good[..cut], Framing::Fixed(WireFormat::Glue), &limits).unwrap_err();
        assert_eq!(err.code, ErrorCode::DecompressionFailed, "cut at {cut}");
    }
    let mut flipped = good.clone();
    flipped[19] ^= 0xff;
    assert!(unframe(&flipped, Framing::Fixed(WireFormat::Glue), &limits).is_err());
}

#[test]
fn every_framing_rejects_short_headers_without_panicking() {
    let limits = FrameLimits {
        max_inflated_bytes: MIB,
    };
    for framing in [
        Framing::Auto,
        Framing::Fixed(WireFormat::Glue),
        Framing::Fixed(WireFormat::Confluent),
        Framing::Fixed(WireFormat::SingleObject),
    ] {
        for bytes in [
            &b""[..],
            b"\x03",
            b"\x00\x01",
            b"\xc3",
            b"\xc3\x01\x00",
            b"\x03\x05",
        ] {
            let err = unframe(bytes, framing, &limits).unwrap_err();
            assert!(
                matches!(err.code, ErrorCode::ShortHeader | ErrorCode::UnknownHeader),
                "{framing:?} {bytes:?}: {err}"
            );
        }
    }
    assert_eq!(decode_hex("0").unwrap_err().code, ErrorCode::InvalidHex);
    assert_eq!(decode_hex("é0").unwrap_err().code, ErrorCode::InvalidHex);
    assert_eq!(decode_hex("C301").unwrap(), vec![0xc3, 0x01]);
}

#[test]
fn avro_length_claims_do_not_allocate() {
    // A string claiming 2^62 bytes, a fixed-size claim inside a map key, and a block count
    // of 2^62 items of a type that takes no bytes.
    let huge = [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
    let err = avro(r#""string""#, &huge, &DecodeContext::default()).unwrap_err();
    assert_eq!(err.code, ErrorCode::DecodeFailed);
    let err = avro(
        r#"{"type":"map","values":"null"}"#,
        &[&[0x02][..], &huge].concat(),
        &DecodeContext::default(),
    )
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::DecodeFailed);
    let ctx = DecodeContext {
        max_result_bytes: 4096,
        ..DecodeContext::default()
    };
    for schema in [
        r#"{"type":"array","items":"null"}"#,
        r#"{"type":"array","items":{"type":"record","name":"E","fields":[]}}"#,
        r#"{"type":"array","items":{"type":"array","items":"null"}}"#,
    ] {
        let err = avro(schema, &huge, &ctx).unwrap_err();
        assert!(
            matches!(
                err.code,
                ErrorCode::ResultTooLarge | ErrorCode::DecodeFailed
            ),
            "{schema}: {err}"
        );
    }
}

#[test]
fn avro_recursion_is_bounded_by_max_depth() {
    let tree = r#"{"type":"record","name":"T","fields":[
        {"name":"kids","type":{"type":"array","items":"T"}}]}"#;
    // Each level: a block of one child; 100,000 levels in 100,000 bytes.
    let body = vec![0x02; 100_000];
    let ctx = DecodeContext {
        max_depth: 64,
        ..DecodeContext::default()
    };
    let err = avro(tree, &body, &ctx).unwrap_err();
    assert_eq!(err.code, ErrorCode::NestingTooDeep);
    // Within the depth, the same shape decodes: 3 levels, then empty arrays.
    let ok = avro(tree, &[0x02, 0x02, 0x00, 0x00, 0x00], &ctx).unwrap();
    assert_eq!(ok, r#"{"kids":[{"kids":[{"kids":[]}]}]}"#);
}

#[test]
fn redshift_events_of_every_shape_parse_or_explain() {
    let bad = [
        json!(null),
        json!([]),
        json!({"arguments": {}}),
        json!({"arguments": [[1]]}),
        json!({"arguments": [[null, null, null, null]]}),
        json!({"arguments": [[]]}),
        json!({"arguments": [], "num_records": -1}),
        json!({"arguments": [], "num_records": 1.5}),
        json!({"arguments": [["00"]], "num_records": 18446744073709551615u64}),
    ];
    for event in bad {
        let err = parse_event(&event.to_string()).unwrap_err();
        assert!(
            err.to_string().starts_with("malformed event"),
            "{event}: {err}"
        );
    }
    let event = json!({"arguments": [null, [null], ["a", "b"], [null, "s", "h"]],
        "num_records": 4, "query_id": "not a number"})
    .to_string();
    let (_, calls) = parse_event(&event).unwrap();
    assert_eq!(calls.len(), 4);
}

#[test]
fn json_records_minify_to_the_same_document() {
    let decoder = compile(DataFormat::Json, "{}", &JsonOptions::default()).unwrap();
    let docs = [
        " { \"a b\" : [ 1 , 2.50 , -0 , 1e300 ] ,\n\t\"s\" : \" \\\\\" , \"t\":\"\\\"  \\\\\\\" x\" } ",
        "[\"\\u0020 \", \"\u{a0} \u{2028}\", {} , [ ] , null , true ]",
        "\"  spaced  \"",
        "12345678901234567890123456789",
    ];
    for doc in docs {
        let mut out = String::new();
        decoder
            .decode(doc.as_bytes(), &DecodeContext::default(), &mut out)
            .unwrap_or_else(|e| panic!("{doc}: {e}"));
        let want: serde_json::Value = serde_json::from_str(doc).unwrap();
        let got: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(got, want, "{doc} -> {out}");
        assert!(!out.contains('\n') && !out.starts_with(' '), "{out}");
    }
    let mut out = String::new();
    let err = decoder
        .decode(b"{\"a\":1} x", &DecodeContext::default(), &mut out)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidJson);
}

/// Found by `avro_decode`: records take no bytes, so a schema whose records refer to
/// earlier named records twice writes 2^k values for an empty body. The result limit was
/// checked only between array and map items, so output (and time) grew unbounded; now it
/// is checked at every nesting level.
#[test]
fn avro_named_record_references_cannot_amplify_output() {
    // R0 {}; Rk {a: R(k-1) (defined inline), b: R(k-1) (by name)}: 2^40 empty records.
    let mut schema = r#"{"type":"record","name":"R0","fields":[]}"#.to_owned();
    for k in 1..=40 {
        schema = format!(
            r#"{{"type":"record","name":"R{k}","fields":[{{"name":"a","type":{schema}}},{{"name":"b","type":"R{}"}}]}}"#,
            k - 1
        );
    }
    let ctx = DecodeContext {
        max_result_bytes: 1000,
        ..DecodeContext::default()
    };
    let decoder = compile(DataFormat::Avro, &schema, &JsonOptions::default()).unwrap();
    let mut out = String::new();
    let err = decoder.decode(&[], &ctx, &mut out).unwrap_err();
    assert_eq!(err.code, ErrorCode::ResultTooLarge);
    assert!(out.len() < 2000, "{} bytes written", out.len());
    // The fuzzer's reproducer: recursion through a required field, output far past the limit
    // before the depth limit stopped it.
    let found = r#"{"fields":[{"name":"f0","type":{"fields":[{"name":"f0","type":{"fields":[{"name":"f0","type":{"fields":[],"name":"R4","namespace":"ns.a","type":"record"}},{"name":"f1","type":"null"},{"name":"f2","type":"null"}],"name":"R3","namespace":"ns.a","type":"record"}},{"name":"f1","type":"null"},{"name":"f2","type":"ns.a.R4"}],"name":"R2","namespace":"ns.a","type":"record"}},{"name":"f1","type":"ns.a.R3"},{"name":"f2","type":"ns.a.R1"}],"name":"R1","namespace":"ns.a","type":"record"}"#;
    let ctx = DecodeContext {
        max_result_bytes: 64,
        ..DecodeContext::default()
    };
    let decoder = compile(DataFormat::Avro, found, &JsonOptions::default()).unwrap();
    let mut out = String::new();
    let err = decoder.decode(&[0; 11], &ctx, &mut out).unwrap_err();
    assert_eq!(err.code, ErrorCode::ResultTooLarge);
    assert!(out.len() < 64 + 200, "{} bytes written", out.len());
}
