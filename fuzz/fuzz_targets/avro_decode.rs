//! A random Avro schema from the front of the input, the rest decoded against it: no panic,
//! output within the result limit (plus the one value that crossed it), valid JSON
//! whenever decoding succeeds, and the literal written directly for a Redshift response
//! (`decode_literal`) exactly that JSON text escaped, or absent when decoding fails.
#![no_main]

use std::cell::RefCell;
use std::rc::Rc;

use libfuzzer_sys::fuzz_target;
use superdecode::decode::{DataFormat, DecodeContext, RecordDecoder, compile};
use superdecode_fuzz::{AvroSchemaGen, Choices, check_literal, options};

type Cached = Option<Rc<dyn RecordDecoder>>;

thread_local! {
    /// The most recently used decoders, by (schema, options): a compile costs far more than
    /// a decode of a short body.
    static CACHE: RefCell<Vec<((String, String), Cached)>> = const { RefCell::new(Vec::new()) };
}

fuzz_target!(|data: &[u8]| {
    let mut choices = Choices::new(data);
    let opts = options(&mut choices);
    let limits = choices.byte();
    let max_result_bytes = [64, 512, 4096][usize::from(limits % 3)];
    let max_depth = [4, 32, 128][usize::from(limits / 3 % 3)];
    let schema = AvroSchemaGen::new(&mut choices).schema(0).to_string();
    let body = choices.rest();
    // libFuzzer mutates the body far more often than the schema: reuse compiled decoders.
    let decoder = CACHE.with_borrow_mut(|cache| {
        let key = (schema.clone(), format!("{opts:?}"));
        if let Some(hit) = cache.iter().position(|(k, _)| *k == key) {
            let entry = cache.remove(hit);
            let decoder = entry.1.clone();
            cache.push(entry);
            return decoder;
        }
        let decoder = compile(DataFormat::Avro, &schema, &opts).ok().map(Rc::from);
        if cache.len() >= 256 {
            cache.remove(0);
        }
        cache.push((key, decoder.clone()));
        decoder
    });
    let Some(decoder) = decoder else {
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
    check_literal(&*decoder, body, &ctx, &result, &out, &schema);
});
