//! `encode` is the inverse of `decode`: every fixture expectation (made by independent
//! encoders, see tests/fixtures/generate.py) encodes with the same schema, framing and
//! options, and decodes back to itself.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use superdecode::config::Settings;
use superdecode::encode::Encoder;
use superdecode::frame::{self, FrameLimits, Framing, WireFormat};
use superdecode::redshift::OnError;
use superdecode::redshift::{self, ResponsePolicy};
use superdecode::schema::SchemaKey;
use superdecode::schema::local::LocalSource;
use superdecode::schema::{SchemaDefinition, SchemaSource};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
}

fn cases() -> Vec<Value> {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("cases.json")).unwrap()).unwrap()
}

fn flags(case: &Value) -> Vec<String> {
    let mut flags = vec![
        "--schemas".to_owned(),
        fixtures().join("schemas").display().to_string(),
        "--registry".to_owned(),
        "fixtures".to_owned(),
    ];
    for (key, value) in case
        .get("options")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        flags.push(format!("--{}", key.replace('_', "-")));
        flags.push(value.as_str().unwrap().to_owned());
    }
    flags
}

/// The wire format, schema and zlib flag of a framed fixture payload.
async fn framed_target(source: &LocalSource, hex: &str) -> (WireFormat, bool, SchemaDefinition) {
    let bytes = frame::decode_hex(hex).unwrap();
    let limits = FrameLimits {
        max_inflated_bytes: 1 << 20,
    };
    let frame = frame::unframe(&bytes, Framing::Auto, &limits).unwrap();
    let key = SchemaKey::Id(frame.schema_id.unwrap());
    let definition = source.fetch(&key).await.unwrap().unwrap();
    (frame.wire, bytes[0] == 0x03 && bytes[1] == 0x05, definition)
}

async fn decode_one(settings: &Settings, args: Value) -> String {
    let engine = settings.engine().await.unwrap();
    let response = redshift::handle(
        &engine,
        ResponsePolicy::new(OnError::Object),
        &json!({"arguments": [args]}).to_string(),
        None,
    )
    .await;
    let response = serde_json::to_value(&response.response).unwrap();
    response["results"][0].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_framed_avro_fixture_round_trips() {
    let source = LocalSource::load(&fixtures().join("schemas")).unwrap();
    let mut checked = 0;
    for case in cases() {
        let args = case["args"].as_array().unwrap();
        let (Some(expected), 1) = (case["expected"].as_str(), args.len()) else {
            continue;
        };
        let hex = args[0].as_str().unwrap();
        let (framing, zlib, definition) = framed_target(&source, hex).await;
        if definition.format != superdecode::decode::DataFormat::Avro {
            continue;
        }
        let settings = Settings::from_flags(flags(&case)).unwrap();
        let encoder =
            Encoder::new(&definition, framing, zlib, None, &settings.json_options()).unwrap();
        let payload = encoder
            .encode(expected)
            .unwrap_or_else(|e| panic!("{}: {e}", case["name"]));
        let decoded = decode_one(&settings, json!([hex::encode(payload)])).await;
        assert_eq!(decoded, expected, "{}", case["name"]);
        checked += 1;
    }
    assert!(checked >= 17, "only {checked} Avro cases round-tripped");
}

#[tokio::test]
async fn raw_avro_fixtures_round_trip_under_every_option() {
    let source = LocalSource::load(&fixtures().join("schemas")).unwrap();
    let mut checked = 0;
    for case in cases() {
        let args = case["args"].as_array().unwrap();
        let (Some(expected), [stream, _]) = (case["expected"].as_str(), args.as_slice()) else {
            continue;
        };
        let stream = stream.as_str().unwrap();
        let key = SchemaKey::Named {
            source: superdecode::schema::SourceKind::Local,
            registry: "fixtures".into(),
            schema: stream.into(),
            version: superdecode::schema::VersionPin::Latest,
        };
        let Some(definition) = source.fetch(&key).await.unwrap() else {
            continue;
        };
        if definition.format != superdecode::decode::DataFormat::Avro {
            continue;
        }
        let settings = Settings::from_flags(flags(&case)).unwrap();
        let encoder = Encoder::new(
            &definition,
            WireFormat::Raw,
            false,
            None,
            &settings.json_options(),
        )
        .unwrap();
        let payload = encoder
            .encode(expected)
            .unwrap_or_else(|e| panic!("{}: {e}", case["name"]));
        let decoded = decode_one(&settings, json!([stream, hex::encode(payload)])).await;
        assert_eq!(decoded, expected, "{}", case["name"]);
        checked += 1;
    }
    assert!(checked >= 26, "only {checked} raw cases");
}

#[tokio::test]
async fn protobuf_fixtures_round_trip_through_glue_and_confluent_indexes() {
    let source = LocalSource::load(&fixtures().join("schemas")).unwrap();
    let picks = [
        ("protobuf glue order", "fixtures.shop.Order"),
        ("protobuf confluent order", "fixtures.shop.Order"),
        // NaN is written as null by default, which reads back as 0: use the string form.
        (
            "protobuf Scalars with non_finite=string",
            "fixtures.shop.Scalars",
        ),
        ("protobuf glue nested discount", "Order.Line.Discount"),
        ("protobuf confluent nested discount", "Order.Line.Discount"),
        ("protobuf confluent audit", "Audit"),
        ("protobuf proto2 with group", "fixtures.legacy.Legacy"),
        ("protobuf Order with int64=string", "Order"),
    ];
    let cases = cases();
    for (name, message) in picks {
        let case = cases
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no case {name}"));
        let hex = case["args"][0].as_str().unwrap();
        let (framing, zlib, definition) = framed_target(&source, hex).await;
        let settings = Settings::from_flags(flags(case)).unwrap();
        let encoder = Encoder::new(
            &definition,
            framing,
            zlib,
            Some(message.into()),
            &settings.json_options(),
        )
        .unwrap();
        let expected = case["expected"].as_str().unwrap();
        let payload = encoder
            .encode(expected)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // The message index or path we write is the one the independent encoder wrote.
        // Glue: 18-byte header + one index byte. Confluent: 5-byte header + the index
        // array (a zigzag count, then that many one-byte indexes here; `00` alone = [0]).
        let header_len = match framing {
            WireFormat::Glue => 19,
            _ => {
                let count = u8::from_str_radix(&hex[10..12], 16).unwrap() / 2;
                6 + usize::from(count)
            }
        };
        assert_eq!(
            hex::encode(&payload[..header_len]),
            hex[..header_len * 2],
            "{name}: header"
        );
        let decoded = decode_one(&settings, json!([hex::encode(&payload)])).await;
        let decoded: Value = serde_json::from_str(&decoded).unwrap();
        assert_eq!(
            decoded,
            serde_json::from_str::<Value>(expected).unwrap(),
            "{name}"
        );
    }
}

fn superdecode(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_superdecode"))
        .args(args)
        .current_dir(ROOT)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("SUPERDECODE_SCHEMAS")
        .output()
        .unwrap()
}

#[test]
fn the_cli_encodes_what_it_decodes() {
    let order =
        std::fs::read_to_string(format!("{ROOT}/samples/redshift-event.expected.json")).unwrap();
    let expected: Vec<Value> = serde_json::from_str(&order).unwrap();
    let order = expected[3].as_str().unwrap(); // the orders sample: decimals, date, fixed, map
    for framing in [
        &["--framing", "glue", "--zlib"][..],
        &["--framing", "soe"],
        &["--framing", "raw"],
    ] {
        let mut args = vec!["encode", "--schemas", "schemas", "--schema", "orders"];
        args.extend_from_slice(framing);
        args.push(order);
        let out = superdecode(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let hex = String::from_utf8(out.stdout).unwrap();
        let decode_args: Vec<&str> = if framing[1] == "raw" {
            vec![
                "decode",
                "--schemas",
                "schemas",
                "--stream",
                "orders",
                hex.trim(),
            ]
        } else {
            vec!["decode", "--schemas", "schemas", hex.trim()]
        };
        let out = superdecode(&decode_args);
        assert_eq!(
            String::from_utf8(out.stdout).unwrap().trim_end(),
            order,
            "{framing:?}"
        );
    }
}

#[test]
fn encode_explains_what_it_cannot_do() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["--schema", "orders", "--framing", "confluent", "{}"],
            "no Confluent ID",
        ),
        (
            &["--schema", "orders", "--zlib", "{}"],
            "--zlib applies only to --framing glue",
        ),
        (
            &["--schema", "payments", "--framing", "soe", "{}"],
            "for Avro schemas only",
        ),
        (
            &["--schema", "orders", "{\"order_id\": 5}"],
            "at $.order_id: expected a string",
        ),
        (&["--schema", "nope", "{}"], "does not exist"),
    ];
    for (args, message) in cases {
        let mut full = vec!["encode", "--schemas", "schemas"];
        full.extend_from_slice(args);
        let out = superdecode(&full);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}
