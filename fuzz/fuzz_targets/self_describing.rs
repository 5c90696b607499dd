//! Payloads that need no registry: MessagePack, CBOR, or an Avro object container file,
//! picked by the first byte. No panic, output within the result limit (plus the one value
//! that crossed it), and valid JSON whenever decoding succeeds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use superdecode::decode::avro::AvroDecoder;
use superdecode::decode::avro::container::ContainerHeader;
use superdecode::decode::{DecodeContext, JsonOptions, SchemalessFormat};

const MAX_RESULT_BYTES: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let options = JsonOptions::default();
    let ctx = DecodeContext {
        max_result_bytes: MAX_RESULT_BYTES,
        max_depth: 64,
        ..DecodeContext::default()
    };
    let mut out = String::new();
    let decoded = match pick % 3 {
        0 => SchemalessFormat::Msgpack
            .decoder(&options)
            .decode(body, &ctx, &mut out),
        1 => SchemalessFormat::Cbor
            .decoder(&options)
            .decode(body, &ctx, &mut out),
        _ => {
            // An Avro container file: the magic is given, the fuzzer writes the rest.
            let mut file = b"Obj\x01".to_vec();
            file.extend_from_slice(body);
            ContainerHeader::read(&file).and_then(|header| {
                let Ok(decoder) = AvroDecoder::new(header.schema, &options) else {
                    return Ok(());
                };
                header.decode(&file, &decoder, &ctx, 1 << 16, &mut out)
            })
        }
    };
    if decoded.is_ok() && !out.is_empty() {
        assert!(out.len() <= MAX_RESULT_BYTES, "{} bytes", out.len());
        serde_json::from_str::<serde::de::IgnoredAny>(&out)
            .unwrap_or_else(|e| panic!("invalid JSON {e}: {out}"));
    }
});
