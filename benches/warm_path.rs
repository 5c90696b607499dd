//! The Lambda warm path per record beside the floor, and each stage of it, on the
//! 4,000-row event of the 20-field order (`bench/versus_python.py --keep target/bench`
//! writes it with fastavro; `SUPERDECODE_BENCH_EVENT` points elsewhere).
//!
//! * `floor`: what any answer costs: read the event's rows, decode each row's hex, and write
//!   the escaped response (the same result texts, taken from one warm run, escaped once by
//!   the product's writer).
//! * `warm path`: event text in, response bytes out, the code Lambda runs
//!   (`redshift::handle`, then the response serialized as the runtime does it).
//! * stages: event reading, hex (the SIMD decoder beside the `hex` crate), response writing
//!   (the product's writer beside `serde_json` escaping the same texts).
//!
//! Run: `cargo bench --bench warm_path`. Per-record times are the reported time over 4,000.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use superdecode::config::Settings;
use superdecode::frame::decode_hex_into;
use superdecode::pipeline::Call;
use superdecode::redshift::{self, OnError, ResponsePolicy};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn event_text() -> String {
    let path = std::env::var_os("SUPERDECODE_BENCH_EVENT").map_or_else(
        || PathBuf::from(ROOT).join("target/bench/avro.json"),
        PathBuf::from,
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run bench/versus_python.py --keep target/bench first",
            path.display()
        )
    })
}

fn payloads<'a>(calls: &'a [Call<'_>]) -> Vec<&'a str> {
    calls
        .iter()
        .filter_map(|call| match call {
            Call::Stream {
                payload: Some(p), ..
            }
            | Call::Framed { payload: Some(p) } => Some(&**p),
            _ => None,
        })
        .collect()
}

/// The response the floor writes: the same texts, escaped once by the same writer.
fn floor_response(results: &[&str]) -> String {
    redshift::Response::Success(redshift::Results::from_rows(
        results.iter().map(|r| Some(*r)),
    ))
    .to_json()
}

fn warm_path(c: &mut Criterion) {
    let text = event_text();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let schemas = format!("{ROOT}/bench/schemas");
    let settings = Settings::from_flags(["--schemas", &schemas]).unwrap();
    let engine = runtime.block_on(settings.engine()).unwrap();
    let policy = ResponsePolicy::new(OnError::Object);
    let handle = |text: &str| {
        let outcome = runtime.block_on(redshift::handle(&engine, policy, text, None));
        serde_json::to_vec(&outcome.response.into_raw_json()).unwrap()
    };
    // The answers, for the floor to write.
    let answer: serde_json::Value = serde_json::from_slice(&handle(&text)).unwrap();
    let results: Vec<&str> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    let (_, calls) = redshift::parse_event(&text).unwrap();
    let rows = calls.len() as u64;
    assert_eq!(results.len() as u64, rows);

    let mut group = c.benchmark_group("per record");
    group.throughput(Throughput::Elements(rows));
    group.bench_function("floor", |b| {
        let mut bytes = Vec::new();
        b.iter(|| {
            let (_, calls) = redshift::parse_event(black_box(&text)).unwrap();
            for payload in payloads(&calls) {
                decode_hex_into(payload, &mut bytes).unwrap();
                black_box(&bytes);
            }
            black_box(floor_response(&results))
        })
    });
    group.bench_function("warm path", |b| {
        b.iter(|| black_box(handle(black_box(&text))))
    });
    group.bench_function("stage: read the event", |b| {
        b.iter(|| black_box(redshift::parse_event(black_box(&text)).unwrap()))
    });
    let hex = payloads(&calls);
    group.bench_function("stage: hex, SIMD", |b| {
        let mut bytes = Vec::new();
        b.iter(|| {
            for payload in &hex {
                decode_hex_into(payload, &mut bytes).unwrap();
                black_box(&bytes);
            }
        })
    });
    group.bench_function("stage: hex, hex crate", |b| {
        let mut bytes = Vec::new();
        b.iter(|| {
            for payload in &hex {
                bytes.resize(payload.len() / 2, 0);
                hex::decode_to_slice(payload, &mut bytes).unwrap();
                black_box(&bytes);
            }
        })
    });
    group.bench_function("stage: write the response", |b| {
        b.iter(|| black_box(floor_response(black_box(&results))))
    });
    group.bench_function("stage: write the response, serde_json", |b| {
        b.iter(|| black_box(serde_json::to_vec(black_box(&results)).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, warm_path);
criterion_main!(benches);
