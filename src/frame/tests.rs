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
        let frame = unframe(bytes, Framing::Fixed(WireFormat::Raw), &LIMITS).unwrap();
        assert_eq!(frame.wire, WireFormat::Raw);
        assert_eq!(frame.schema_id, None);
        assert_eq!(&*frame.body, bytes);
    }
}

#[test]
fn zlib_inflates_within_the_cap_only() {
    let payload = glue(5, &zlib(b"hello"));
    let frame = unframe(&payload, Framing::Fixed(WireFormat::Glue), &LIMITS).unwrap();
    assert_eq!(&*frame.body, b"hello");
    let bomb = zlib(&vec![0u8; 1_000_000]);
    assert!(bomb.len() < 2000);
    let err = unframe(&glue(5, &bomb), Framing::Fixed(WireFormat::Glue), &LIMITS).unwrap_err();
    assert_eq!(err.code, ErrorCode::DecompressedTooLarge);
    let err = unframe(
        &glue(5, b"not zlib"),
        Framing::Fixed(WireFormat::Glue),
        &LIMITS,
    )
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::DecompressionFailed);
    assert_eq!(
        unframe(&glue(9, b""), Framing::Fixed(WireFormat::Glue), &LIMITS)
            .unwrap_err()
            .code,
        ErrorCode::UnsupportedCompression
    );
}

#[test]
fn explicit_framing_checks_the_magic_and_length() {
    assert_eq!(
        unframe(&[0x01; 20], Framing::Fixed(WireFormat::Glue), &LIMITS)
            .unwrap_err()
            .code,
        ErrorCode::UnknownHeader
    );
    assert_eq!(
        unframe(&[0x03; 17], Framing::Fixed(WireFormat::Glue), &LIMITS)
            .unwrap_err()
            .code,
        ErrorCode::ShortHeader
    );
    assert_eq!(
        unframe(&[0x00; 4], Framing::Fixed(WireFormat::Confluent), &LIMITS)
            .unwrap_err()
            .code,
        ErrorCode::ShortHeader
    );
    assert_eq!(
        unframe(&[0x05; 5], Framing::Fixed(WireFormat::Confluent), &LIMITS)
            .unwrap_err()
            .code,
        ErrorCode::UnknownHeader
    );
    assert_eq!(
        unframe(
            &[0xc3, 0x01, 0],
            Framing::Fixed(WireFormat::SingleObject),
            &LIMITS
        )
        .unwrap_err()
        .code,
        ErrorCode::ShortHeader
    );
    assert_eq!(
        unframe(
            &[0xc3, 0x02, 0, 0, 0, 0, 0, 0, 0, 0],
            Framing::Fixed(WireFormat::SingleObject),
            &LIMITS
        )
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

#[test]
fn every_wire_format_reads_back_what_it_frames() {
    let ids = KnownIds {
        glue: Some(uuid::Uuid::from_bytes([7; 16])),
        confluent: Some(0x0102_0304),
        avro_fingerprint: Some(0x1122_3344_5566_7788),
    };
    for &wire in WireFormat::value_variants() {
        if wire == WireFormat::Ocf {
            // Container files are written by Avro libraries, not by `encode`.
            assert!(wire.framer(&ids, Compression::None).is_err());
            continue;
        }
        let payload = wire.framer(&ids, Compression::None).unwrap().frame(b"body");
        let frame = unframe(&payload, Framing::Fixed(wire), &LIMITS).unwrap();
        assert_eq!(frame.wire, wire);
        assert_eq!(&*frame.body, b"body", "{wire:?}");
        let expected_id = match wire {
            WireFormat::Raw => None,
            WireFormat::Glue => ids.glue.map(SchemaId::Glue),
            WireFormat::Confluent => ids.confluent.map(SchemaId::Confluent),
            WireFormat::SingleObject => ids.avro_fingerprint.map(SchemaId::AvroFingerprint),
            WireFormat::Ocf => None,
        };
        assert_eq!(frame.schema_id, expected_id, "{wire:?}");
        if wire != WireFormat::Raw {
            assert_eq!(
                unframe(&payload, Framing::Auto, &LIMITS).unwrap().wire,
                wire
            );
        }
    }
    // Only Glue carries a compressed body; every format names the ID it lacks.
    let zlib = WireFormat::Glue
        .framer(&ids, Compression::Zlib)
        .unwrap()
        .frame(b"body");
    let frame = unframe(&zlib, Framing::Auto, &LIMITS).unwrap();
    assert_eq!(&*frame.body, b"body");
    for wire in [
        WireFormat::Raw,
        WireFormat::Confluent,
        WireFormat::SingleObject,
    ] {
        assert!(matches!(
            wire.framer(&ids, Compression::Zlib),
            Err(FrameError::Compression(_))
        ));
    }
    for wire in [
        WireFormat::Glue,
        WireFormat::Confluent,
        WireFormat::SingleObject,
    ] {
        assert!(matches!(
            wire.framer(&KnownIds::default(), Compression::None),
            Err(FrameError::MissingId(_))
        ));
    }
}

#[test]
fn framing_names_are_the_cli_and_json_names() {
    let names = ["auto", "raw", "glue", "confluent", "soe"];
    for (framing, name) in Framing::value_variants().iter().zip(names) {
        assert_eq!(
            framing.to_possible_value().unwrap().get_name(),
            name,
            "{framing:?}"
        );
        assert_eq!(Framing::from_str(name, false).unwrap(), *framing);
        let from_json: Framing = serde_json::from_str(&format!("\"{name}\"")).unwrap();
        assert_eq!(from_json, *framing);
    }
    let err = serde_json::from_str::<Framing>("\"single-object\"").unwrap_err();
    assert!(err.to_string().contains("expected one of"), "{err}");
}

#[test]
fn payload_text_decodes_as_hex_or_base64() {
    let bytes: Vec<u8> = (0u8..40).collect();
    let hex = hex::encode(&bytes);
    let padded = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(&bytes[..31])
    };
    let mut out = Vec::new();
    PayloadEncoding::Hex.decode_into(&hex, &mut out).unwrap();
    assert_eq!(out, bytes);
    PayloadEncoding::Base64
        .decode_into(&padded, &mut out)
        .unwrap();
    assert_eq!(out, &bytes[..31]);
    // Padding is optional.
    PayloadEncoding::Base64
        .decode_into(padded.trim_end_matches('='), &mut out)
        .unwrap();
    assert_eq!(out, &bytes[..31]);
    for bad in ["not base64!", "A", "AB=C"] {
        let err = PayloadEncoding::Base64
            .decode_into(bad, &mut out)
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidBase64, "{bad}");
        assert!(out.is_empty());
    }
    assert_eq!(
        PayloadEncoding::Hex
            .decode_into("zz", &mut out)
            .unwrap_err()
            .code,
        ErrorCode::InvalidHex
    );

    // A prefix decodes to the start of the bytes, whole texts shorter than it to all of them
    // (unpadded base64 too), so both passes of a batch read the same header.
    let mut head = [0u8; 18];
    assert_eq!(
        PayloadEncoding::Hex.decode_prefix(&hex, &mut head).unwrap(),
        &bytes[..18]
    );
    assert_eq!(
        PayloadEncoding::Base64
            .decode_prefix(&padded, &mut head)
            .unwrap(),
        &bytes[..18]
    );
    for len in 0..18 {
        let text = {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(&bytes[..len])
        };
        assert_eq!(
            PayloadEncoding::Base64
                .decode_prefix(&text, &mut head)
                .unwrap(),
            &bytes[..len],
            "{len} bytes"
        );
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]

    /// The SIMD hex decoder against the `hex` crate: the same bytes for every valid text,
    /// an error for every invalid one (odd lengths, any byte outside 0-9a-fA-F, every
    /// position, lengths on both sides of the SIMD block sizes).
    #[test]
    fn hex_decoding_agrees_with_the_hex_crate(
        text in proptest::string::string_regex(
            "([0-9a-fA-F]{0,80}|[0-9a-fA-F]{0,70}[g-zG-Z /:@`\\x00\\xff\u{e9}][0-9a-fA-F]{0,70})"
        ).unwrap()
    ) {
        let mut out = vec![0xaa; 3];
        let ours = decode_hex_into(&text, &mut out).map(|()| out);
        match hex::decode(&text) {
            Ok(bytes) => proptest::prop_assert_eq!(ours.ok(), Some(bytes), "{:?}", text),
            Err(_) => proptest::prop_assert!(ours.is_err(), "{:?} accepted", text),
        }
    }
}

#[test]
fn hex_decoding_agrees_with_the_hex_crate_on_every_byte_at_every_position() {
    // Every byte value in every position of texts 2 to 130 characters long.
    let mut out = Vec::new();
    for len in (2..=130).step_by(2) {
        for pos in [0, len / 2, len - 1] {
            for byte in 0..=255u8 {
                let mut text = vec![b'a'; len];
                text[pos] = byte;
                let Ok(text) = String::from_utf8(text) else {
                    continue;
                };
                let ours = decode_hex_into(&text, &mut out).map(|()| out.clone());
                assert_eq!(ours.ok(), hex::decode(&text).ok(), "{text:?}");
            }
        }
    }
}
