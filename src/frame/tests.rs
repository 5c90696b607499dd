use std::io::Write;

use super::*;

const LIMITS: FrameLimits = FrameLimits {
    max_inflated_bytes: 1024,
};

fn glue(compression: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0x03, compression];
    out.extend_from_slice(&[0xab; 16]);
    out.extend_from_slice(body);
    out
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn auto_detects_each_header() {
    let payload = glue(0, b"body");
    let frame = unframe(&payload, Framing::Auto, &LIMITS).unwrap();
    assert_eq!(frame.wire, WireFormat::Glue);
    assert_eq!(
        frame.schema_id,
        Some(SchemaId::Glue(uuid::Uuid::from_bytes([0xab; 16])))
    );
    assert_eq!(&*frame.body, b"body");
    let frame = unframe(&[0, 0, 0, 1, 2, 9], Framing::Auto, &LIMITS).unwrap();
    assert_eq!(frame.schema_id, Some(SchemaId::Confluent(258)));
    assert_eq!(&*frame.body, &[9]);
    let frame = unframe(
        &[0xc3, 1, 1, 0, 0, 0, 0, 0, 0, 0x80, 7],
        Framing::Auto,
        &LIMITS,
    )
    .unwrap();
    assert_eq!(
        frame.schema_id,
        Some(SchemaId::AvroFingerprint(0x8000_0000_0000_0001))
    );
    assert_eq!(
        unframe(&[0x42], Framing::Auto, &LIMITS).unwrap_err().code,
        ErrorCode::UnknownHeader
    );
}

#[test]
fn raw_is_never_sniffed() {
    // Raw Avro that happens to start like a Confluent or Glue frame stays whole.
    for bytes in [&[0x00, 0x00, 0x00, 0x00, 0x01][..], &glue(0, b"x")] {
        let frame = unframe(bytes, Framing::Raw, &LIMITS).unwrap();
        assert_eq!(frame.wire, WireFormat::Raw);
        assert_eq!(frame.schema_id, None);
        assert_eq!(&*frame.body, bytes);
    }
}

#[test]
fn zlib_inflates_within_the_cap_only() {
    let payload = glue(5, &zlib(b"hello"));
    let frame = unframe(&payload, Framing::Glue, &LIMITS).unwrap();
    assert_eq!(&*frame.body, b"hello");
    let bomb = zlib(&vec![0u8; 1_000_000]);
    assert!(bomb.len() < 2000);
    let err = unframe(&glue(5, &bomb), Framing::Glue, &LIMITS).unwrap_err();
    assert_eq!(err.code, ErrorCode::DecompressedTooLarge);
    let err = unframe(&glue(5, b"not zlib"), Framing::Glue, &LIMITS).unwrap_err();
    assert_eq!(err.code, ErrorCode::DecompressionFailed);
    assert_eq!(
        unframe(&glue(9, b""), Framing::Glue, &LIMITS)
            .unwrap_err()
            .code,
        ErrorCode::UnsupportedCompression
    );
}

#[test]
fn explicit_framing_checks_the_magic_and_length() {
    assert_eq!(
        unframe(&[0x01; 20], Framing::Glue, &LIMITS)
            .unwrap_err()
            .code,
        ErrorCode::UnknownHeader
    );
    assert_eq!(
        unframe(&[0x03; 17], Framing::Glue, &LIMITS)
            .unwrap_err()
            .code,
        ErrorCode::ShortHeader
    );
    assert_eq!(
        unframe(&[0x00; 4], Framing::Confluent, &LIMITS)
            .unwrap_err()
            .code,
        ErrorCode::ShortHeader
    );
    assert_eq!(
        unframe(&[0x05; 5], Framing::Confluent, &LIMITS)
            .unwrap_err()
            .code,
        ErrorCode::UnknownHeader
    );
    assert_eq!(
        unframe(&[0xc3, 0x01, 0], Framing::Soe, &LIMITS)
            .unwrap_err()
            .code,
        ErrorCode::ShortHeader
    );
    assert_eq!(
        unframe(&[0xc3, 0x02, 0, 0, 0, 0, 0, 0, 0, 0], Framing::Soe, &LIMITS)
            .unwrap_err()
            .code,
        ErrorCode::UnknownHeader
    );
}

#[test]
fn hex_is_case_insensitive_and_checked() {
    assert_eq!(decode_hex("0aFf").unwrap(), vec![0x0a, 0xff]);
    assert!(
        decode_hex("abc")
            .unwrap_err()
            .message
            .contains("odd number")
    );
    assert!(decode_hex("zz").unwrap_err().message.contains("position 0"));
}
