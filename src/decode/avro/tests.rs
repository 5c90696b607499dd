use super::*;
use crate::decode::JsonOptions;

fn decode_with(
    schema: &str,
    body: &[u8],
    options: &JsonOptions,
    max: usize,
) -> Result<String, RecordError> {
    let decoder = AvroDecoder::new(schema, options).unwrap();
    let mut out = String::new();
    let ctx = DecodeContext {
        max_result_bytes: max,
        ..DecodeContext::default()
    };
    decoder.decode(body, &ctx, &mut out).map(|()| out)
}

fn decode(schema: &str, body: &[u8]) -> Result<String, RecordError> {
    decode_with(schema, body, &JsonOptions::default(), 65_535)
}

const LIST: &str = r#"{"type":"record","name":"Node","fields":[
    {"name":"v","type":"int"},{"name":"next","type":["null","Node"]}]}"#;

#[test]
fn recursive_schema_decodes_and_depth_is_bounded() {
    assert_eq!(
        decode(LIST, &[0x02, 0x02, 0x04, 0x00]).unwrap(),
        r#"{"v":1,"next":{"v":2,"next":null}}"#
    );
    // 10,000 links in 20,000 bytes: deeper than the default depth, refused instead of
    // overflowing.
    let mut body = Vec::new();
    for _ in 0..10_000 {
        body.extend_from_slice(&[0x02, 0x02]);
    }
    body.extend_from_slice(&[0x02, 0x00]);
    let err = decode(LIST, &body).unwrap_err();
    assert_eq!(err.code, ErrorCode::NestingTooDeep);
    assert!(err.message.contains("nesting deeper"), "{}", err.message);
}

#[test]
fn runaway_arrays_stop_at_the_result_limit() {
    // One block claiming 2^62 nulls: a few bytes that would print forever.
    let body = [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
    let err = decode_with(
        r#"{"type":"array","items":"null"}"#,
        &body,
        &JsonOptions::default(),
        1000,
    )
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::ResultTooLarge);
}

#[test]
fn errors_carry_the_path_to_the_bad_value() {
    let schema = r#"{"type":"record","name":"R","fields":[{"name":"tags","type":{"type":"array","items":
        {"type":"enum","name":"E","symbols":["A","B"]}}}]}"#;
    let err = decode(schema, &[0x04, 0x00, 0x08, 0x00]).unwrap_err();
    assert_eq!(err.code, ErrorCode::DecodeFailed);
    assert!(
        err.message.starts_with("at $.tags[1]: enum index 4"),
        "{}",
        err.message
    );
    let map = r#"{"type":"map","values":"string"}"#;
    let err = decode(map, &[0x02, 0x02, b'k', 0x02, 0xff, 0x00]).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidUtf8);
    assert!(err.message.starts_with("at $[\"k\"]"), "{}", err.message);
}

#[test]
fn blocks_with_byte_sizes_and_several_blocks() {
    // Two blocks: [-2 items, size 2] 1 2, then [1 item] 3, then end.
    let body = [0x03, 0x04, 0x02, 0x04, 0x02, 0x06, 0x00];
    assert_eq!(
        decode(r#"{"type":"array","items":"long"}"#, &body).unwrap(),
        "[1,2,3]"
    );
}

#[test]
fn decimals_are_exact() {
    let bytes = r#"{"type":"bytes","logicalType":"decimal","precision":40,"scale":3}"#;
    let cases: [(&[u8], &str); 5] = [
        (&[0x02, 0x01], "0.001"),
        (&[0x02, 0xff], "-0.001"),
        (&[0x00], "0.000"),
        (&[0x04, 0x30, 0x39], "12.345"),
        (&[0x04, 0xcf, 0xc7], "-12.345"),
    ];
    for (body, want) in cases {
        assert_eq!(decode(bytes, body).unwrap(), want);
    }
    // 2^127 needs 17 bytes: beyond i128, through the big-integer path.
    let mut body = vec![0x22, 0x00, 0x80];
    body.extend_from_slice(&[0; 15]);
    assert_eq!(
        decode(bytes, &body).unwrap(),
        "170141183460469231731687303715884105.728"
    );
    let options = JsonOptions {
        avro: AvroOptions {
            decimals: NumberOrString::String,
            ..AvroOptions::default()
        },
        ..JsonOptions::default()
    };
    assert_eq!(
        decode_with(bytes, &[0x02, 0x01], &options, 100).unwrap(),
        "\"0.001\""
    );
}

#[test]
fn scaled_digit_placement() {
    let cases = [
        ("5", 0, "5"),
        ("5", 3, "0.005"),
        ("-5", 1, "-0.5"),
        ("12", -2, "1200"),
        ("0", -2, "0"),
        ("123", 3, "0.123"),
    ];
    for (digits, scale, want) in cases {
        let mut out = String::new();
        push_scaled(&mut out, digits, scale);
        assert_eq!(out, want, "{digits} at scale {scale}");
    }
}

#[test]
fn big_decimal_carries_its_own_scale() {
    // bytes(len 3: [bytes len 1: 0x7b], scale zig-zag 2 → 1)
    let body = [0x06, 0x02, 0x7b, 0x02];
    assert_eq!(
        decode(r#"{"type":"bytes","logicalType":"big-decimal"}"#, &body).unwrap(),
        "12.3"
    );
}

#[test]
fn uuid_on_fixed_and_times_out_of_range() {
    let fixed = r#"{"type":"fixed","name":"U","size":16,"logicalType":"uuid"}"#;
    let body: Vec<u8> = (0u8..16).collect();
    assert_eq!(
        decode(fixed, &body).unwrap(),
        "\"00010203-0405-0607-0809-0a0b0c0d0e0f\""
    );
    let time = r#"{"type":"int","logicalType":"time-millis"}"#;
    // 86,400,000 ms is midnight of the next day: not a time of day.
    let err = decode(time, &[0x80, 0x9c, 0xb3, 0xa4, 0x05]).unwrap_err();
    assert_eq!(err.code, ErrorCode::DecodeFailed);
}

#[test]
fn tagged_unions_use_the_avro_json_encoding() {
    let schema =
        r#"["null","long",{"type":"record","name":"x.P","fields":[{"name":"a","type":"int"}]}]"#;
    let options = JsonOptions {
        avro: AvroOptions {
            unions: UnionEncoding::Tagged,
            ..AvroOptions::default()
        },
        ..JsonOptions::default()
    };
    assert_eq!(decode_with(schema, &[0x00], &options, 100).unwrap(), "null");
    assert_eq!(
        decode_with(schema, &[0x02, 0x06], &options, 100).unwrap(),
        r#"{"long":3}"#
    );
    assert_eq!(
        decode_with(schema, &[0x04, 0x06], &options, 100).unwrap(),
        r#"{"x.P":{"a":3}}"#
    );
    assert_eq!(decode(schema, &[0x04, 0x06]).unwrap(), r#"{"a":3}"#);
}

#[test]
fn trailing_bytes_and_bad_booleans_are_errors() {
    assert_eq!(
        decode(r#""int""#, &[0x02, 0x00]).unwrap_err().code,
        ErrorCode::TrailingBytes
    );
    assert_eq!(
        decode(r#""boolean""#, &[0x02]).unwrap_err().code,
        ErrorCode::DecodeFailed
    );
    assert!(AvroDecoder::new(r#"{"type":"nope"}"#, &JsonOptions::default()).is_err());
}

#[test]
fn the_deepest_supported_nesting_fits_a_worker_stack() {
    // 10,000 links, decoded with the limit at its maximum on a 2 MiB stack (tokio's worker
    // default): refused at the supported depth, never a stack overflow.
    let mut body = Vec::new();
    for _ in 0..10_000 {
        body.extend_from_slice(&[0x02, 0x02]);
    }
    body.extend_from_slice(&[0x02, 0x00]);
    let result = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let decoder = AvroDecoder::new(LIST, &JsonOptions::default()).unwrap();
            let ctx = DecodeContext {
                max_depth: usize::MAX,
                ..DecodeContext::default()
            };
            let mut out = String::new();
            decoder.decode(&body, &ctx, &mut out)
        })
        .unwrap()
        .join()
        .unwrap();
    let err = result.unwrap_err();
    assert_eq!(err.code, ErrorCode::NestingTooDeep);
    assert!(err.message.contains("400"), "{}", err.message);
}

fn resolve_with(writer: &str, reader: &str, body: &[u8]) -> Result<String, RecordError> {
    let decoder = AvroDecoder::resolving(writer, reader, &JsonOptions::default()).unwrap();
    let mut out = String::new();
    decoder
        .decode(body, &DecodeContext::default(), &mut out)
        .map(|()| out)
}

const WRITER_V1: &str = r#"{"type":"record","name":"Order","fields":[
    {"name":"id","type":"int"},
    {"name":"legacy","type":"string"},
    {"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","GONE"]}},
    {"name":"amount","type":"float"}]}"#;

const READER_V2: &str = r#"{"type":"record","name":"Order","fields":[
    {"name":"amount","type":"double"},
    {"name":"id","type":"long"},
    {"name":"currency","type":"string","default":"EUR"},
    {"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID"],"default":"NEW"}},
    {"name":"note","type":["null","string"],"default":null}]}"#;

#[test]
fn resolution_reorders_skips_promotes_and_fills_defaults() {
    // id 7, legacy "x", status GONE (1), amount 1.5f32
    let mut body = vec![0x0e, 0x02, b'x', 0x02];
    body.extend_from_slice(&1.5f32.to_le_bytes());
    assert_eq!(
        resolve_with(WRITER_V1, READER_V2, &body).unwrap(),
        r#"{"amount":1.5,"id":7,"currency":"EUR","status":"NEW","note":null}"#
    );
}

#[test]
fn resolution_without_a_default_names_the_field() {
    let reader = READER_V2.replace(r#","default":"EUR""#, "");
    let Err(SchemaError::Incompatible(why)) =
        AvroDecoder::resolving(WRITER_V1, &reader, &JsonOptions::default())
    else {
        panic!("a reader field without a default must not resolve");
    };
    assert!(why.contains("'currency'"), "{why}");
}

#[test]
fn resolution_of_an_enum_symbol_the_reader_lacks_is_a_record_error() {
    let reader = READER_V2.replace(r#","default":"NEW""#, "");
    let decoder = AvroDecoder::resolving(WRITER_V1, &reader, &JsonOptions::default()).unwrap();
    let mut body = vec![0x0e, 0x02, b'x', 0x02];
    body.extend_from_slice(&1.5f32.to_le_bytes());
    let err = decoder
        .decode(&body, &DecodeContext::default(), &mut String::new())
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::SchemaIncompatible);
    assert!(err.message.contains("GONE"), "{}", err.message);
    // NEW (0) is in both.
    body[3] = 0x00;
    assert!(resolve_with(WRITER_V1, &reader, &body).is_ok());
}
