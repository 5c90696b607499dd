//! Random bytes against rich Protobuf schemas (well-known types, Any, proto2 groups, maps,
//! recursion, oneofs, packed and unpacked), under Glue, Confluent and raw message
//! selection: no panic, valid JSON whenever decoding succeeds, and the literal written
//! directly for a Redshift response (`decode_literal`) exactly that JSON text escaped.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use superdecode::decode::{
    DataFormat, DecodeContext, JsonOptions, MessageSelector, RecordDecoder, compile,
};
use superdecode_fuzz::{Choices, PROTO_SCHEMAS, check_literal, options};

/// Compiled once; a schema that does not compile is a bug in this file, so it aborts.
static DECODERS: LazyLock<Vec<Box<dyn RecordDecoder>>> = LazyLock::new(|| {
    PROTO_SCHEMAS
        .iter()
        .flat_map(|(text, _)| {
            // Two option sets per schema: default, and every non-default switch.
            let all = options(&mut Choices::new(&[0xff, 0x01]));
            [JsonOptions::default(), all].map(|o| {
                compile(DataFormat::Protobuf, *text, &o)
                    .unwrap_or_else(|e| panic!("fuzz schema does not compile: {e}"))
            })
        })
        .collect()
});

fuzz_target!(|data: &[u8]| {
    let mut choices = Choices::new(data);
    let selector = choices.byte();
    let schema = usize::from(selector) % PROTO_SCHEMAS.len();
    let decoder = &DECODERS[schema * 2 + usize::from(selector >> 7)];
    let (selector_kind, message) = match (selector >> 2) % 4 {
        0 => (MessageSelector::GlueIndex, None),
        1 => (MessageSelector::ConfluentPath, None),
        2 => (MessageSelector::Configured, None),
        _ => {
            let names = PROTO_SCHEMAS[schema].1;
            let name = names[usize::from(selector >> 4) % names.len()];
            (MessageSelector::Configured, Some(name))
        }
    };
    let max_result_bytes = if selector & 0x40 != 0 { 256 } else { 65_535 };
    let body = choices.rest();
    let ctx = DecodeContext {
        selector: selector_kind,
        message,
        max_result_bytes,
        ..DecodeContext::default()
    };
    let mut out = String::new();
    let result = decoder.decode(body, &ctx, &mut out);
    let slack = 8 * body.len() + 4096;
    assert!(
        out.len() <= max_result_bytes + slack,
        "{} bytes of output for a {}-byte body",
        out.len(),
        body.len()
    );
    if result.is_ok()
        && let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&out)
    {
        panic!("invalid JSON ({e}): {out}");
    }
    check_literal(
        &**decoder,
        body,
        &ctx,
        &result,
        &out,
        PROTO_SCHEMAS[schema].0,
    );
});
