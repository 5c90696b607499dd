//! A random Avro schema from the front of the input, the rest decoded against it: no panic,
//! output within the result limit (plus the one value that crossed it), and valid JSON
//! whenever decoding succeeds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use superdecode::decode::{DataFormat, DecodeContext, compile};
use superdecode_fuzz::{AvroSchemaGen, Choices, options};

fuzz_target!(|data: &[u8]| {
    let mut choices = Choices::new(data);
    let opts = options(&mut choices);
    let limits = choices.byte();
    let max_result_bytes = [64, 1024, 65_535][usize::from(limits % 3)];
    let max_depth = [4, 32, 128][usize::from(limits / 3 % 3)];
    let schema = AvroSchemaGen::new(&mut choices).schema(0).to_string();
    let body = choices.rest();
    let Ok(decoder) = compile(DataFormat::Avro, &schema, &opts) else {
        return;
    };
    let ctx = DecodeContext {
        max_result_bytes,
        max_depth,
        ..DecodeContext::default()
    };
    let mut out = String::new();
    let result = decoder.decode(body, &ctx, &mut out);
    // The decoder stops after the value that crosses the limit; the pipeline refuses the
    // rest. That value is bounded by the body (strings escape to at most 6 bytes per input
    // byte) and by the schema (field names, decimal scales up to 1000 digits, nulls).
    let slack = 6 * body.len() + 8 * schema.len() + 2048;
    assert!(
        out.len() <= max_result_bytes + slack,
        "{} bytes of output for a {}-byte body (limit {max_result_bytes}); schema {schema}",
        out.len(),
        body.len()
    );
    if result.is_ok()
        && let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&out)
    {
        panic!("invalid JSON ({e}) from schema {schema}: {out}");
    }
});
