//! Hex decoding and unframing under every framing, zlib included: never a panic, never a
//! body past the inflate cap, and every accepted frame splits the bytes as documented.
#![no_main]

use std::borrow::Cow;
use std::cell::RefCell;

use flate2::{Compress, Compression, FlushCompress, Status};

use libfuzzer_sys::fuzz_target;
use superdecode::error::ErrorCode;
use superdecode::frame::{
    FrameLimits, Framing, PayloadEncoding, SchemaId, WireFormat, decode_hex, unframe,
};

/// A small inflate cap (16 KiB), so that bombs are cheap to find and cheap to run.
const CAP: usize = 16 << 10;
const LIMITS: FrameLimits = FrameLimits {
    max_inflated_bytes: CAP,
};

fn check_all(bytes: &[u8]) {
    for framing in [
        Framing::Auto,
        Framing::Fixed(WireFormat::Raw),
        Framing::Fixed(WireFormat::Glue),
        Framing::Fixed(WireFormat::Confluent),
        Framing::Fixed(WireFormat::SingleObject),
    ] {
        let Ok(frame) = unframe(bytes, framing, &LIMITS) else {
            continue;
        };
        assert!(frame.body.len() <= CAP.max(bytes.len()));
        if let Cow::Owned(body) = &frame.body {
            assert!(
                body.len() <= CAP,
                "inflated {} bytes past the cap",
                body.len()
            );
        }
        match frame.wire {
            WireFormat::Ocf => {
                // A container file is its own body: the whole payload, no schema ID.
                assert!(bytes.starts_with(b"Obj\x01"));
                assert_eq!(&*frame.body, bytes);
                assert!(frame.schema_id.is_none());
            }
            WireFormat::Raw => {
                assert_eq!(framing, Framing::Fixed(WireFormat::Raw));
                assert_eq!(&*frame.body, bytes);
                assert!(frame.schema_id.is_none());
            }
            WireFormat::Glue => {
                assert!(matches!(
                    framing,
                    Framing::Auto | Framing::Fixed(WireFormat::Glue)
                ));
                assert_eq!(bytes[0], 0x03);
                assert_eq!(
                    frame.schema_id,
                    Some(SchemaId::Glue(uuid_of(&bytes[2..18])))
                );
                match bytes[1] {
                    0x00 => assert_eq!(&*frame.body, &bytes[18..]),
                    0x05 => assert!(matches!(frame.body, Cow::Owned(_))),
                    other => panic!("accepted Glue compression byte {other:02x}"),
                }
            }
            WireFormat::Confluent => {
                assert!(matches!(
                    framing,
                    Framing::Auto | Framing::Fixed(WireFormat::Confluent)
                ));
                assert_eq!(bytes[0], 0x00);
                let id = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
                assert_eq!(frame.schema_id, Some(SchemaId::Confluent(id)));
                assert_eq!(&*frame.body, &bytes[5..]);
            }
            WireFormat::SingleObject => {
                assert!(matches!(
                    framing,
                    Framing::Auto | Framing::Fixed(WireFormat::SingleObject)
                ));
                assert_eq!(&bytes[..2], &[0xc3, 0x01]);
                let mut fp = [0u8; 8];
                fp.copy_from_slice(&bytes[2..10]);
                assert_eq!(
                    frame.schema_id,
                    Some(SchemaId::AvroFingerprint(u64::from_le_bytes(fp)))
                );
                assert_eq!(&*frame.body, &bytes[10..]);
            }
        }
    }
}

fn uuid_of(b: &[u8]) -> uuid::Uuid {
    let mut a = [0u8; 16];
    a.copy_from_slice(b);
    uuid::Uuid::from_bytes(a)
}

thread_local! {
    /// One compressor, reset for each use: building a deflate state per input (hundreds of
    /// KB, zeroed under ASan) was a third of this target's time.
    static COMPRESSOR: RefCell<Compress> = RefCell::new(Compress::new(Compression::fast(), true));
}

fn zlib(data: &[u8]) -> Vec<u8> {
    COMPRESSOR.with_borrow_mut(|compressor| {
        compressor.reset();
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        loop {
            let consumed = usize::try_from(compressor.total_in()).unwrap_or(data.len());
            let rest = data.get(consumed..).unwrap_or_default();
            match compressor.compress_vec(rest, &mut out, FlushCompress::Finish) {
                Ok(Status::StreamEnd) => return out,
                Ok(_) => out.reserve(out.capacity().max(64)),
                Err(_) => return Vec::new(),
            }
        }
    })
}

fn glue_zlib(body: &[u8]) -> Vec<u8> {
    let mut framed = vec![0x03, 0x05];
    framed.extend_from_slice(&[0x11; 16]);
    framed.extend_from_slice(&zlib(body));
    framed
}

fuzz_target!(|data: &[u8]| {
    // The input as hex text (both cases) decodes back to itself.
    let lower = hex::encode(data);
    assert_eq!(decode_hex(&lower).as_deref().ok(), Some(data));
    assert_eq!(
        decode_hex(&lower.to_uppercase()).as_deref().ok(),
        Some(data)
    );
    // The input as text in either payload encoding: whatever decodes whole also decodes
    // as a header prefix, to the same first bytes (both passes of a batch must agree).
    if let Ok(text) = std::str::from_utf8(data) {
        for encoding in [PayloadEncoding::Hex, PayloadEncoding::Base64] {
            let mut whole = Vec::new();
            let mut head = [0u8; 18];
            if encoding.decode_into(text, &mut whole).is_ok() {
                let prefix = encoding
                    .decode_prefix(text, &mut head)
                    .expect("the prefix of decodable text decodes");
                assert_eq!(prefix, &whole[..prefix.len()]);
                assert_eq!(prefix.len(), whole.len().min(18));
            }
        }
    }
    // The input as text: whatever decode_hex accepts is exactly hex.
    if let Ok(text) = std::str::from_utf8(data) {
        match decode_hex(text) {
            Ok(bytes) => {
                assert_eq!(hex::encode(&bytes), text.to_ascii_lowercase());
                check_all(&bytes);
            }
            Err(e) => assert_eq!(e.code, ErrorCode::InvalidHex),
        }
    }
    // The input as bytes, under every framing.
    check_all(data);

    // zlib round trip through a Glue frame, and a bomb built from the input.
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode {
        0xf0 => {
            let framed = glue_zlib(rest);
            let frame = unframe(&framed, Framing::Fixed(WireFormat::Glue), &LIMITS)
                .expect("a well-formed zlib Glue frame unframes");
            assert_eq!(&*frame.body, rest);
        }
        0xf1 if !rest.is_empty() => {
            // Repeat the input past the cap: 16 KiB + a little, compressed to a few hundred bytes.
            let mut bomb = Vec::with_capacity(CAP + rest.len() + 1);
            while bomb.len() <= CAP {
                bomb.extend_from_slice(rest);
            }
            let err = unframe(&glue_zlib(&bomb), Framing::Auto, &LIMITS)
                .expect_err("a body past the cap is refused");
            assert_eq!(err.code, ErrorCode::DecompressedTooLarge);
        }
        _ => {}
    }
});
