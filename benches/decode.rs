//! Micro-benchmarks: one record decoded to JSON text, superdecode beside the obvious
//! alternative built on the same crates, measured side by side in one run:
//!
//! * Avro: superdecode's compiled tree writing JSON directly, vs `apache-avro`'s
//!   `GenericDatumReader` into its `Value`, converted to `serde_json` and printed.
//! * Protobuf: superdecode's writer, vs `prost-reflect`'s own serde ProtoJSON printer.
//! * The pipeline: a 1,000-row Redshift batch through `Engine::decode_rows` (hex, frame,
//!   cached schema, decode), per record.
//!
//! Inputs are the quick-start samples (samples/redshift-event.json), produced by fastavro
//! and the Python protobuf runtime. Run: `cargo bench --bench decode`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use prost_reflect::DynamicMessage;
use serde_json::Value;
use superdecode::config::Settings;
use superdecode::decode::avro::AvroDecoder;
use superdecode::decode::protobuf::ProtobufDecoder;
use superdecode::decode::{DecodeContext, JsonOptions, RecordDecoder};
use superdecode::pipeline::{Call, SchemaNames};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(path)).unwrap()
}

/// The sample event's rows, as (arguments).
fn sample_rows() -> Vec<Value> {
    let event: Value = serde_json::from_str(&read("samples/redshift-event.json")).unwrap();
    event["arguments"].as_array().unwrap().clone()
}

/// The raw body of the first sample row whose arguments start with `first`.
fn raw_body(rows: &[Value], first: &str) -> Vec<u8> {
    let row = rows
        .iter()
        .find(|r| r[0] == first && r.as_array().unwrap().len() >= 2)
        .unwrap();
    let args = row.as_array().unwrap();
    hex::decode(args.last().unwrap().as_str().unwrap()).unwrap()
}

fn avro(c: &mut Criterion) {
    let rows = sample_rows();
    for (name, schema_path, body) in [
        (
            "orders",
            "schemas/default-registry/orders/1.avsc",
            raw_body(&rows, "default-registry"),
        ),
        (
            "clickstream",
            "schemas/default-registry/clickstream/2.avsc",
            raw_body(&rows, "clickstream"),
        ),
    ] {
        let text = read(schema_path);
        let ours = AvroDecoder::new(&text, &JsonOptions::default()).unwrap();
        let schema = apache_avro::Schema::parse_str(&text).unwrap();
        // Built once, outside the loop, as superdecode's tree is.
        let reader = apache_avro::reader::datum::GenericDatumReader::builder(&schema)
            .build()
            .unwrap();
        let ctx = DecodeContext::default();
        let mut group = c.benchmark_group(format!("avro/{name}"));
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function("superdecode", |b| {
            b.iter(|| {
                let mut out = String::with_capacity(512);
                ours.decode(black_box(&body), &ctx, &mut out).unwrap();
                out
            })
        });
        group.bench_function("apache-avro Value + serde_json", |b| {
            b.iter(|| {
                let value = reader.read_value(&mut black_box(&body[..])).unwrap();
                let json = serde_json::Value::try_from(value).unwrap();
                serde_json::to_string(&json).unwrap()
            })
        });
        group.finish();
    }
}

fn protobuf(c: &mut Criterion) {
    let rows = sample_rows();
    let body = raw_body(&rows, "payments");
    let ours = ProtobufDecoder::new(
        &read("schemas/default-registry/payments/1.proto"),
        &JsonOptions::default(),
    )
    .unwrap();
    let pool = protox::compile(
        [Path::new(ROOT).join("schemas/default-registry/payments/1.proto")],
        [Path::new(ROOT).join("schemas/default-registry/payments")],
    )
    .map(|set| prost_reflect::DescriptorPool::from_file_descriptor_set(set).unwrap())
    .unwrap();
    let message = pool
        .get_message_by_name("com.example.payments.PaymentAuthorized")
        .unwrap();
    let ctx = DecodeContext::default();
    let mut group = c.benchmark_group("protobuf/payment");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("superdecode", |b| {
        b.iter(|| {
            let mut out = String::with_capacity(256);
            ours.decode(black_box(&body), &ctx, &mut out).unwrap();
            out
        })
    });
    group.bench_function("prost-reflect serde", |b| {
        b.iter(|| {
            let decoded = DynamicMessage::decode(message.clone(), black_box(&body[..])).unwrap();
            serde_json::to_string(&decoded).unwrap()
        })
    });
    group.finish();
}

fn pipeline(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let settings = Settings::from_flags(["--schemas", &format!("{ROOT}/schemas")]).unwrap();
    let engine = runtime.block_on(settings.engine()).unwrap();
    // The sample's decodable rows, repeated to a 1,000-row batch.
    let samples: Vec<Call> = sample_rows()
        .iter()
        .filter_map(|row| {
            let args: Vec<String> = row
                .as_array()?
                .iter()
                .map(|a| a.as_str().map(str::to_owned))
                .collect::<Option<_>>()?;
            match args.as_slice() {
                [hex] => Some(Call::Framed {
                    payload: Some(hex.clone().into()),
                }),
                [stream, hex] if hex != "not-hex" => Some(Call::Stream {
                    stream: Some(stream.clone().into()),
                    payload: Some(hex.clone().into()),
                }),
                [registry, schema, hex] => Some(Call::Named {
                    names: Box::new(SchemaNames {
                        registry: Some(registry.clone().into()),
                        schema: Some(schema.clone().into()),
                    }),
                    payload: Some(hex.clone().into()),
                }),
                _ => None,
            }
        })
        .collect();
    let batch: Vec<Call> = samples.iter().cycle().take(1000).cloned().collect();
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.bench_function("1000-row batch", |b| {
        b.iter(|| {
            runtime
                .block_on(engine.decode_rows(black_box(&batch), Default::default(), None))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, avro, protobuf, pipeline);
criterion_main!(benches);
