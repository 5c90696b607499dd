//! The Glue Schema Registry source and the schema cache, against a real AWS API emulator:
//! `moto_server` (installed, pinned, by scripts/test.sh). Registry calls are counted with
//! moto's own request recorder, not with a mock. moto's STS and Secrets Manager serve the
//! cross-account role and the Confluent registry's credentials, and a batch mixes Glue and
//! Confluent producers (the loopback Confluent registry of tests/common).

mod common;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_glue::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_glue::types::{Compatibility, DataFormat, RegistryId, SchemaId};
use common::{Running, free_port, http, wait_for_port};
use serde_json::{Value, json};
use superdecode::decode::JsonOptions;
use superdecode::frame;
use superdecode::pipeline::{Engine, Limits};
use superdecode::schema::glue::GlueSource;
use superdecode::schema::{CacheSettings, Lookup, SchemaCache, SchemaKey, SourceKind};
use superdecode::streams::Streams;

const V1: &str = r#"{"type":"record","name":"Event","fields":[{"name":"id","type":"long"}]}"#;
const V2: &str = r#"{"type":"record","name":"Event","fields":[{"name":"id","type":"long"},
    {"name":"note","type":"string","default":""}]}"#;
const V3: &str = r#"{"type":"record","name":"Event","fields":[{"name":"id","type":"long"},
    {"name":"note","type":"string","default":""},{"name":"n","type":"int","default":0}]}"#;

/// Avro bodies for id=5 (and note "hi", n=1) in each version.
const BODY_V1: &str = "0a";
const BODY_V2: &str = "0a046869";
const BODY_V3: &str = "0a04686902";

struct Moto {
    _process: Running,
    port: u16,
    /// Holds moto's request recording: each server needs its own file.
    _recording: tempfile::TempDir,
}

impl Moto {
    fn start() -> Moto {
        let port = free_port();
        let recording = tempfile::tempdir().unwrap();
        let process = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_RECORDER_FILEPATH", recording.path().join("requests.jsonl"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server is required for this test: run scripts/test.sh, which installs the pinned version");
        let mut process = Running(process);
        wait_for_port(port, &mut process, "moto_server");
        let moto = Moto {
            _process: process,
            port,
            _recording: recording,
        };
        let (status, _) = http(port, "POST", "/moto-api/recorder/start-recording", "");
        assert_eq!(status, 200);
        moto
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn client(&self) -> aws_sdk_glue::Client {
        glue_client(&self.endpoint())
    }

    /// Every request moto has recorded since the last reset, one JSON object each.
    fn recording(&self) -> Vec<Value> {
        let (status, log) = http(
            self.port,
            "GET",
            "/moto-api/recorder/download-recording",
            "",
        );
        assert_eq!(status, 200);
        log.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// `GetSchemaVersion` calls moto has recorded since the last reset.
    fn schema_version_calls(&self) -> usize {
        let recording = self.recording();
        if std::env::var_os("SHOW_MOTO_LOG").is_some() {
            eprintln!("{recording:#?}");
        }
        recording
            .iter()
            .filter(|r| r["headers"]["X-Amz-Target"] == "AWSGlue.GetSchemaVersion")
            .count()
    }

    fn reset_calls(&self) {
        let (status, _) = http(self.port, "POST", "/moto-api/recorder/reset-recording", "");
        assert_eq!(status, 200);
        let (status, _) = http(self.port, "POST", "/moto-api/recorder/start-recording", "");
        assert_eq!(status, 200);
    }

    /// Creates registry "reg" with schema "events" at V1; returns the version UUID.
    async fn create_events_schema(&self) -> String {
        self.create_schema("events", DataFormat::Avro, V1).await
    }

    /// Creates `name` in registry "reg" (made on first use); returns the version UUID.
    async fn create_schema(&self, name: &str, format: DataFormat, definition: &str) -> String {
        let client = self.client();
        let registry = client.create_registry().registry_name("reg").send().await;
        if let Err(e) = registry {
            let already = e
                .as_service_error()
                .is_some_and(|e| e.is_already_exists_exception());
            assert!(already, "create_registry: {e:?}");
        }
        let created = client
            .create_schema()
            .registry_id(RegistryId::builder().registry_name("reg").build())
            .schema_name(name)
            .data_format(format)
            .compatibility(Compatibility::None)
            .schema_definition(definition)
            .send()
            .await
            .unwrap();
        created.schema_version_id().unwrap().to_owned()
    }

    async fn register(&self, definition: &str) -> String {
        let registered = self
            .client()
            .register_schema_version()
            .schema_id(
                SchemaId::builder()
                    .registry_name("reg")
                    .schema_name("events")
                    .build(),
            )
            .schema_definition(definition)
            .send()
            .await
            .unwrap();
        registered.schema_version_id().unwrap().to_owned()
    }

    fn engine(&self, settings: CacheSettings) -> Engine {
        engine_over(self.client(), settings)
    }
}

/// A Glue client for a local endpoint, with test credentials.
fn glue_client(endpoint: &str) -> aws_sdk_glue::Client {
    let config = aws_sdk_glue::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .build();
    aws_sdk_glue::Client::from_conf(config)
}

/// An engine over the Glue source behind `client`, registry "reg".
fn engine_over(client: aws_sdk_glue::Client, settings: CacheSettings) -> Engine {
    let source = Arc::new(GlueSource::from_client(client));
    Engine::new(
        SchemaCache::new(source, JsonOptions::default(), settings),
        Streams::new("reg".to_owned(), HashMap::new()).with_source(SourceKind::Glue),
        Limits {
            max_result_bytes: 65_535,
            max_inflated_bytes: 1 << 20,
            max_depth: superdecode::decode::DEFAULT_MAX_DEPTH,
        },
    )
}

fn glue_frame(version_id: &str, body: &str) -> String {
    format!("0300{}{body}", version_id.replace('-', ""))
}

async fn batch(engine: &Engine, rows: Vec<Value>) -> Value {
    common::batch(engine, &rows).await
}

fn results(response: &Value) -> Vec<String> {
    assert_eq!(response["success"], true, "{response}");
    response["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect()
}

const ID5: &str = r#"{"id":5}"#;
const ID5_NOTE: &str = r#"{"id":5,"note":"hi"}"#;
const ID5_NOTE_N: &str = r#"{"id":5,"note":"hi","n":1}"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_over_n_versions_makes_n_calls_and_the_next_batch_none() {
    let moto = Moto::start();
    let v1 = moto.create_events_schema().await;
    let v2 = moto.register(V2).await;
    let v3 = moto.register(V3).await;
    let engine = moto.engine(CacheSettings::default());
    let frames = [
        (glue_frame(&v1, BODY_V1), ID5),
        (glue_frame(&v2, BODY_V2), ID5_NOTE),
        (glue_frame(&v3, BODY_V3), ID5_NOTE_N),
    ];
    let rows: Vec<Value> = (0..300).map(|i| json!([frames[i % 3].0])).collect();
    moto.reset_calls();

    let first = results(&batch(&engine, rows.clone()).await);
    for (i, result) in first.iter().enumerate() {
        assert_eq!(result, frames[i % 3].1, "row {i}");
    }
    assert_eq!(
        moto.schema_version_calls(),
        3,
        "300 records over 3 versions"
    );

    results(&batch(&engine, rows).await);
    assert_eq!(
        moto.schema_version_calls(),
        3,
        "the second batch is served from the cache"
    );
    let stats = engine.schemas().stats();
    assert_eq!((stats.registry_calls, stats.misses), (3, 3));
}

#[tokio::test(flavor = "multi_thread")]
async fn one_latest_call_also_fills_the_version_id_entry() {
    let moto = Moto::start();
    moto.create_events_schema().await;
    let v2 = moto.register(V2).await;
    let engine = moto.engine(CacheSettings::default());
    moto.reset_calls();
    let raw = results(&batch(&engine, vec![json!(["events", BODY_V2])]).await);
    assert_eq!(raw, [ID5_NOTE]);
    let framed = results(&batch(&engine, vec![json!([glue_frame(&v2, BODY_V2)])]).await);
    assert_eq!(framed, [ID5_NOTE]);
    assert_eq!(moto.schema_version_calls(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn latest_expires_after_its_ttl() {
    let moto = Moto::start();
    moto.create_events_schema().await;
    let engine = moto.engine(CacheSettings {
        latest_ttl: Duration::from_millis(1500),
        ..CacheSettings::default()
    });
    assert_eq!(
        results(&batch(&engine, vec![json!(["events", BODY_V1])]).await),
        [ID5]
    );
    moto.register(V2).await;
    moto.reset_calls();
    // Within the TTL the cached v1 serves, with no registry call.
    assert_eq!(
        results(&batch(&engine, vec![json!(["events", BODY_V1])]).await),
        [ID5]
    );
    assert_eq!(moto.schema_version_calls(), 0);
    tokio::time::sleep(Duration::from_millis(1700)).await;
    // After it, one call picks up v2.
    assert_eq!(
        results(&batch(&engine, vec![json!(["events", BODY_V2])]).await),
        [ID5_NOTE]
    );
    assert_eq!(moto.schema_version_calls(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_that_fails_against_cached_latest_triggers_one_refetch() {
    let moto = Moto::start();
    moto.create_events_schema().await;
    let engine = moto.engine(CacheSettings::default()); // 5-minute TTL
    assert_eq!(
        results(&batch(&engine, vec![json!(["events", BODY_V1])]).await),
        [ID5]
    );
    moto.register(V2).await;
    moto.reset_calls();

    // A v2 record against cached v1 leaves trailing bytes: refetch, pick up v2, decode.
    let rows = vec![
        json!(["events", BODY_V2]),
        json!(["events", BODY_V1]),
        json!(["events", BODY_V2]),
    ];
    assert_eq!(
        results(&batch(&engine, rows).await),
        [ID5_NOTE, ID5, ID5_NOTE]
    );
    assert_eq!(moto.schema_version_calls(), 1);

    // A run of bad records does not hammer the registry: within the window, no refetch.
    let bad = vec![
        json!(["events", "ff"]),
        json!(["events", "0a0a"]),
        json!(["events", "ffff"]),
    ];
    let errors = results(&batch(&engine, bad.clone()).await);
    assert!(
        errors.iter().all(|e| e.contains("_decode_error")),
        "{errors:?}"
    );
    results(&batch(&engine, bad).await);
    assert_eq!(moto.schema_version_calls(), 1);
    assert_eq!(engine.schemas().stats().refetches, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_registry_outage_fails_batches_that_need_it_and_never_writes_error_objects() {
    let moto = Moto::start();
    let v1 = moto.create_events_schema().await;
    moto.register(V2).await;
    let engine = moto.engine(CacheSettings {
        latest_ttl: Duration::from_millis(500),
        ..CacheSettings::default()
    });
    let framed_v1 = json!([glue_frame(&v1, BODY_V1)]);
    assert_eq!(
        results(&batch(&engine, vec![framed_v1.clone()]).await),
        [ID5]
    );
    assert_eq!(
        results(&batch(&engine, vec![json!(["events", BODY_V2])]).await),
        [ID5_NOTE]
    );
    let v3 = moto.register(V3).await; // registered, never fetched
    drop(moto); // the registry is gone
    tokio::time::sleep(Duration::from_millis(700)).await;

    let response = batch(
        &engine,
        vec![framed_v1.clone(), json!([glue_frame(&v3, BODY_V3)])],
    )
    .await;
    assert_eq!(response["success"], false, "{response}");
    let message = response["error_msg"].as_str().unwrap();
    assert!(
        message.contains("Glue GetSchemaVersion failed"),
        "{message}"
    );
    assert!(response.get("results").is_none());

    // What is cached keeps serving: an immutable ID, and a stale latest past its TTL.
    assert_eq!(results(&batch(&engine, vec![framed_v1]).await), [ID5]);
    assert_eq!(
        results(&batch(&engine, vec![json!(["events", BODY_V2])]).await),
        [ID5_NOTE]
    );
    assert_eq!(engine.schemas().stats().stale_served, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_misses_for_one_key_make_one_call_and_not_found_is_remembered() {
    let moto = Moto::start();
    moto.create_events_schema().await;
    let engine = moto.engine(CacheSettings::default());
    moto.reset_calls();
    let unknown = SchemaKey::Id(frame::SchemaId::Glue(
        "0f0e0d0c-0b0a-0908-0706-050403020100".parse().unwrap(),
    ));
    let lookups = (0..16).map(|_| engine.schemas().lookup(&unknown));
    for lookup in futures::future::join_all(lookups).await {
        assert!(matches!(lookup, Ok(Lookup::NotFound)));
    }
    assert_eq!(moto.schema_version_calls(), 1);

    // In a batch, an unknown version ID is that record's error; the batch succeeds.
    let response = batch(
        &engine,
        vec![json!([glue_frame(
            "0f0e0d0c-0b0a-0908-0706-050403020100",
            BODY_V1
        )])],
    )
    .await;
    assert!(results(&response)[0].contains("schema_not_found"));
    assert_eq!(moto.schema_version_calls(), 1, "not found is cached");

    // A configured schema that does not exist is an environment error.
    let response = batch(&engine, vec![json!(["no_such_stream", BODY_V1])]).await;
    assert_eq!(response["success"], false);
    assert!(
        response["error_msg"]
            .as_str()
            .unwrap()
            .contains("does not exist")
    );
}

/// Runs the binary with only the standard AWS configuration pointing it at moto.
fn superdecode_on_glue(moto: &Moto, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_superdecode"))
        .args(args)
        .env_remove("SUPERDECODE_SCHEMAS")
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env("AWS_ENDPOINT_URL_GLUE", moto.endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_uses_glue_through_the_standard_aws_configuration() {
    let moto = Moto::start();
    let v1 = moto.create_events_schema().await;
    let output = superdecode_on_glue(
        &moto,
        &["decode", "--registry", "reg", "--stream", "events", BODY_V1],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        format!("{ID5}\n")
    );

    let output = superdecode_on_glue(&moto, &["decode", &glue_frame(&v1, BODY_V1)]);
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        format!("{ID5}\n")
    );

    // encode takes the version UUID for a Glue frame from the registry itself.
    let output = superdecode_on_glue(
        &moto,
        &[
            "encode",
            "--registry",
            "reg",
            "--schema",
            "events",
            "--framing",
            "glue",
            ID5,
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().trim(),
        glue_frame(&v1, BODY_V1)
    );
}

/// A fixture case's Glue-framed payload, re-framed with the version ID moto assigned.
fn fixture_with_version(name: &str, version_id: &str) -> (String, Value) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cases.json");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let case = cases.iter().find(|c| c["name"] == name).unwrap();
    let hex = case["args"][0].as_str().unwrap();
    let framed = format!("{}{}{}", &hex[..4], version_id.replace('-', ""), &hex[36..]);
    (framed, case.clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn protobuf_and_json_schemas_from_glue_decode_framed_records() {
    let moto = Moto::start();
    let root = env!("CARGO_MANIFEST_DIR");
    let proto = std::fs::read_to_string(format!(
        "{root}/tests/fixtures/schemas/fixtures/shop/1.proto"
    ))
    .unwrap();
    let json_schema = std::fs::read_to_string(format!(
        "{root}/tests/fixtures/schemas/fixtures/signups/1.json"
    ))
    .unwrap();
    let shop = moto
        .create_schema("shop", DataFormat::Protobuf, &proto)
        .await;
    let signups = moto
        .create_schema("signups", DataFormat::Json, &json_schema)
        .await;
    let engine = moto.engine(CacheSettings::default());
    let picks = [
        ("protobuf glue order", &shop),
        ("protobuf glue nested discount", &shop),
        ("protobuf glue zlib order", &shop),
        ("glue json document 0", &signups),
    ];
    let (rows, cases): (Vec<Value>, Vec<Value>) = picks
        .iter()
        .map(|(name, id)| {
            let (framed, case) = fixture_with_version(name, id);
            (json!([framed]), case)
        })
        .unzip();
    let got = results(&batch(&engine, rows).await);
    for (got, case) in got.iter().zip(&cases) {
        let expected = case["expected"].as_str().unwrap();
        if case["compare"] == "json" {
            let got: Value = serde_json::from_str(got).unwrap();
            assert_eq!(
                got,
                serde_json::from_str::<Value>(expected).unwrap(),
                "{}",
                case["name"]
            );
        } else {
            assert_eq!(got, expected, "{}", case["name"]);
        }
    }
}

/// A loopback proxy in front of moto that injects what moto cannot: latency on every
/// call, and throttling (`ThrottlingException`, as Glue answers a burst) on a share of
/// them. It counts the calls in flight at once, which is what a registry feels.
struct FaultProxy {
    port: u16,
    stats: Arc<ProxyStats>,
}

#[derive(Default)]
struct ProxyStats {
    in_flight: std::sync::atomic::AtomicUsize,
    peak: std::sync::atomic::AtomicUsize,
    requests: std::sync::atomic::AtomicUsize,
    throttled: std::sync::atomic::AtomicUsize,
}

impl FaultProxy {
    /// Forwards to moto after `delay`; when `throttle_every` is `Some(n)`, every n-th
    /// request is answered with a throttling error instead.
    fn start(moto_port: u16, delay: Duration, throttle_every: Option<usize>) -> FaultProxy {
        use std::sync::atomic::Ordering::SeqCst;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stats = Arc::new(ProxyStats::default());
        let shared = Arc::clone(&stats);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let stats = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let mut reader = std::io::BufReader::new(client.try_clone().unwrap());
                    let mut client = client;
                    while let Some(request) = read_request(&mut reader) {
                        let n = stats.requests.fetch_add(1, SeqCst) + 1;
                        let now = stats.in_flight.fetch_add(1, SeqCst) + 1;
                        stats.peak.fetch_max(now, SeqCst);
                        std::thread::sleep(delay);
                        let response = if throttle_every.is_some_and(|every| n % every == 0) {
                            stats.throttled.fetch_add(1, SeqCst);
                            let body =
                                r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
                            format!(
                                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\n\
                                 x-amzn-ErrorType: ThrottlingException\r\nContent-Length: {}\r\n\r\n{body}",
                                body.len()
                            )
                            .into_bytes()
                        } else {
                            forward(moto_port, &request)
                        };
                        stats.in_flight.fetch_sub(1, SeqCst);
                        if std::io::Write::write_all(&mut client, &response).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        FaultProxy { port, stats }
    }

    fn client(&self) -> aws_sdk_glue::Client {
        glue_client(&format!("http://127.0.0.1:{}", self.port))
    }

    fn engine(&self, settings: CacheSettings) -> Engine {
        engine_over(self.client(), settings)
    }

    fn stat(&self, counter: &std::sync::atomic::AtomicUsize) -> usize {
        counter.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// One HTTP/1.1 request (headers and a Content-Length body), or `None` at end of stream.
fn read_request(reader: &mut impl std::io::BufRead) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if let Some(n) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = n.trim().parse().ok()?;
        }
        // Each forwarded request gets its own upstream connection.
        if !line.to_ascii_lowercase().starts_with("connection:") {
            head.extend_from_slice(line.as_bytes());
        }
        if line == "\r\n" {
            break;
        }
    }
    let blank = head.len() - 2;
    head.truncate(blank);
    head.extend_from_slice(b"Connection: close\r\n\r\n");
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    head.extend_from_slice(&body);
    Some(head)
}

fn forward(port: u16, request: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut upstream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    upstream.write_all(request).unwrap();
    let mut response = Vec::new();
    upstream.read_to_end(&mut response).unwrap();
    response
}

fn unknown_glue_frame(i: u32) -> String {
    format!(
        "0300{:032x}{BODY_V1}",
        0xdead_0000_0000_0000_0000_0000_0000_0000u128 + u128::from(i)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn hundreds_of_unknown_ids_in_one_batch_queue_within_the_concurrency_bound() {
    let moto = Moto::start();
    let v1 = moto.create_events_schema().await;
    let proxy = FaultProxy::start(moto.port, Duration::from_millis(50), None);
    let engine = proxy.engine(CacheSettings::default());
    let mut rows: Vec<Value> = (0..300).map(|i| json!([unknown_glue_frame(i)])).collect();
    rows.push(json!([glue_frame(&v1, BODY_V1)]));
    let started = std::time::Instant::now();
    let answer = results(&batch(&engine, rows).await);
    let elapsed = started.elapsed();
    let not_found = answer
        .iter()
        .filter(|r| r.contains("\"schema_not_found\""))
        .count();
    assert_eq!(not_found, 300, "{:?}", &answer[..3]);
    assert_eq!(answer[300], ID5, "the known record decodes");
    let peak = proxy.stat(&proxy.stats.peak);
    let calls = proxy.stat(&proxy.stats.requests);
    eprintln!(
        "300 unknown IDs + 1 known: {calls} registry calls, peak {peak} in flight, {} ms",
        elapsed.as_millis()
    );
    assert!(
        peak <= superdecode::schema::DEFAULT_REGISTRY_CONCURRENCY,
        "peak {peak} concurrent registry calls"
    );
    assert_eq!(calls, 301, "one call per distinct ID");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_registry_that_throttles_every_other_call_still_gets_the_batch_through() {
    let moto = Moto::start();
    let v1 = moto.create_events_schema().await;
    let v2 = moto.register(V2).await;
    let v3 = moto.register(V3).await;
    let proxy = FaultProxy::start(moto.port, Duration::from_millis(5), Some(2));
    let engine = proxy.engine(CacheSettings::default());
    let mut rows: Vec<Value> = (0..40).map(|i| json!([unknown_glue_frame(i)])).collect();
    rows.push(json!([glue_frame(&v1, BODY_V1)]));
    rows.push(json!([glue_frame(&v2, BODY_V2)]));
    rows.push(json!([glue_frame(&v3, BODY_V3)]));
    let before = engine.schemas().stats();
    let answer = results(&batch(&engine, rows).await);
    let stats = engine.schemas().stats() - before;
    assert_eq!(&answer[40..], [ID5, ID5_NOTE, ID5_NOTE_N]);
    assert!(
        answer[..40]
            .iter()
            .all(|r| r.contains("\"schema_not_found\""))
    );
    let throttled = proxy.stat(&proxy.stats.throttled);
    eprintln!(
        "throttled {throttled} of {} calls; {} retries",
        proxy.stat(&proxy.stats.requests),
        stats.retries
    );
    assert!(throttled >= 20, "the proxy throttled {throttled} calls");
    assert_eq!(
        stats.retries as usize, throttled,
        "every throttled call was retried"
    );
}

/// Schema evolution with the versions in Glue: the evolution fixtures' five `orders`
/// versions registered in moto, their Glue-framed records re-framed with moto's version
/// IDs, every row read in the newest version's shape; and raw records whose writer version
/// is inferred through Glue lookups by version number.
#[tokio::test(flavor = "multi_thread")]
async fn framed_and_inferred_records_read_in_the_latest_shape_from_glue() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/evolution");
    let schema = |v: u32| {
        std::fs::read_to_string(format!("{dir}/schemas/evolution/orders/{v}.avsc")).unwrap()
    };
    let moto = Moto::start();
    let client = moto.client();
    let mut ids = vec![
        moto.create_schema("orders", DataFormat::Avro, &schema(1))
            .await,
    ];
    for v in 2..=5 {
        let registered = client
            .register_schema_version()
            .schema_id(
                SchemaId::builder()
                    .registry_name("reg")
                    .schema_name("orders")
                    .build(),
            )
            .schema_definition(schema(v))
            .send()
            .await
            .unwrap();
        ids.push(registered.schema_version_id().unwrap().to_owned());
    }
    let overrides: HashMap<String, superdecode::streams::StreamOverride> =
        serde_json::from_value(json!({
            "orders_framed": {"schema": "orders", "framing": "auto", "reader": "latest"},
            "orders_infer": {"schema": "orders", "writer": "infer", "reader": "latest"},
        }))
        .unwrap();
    let engine = Engine::new(
        SchemaCache::new(
            Arc::new(GlueSource::from_client(client)),
            JsonOptions::default(),
            CacheSettings::default(),
        ),
        Streams::new("reg".to_owned(), overrides).with_source(SourceKind::Glue),
        Limits {
            max_result_bytes: 65_535,
            max_inflated_bytes: 1 << 20,
            max_depth: superdecode::decode::DEFAULT_MAX_DEPTH,
        },
    );
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/cases.json")).unwrap())
            .unwrap();
    let mut rows = Vec::new();
    let mut expected = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let stream = case["args"][0].as_str().unwrap();
        let payload = case["args"][1].as_str().unwrap_or_default();
        let Some(version) = name
            .strip_prefix("orders v")
            .and_then(|rest| rest[..1].parse::<usize>().ok())
        else {
            continue;
        };
        let payload = match stream {
            // Glue header: 03, 00, then the 16-byte version UUID.
            "orders_framed" => format!(
                "0300{}{}",
                ids[version - 1].replace('-', ""),
                &payload[36..]
            ),
            "orders_infer" => payload.to_owned(),
            _ => continue,
        };
        rows.push(json!([stream, payload]));
        expected.push(case["expected"].as_str().unwrap().to_owned());
    }
    assert!(rows.len() >= 12, "{} rows", rows.len());
    moto.reset_calls();
    let got = results(&batch(&engine, rows).await);
    assert_eq!(got, expected);
    // Each version is fetched once: by its ID, or by name as latest. A fetch fills the
    // version-number entries, so inference (versions 4 down to 1 by number) and the
    // reader (latest) need no calls of their own.
    let calls = moto.schema_version_calls();
    assert!((5..=6).contains(&calls), "{calls} calls for five versions");
}

/// The superdecode binary with the AWS SDK pointed at moto (every service), base
/// credentials `AKIDBASE`, and `env` on top; its (exit success, stdout, stderr).
fn superdecode_over_moto(
    moto: &Moto,
    args: &[&str],
    env: &[(&str, &str)],
) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_superdecode"))
        .args(args)
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDBASE")
        .env("AWS_SECRET_ACCESS_KEY", "base-secret")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// A recorded request's body, as text.
fn body(request: &Value) -> String {
    use base64::Engine as _;
    let text = request["body"].as_str().unwrap_or_default();
    if request["body_encoded"] == true {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap();
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        text.to_owned()
    }
}

/// The access key a recorded request was signed with.
fn signing_key(request: &Value) -> String {
    let authorization = request["headers"]["Authorization"]
        .as_str()
        .unwrap_or_default();
    let credential = authorization
        .split("Credential=")
        .nth(1)
        .unwrap_or_default();
    credential.split('/').next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn glue_calls_are_made_as_the_configured_role() {
    let moto = Moto::start();
    // The registry lives in the central account: created there through the same role.
    let role = "arn:aws:iam::210987654321:role/central-schema-registry";
    let base = aws_sdk_glue::config::SharedCredentialsProvider::new(Credentials::new(
        "AKIDBASE",
        "base-secret",
        None,
        None,
        "tests",
    ));
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(moto.endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(base)
        .load()
        .await;
    let assumed = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name("fixture")
        .configure(&sdk)
        .build()
        .await;
    let central = aws_sdk_glue::Client::from_conf(
        aws_sdk_glue::config::Builder::from(&sdk)
            .credentials_provider(assumed)
            .build(),
    );
    central
        .create_registry()
        .registry_name("reg")
        .send()
        .await
        .unwrap();
    let created = central
        .create_schema()
        .registry_id(RegistryId::builder().registry_name("reg").build())
        .schema_name("events")
        .data_format(DataFormat::Avro)
        .compatibility(Compatibility::None)
        .schema_definition(V1)
        .send()
        .await
        .unwrap();
    let v1 = created.schema_version_id().unwrap().to_owned();
    let row = glue_frame(&v1, BODY_V1);

    moto.reset_calls();
    let (ok, out, err) = superdecode_over_moto(
        &moto,
        &["decode", "--registry", "reg", &row],
        &[("SUPERDECODE_GLUE_ROLE_ARN", role)],
    );
    assert!(ok, "{err}");
    assert_eq!(out.trim(), ID5);
    let recording = moto.recording();
    let assume = recording
        .iter()
        .find(|r| body(r).contains("Action=AssumeRole"))
        .unwrap_or_else(|| panic!("no AssumeRole call: {recording:#?}"));
    assert!(body(assume).contains("central-schema-registry"), "{assume}");
    assert_eq!(signing_key(assume), "AKIDBASE");
    let glue = recording
        .iter()
        .find(|r| r["headers"]["X-Amz-Target"] == "AWSGlue.GetSchemaVersion")
        .unwrap_or_else(|| panic!("no Glue call: {recording:#?}"));
    let key = signing_key(glue);
    assert!(
        !key.is_empty() && key != "AKIDBASE",
        "Glue was called with {key}, not the role's key"
    );

    // Without the role, the call is made in the caller's own account, which has no such
    // schema.
    let (ok, out, err) = superdecode_over_moto(&moto, &["decode", "--registry", "reg", &row], &[]);
    assert!(ok, "{err}");
    assert!(out.contains("schema_not_found"), "{out}");
}

#[tokio::test]
async fn confluent_credentials_come_from_secrets_manager_and_are_never_logged() {
    let moto = Moto::start();
    let registry = common::Registry::start("", &["--user-info", "fixture:s3cret-pass"]);
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
        .endpoint_url(moto.endpoint())
        .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .build();
    let secrets = aws_sdk_secretsmanager::Client::from_conf(config);
    let good = secrets
        .create_secret()
        .name("registry-good")
        .secret_string(r#"{"user_info": "fixture:s3cret-pass"}"#)
        .send()
        .await
        .unwrap();
    let wrong = secrets
        .create_secret()
        .name("registry-wrong")
        .secret_string(r#"{"user_info": "fixture:not-the-pass"}"#)
        .send()
        .await
        .unwrap();
    let framed = cases_of_confluent("confluent json clicks #0");
    let url = registry.url();
    let run = |arn: &str| {
        superdecode_over_moto(
            &moto,
            &["decode", framed["hex"].as_str().unwrap()],
            &[
                ("SUPERDECODE_CONFLUENT_URL", url.as_str()),
                ("SUPERDECODE_CONFLUENT_SECRET_ARN", arn),
                ("SUPERDECODE_LOG", "trace"),
            ],
        )
    };
    let (ok, out, err) = run(good.arn().unwrap());
    assert!(ok, "{err}");
    let decoded: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(decoded, framed["expected"]);
    let (ok, _, err) = run(wrong.arn().unwrap());
    assert!(!ok);
    assert!(err.contains("HTTP 401"), "{err}");
    // Basic auth's header value, and the secrets themselves, appear nowhere, even at trace.
    use base64::Engine as _;
    let header = base64::engine::general_purpose::STANDARD.encode("fixture:s3cret-pass");
    for (leak, what) in [
        ("s3cret-pass", "the password"),
        ("not-the-pass", "the wrong password"),
        (header.as_str(), "the Authorization header"),
    ] {
        assert!(!err.contains(leak), "{what} was logged");
    }
}

#[tokio::test]
async fn a_batch_mixing_glue_and_confluent_producers_decodes() {
    let moto = Moto::start();
    let v1 = moto.create_events_schema().await;
    let registry = common::Registry::start("", &[]);
    let confluent = cases_of_confluent("confluent avro orders key #0");
    let event = json!({
        "num_records": 2,
        "arguments": [[glue_frame(&v1, BODY_V1)], [confluent["hex"]]],
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("event.json");
    std::fs::write(&path, event.to_string()).unwrap();
    let (ok, out, err) = superdecode_over_moto(
        &moto,
        &["invoke", &path.display().to_string()],
        &[("SUPERDECODE_CONFLUENT_URL", registry.url().as_str())],
    );
    assert!(ok, "{err}");
    let response: Value = serde_json::from_str(&out).unwrap();
    let results = results(&response);
    assert_eq!(results[0], ID5);
    assert_eq!(
        serde_json::from_str::<Value>(&results[1]).unwrap(),
        confluent["expected"]
    );
    assert_eq!(moto.schema_version_calls(), 1);
    assert!(registry.calls().iter().any(|c| c == "GET /schemas/ids/2"));
}

/// The Confluent fixture case called `name`.
fn cases_of_confluent(name: &str) -> Value {
    let text = std::fs::read_to_string(common::confluent_fixtures().join("cases.json")).unwrap();
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap();
    cases.into_iter().find(|c| c["name"] == name).unwrap()
}
