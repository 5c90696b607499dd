//! Helpers shared by the integration tests: a guard that kills a child process, free
//! loopback ports, a minimal HTTP/1.1 client, the loopback Confluent-compatible registry,
//! and the check that a decoder's directly written literal matches its JSON text.

#![allow(dead_code)] // each test binary uses a different part

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Kills a child process when dropped, so a failing test leaves nothing running.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port that was free and that no other test in this process was given:
/// tests run in parallel, and a port is released before the server that uses it binds it.
pub fn free_port() -> u16 {
    static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if GIVEN.lock().unwrap().insert(port) {
            return port;
        }
    }
}

/// Waits until `port` accepts connections, failing if `process` exits first.
pub fn wait_for_port(port: u16, process: &mut Running, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = process.0.try_wait() {
            panic!("{what} exited early with {status}");
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on port {port} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // If something else already held the port, our server fails to bind and exits.
    std::thread::sleep(Duration::from_millis(300));
    if let Ok(Some(status)) = process.0.try_wait() {
        panic!("{what} exited with {status}: port {port} was taken by another process");
    }
}

/// One HTTP/1.1 request on a fresh connection; returns the status code and body.
pub fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut chunked = false;
    let mut length = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end().to_ascii_lowercase();
        if line.is_empty() {
            break;
        }
        chunked |= line == "transfer-encoding: chunked";
        if let Some(n) = line.strip_prefix("content-length:") {
            length = Some(n.trim().parse::<usize>().unwrap());
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).unwrap();
            let size = usize::from_str_radix(size.trim(), 16).unwrap();
            if size == 0 {
                break;
            }
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).unwrap();
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(n) = length {
        body.resize(n, 0);
        reader.read_exact(&mut body).unwrap();
    } else {
        reader.read_to_end(&mut body).unwrap();
    }
    (status, String::from_utf8(body).unwrap())
}

/// One Redshift batch of `rows` through the handler (as `invoke` and Lambda run it, with
/// record errors as error objects): the whole response.
pub async fn batch(
    engine: &superdecode::pipeline::Engine,
    rows: &[impl serde::Serialize],
) -> Value {
    use superdecode::redshift::{self, OnError, ResponsePolicy};
    let event = serde_json::json!({"num_records": rows.len(), "arguments": rows});
    let outcome = redshift::handle(
        engine,
        ResponsePolicy::new(OnError::Object),
        &event.to_string(),
        None,
    )
    .await;
    serde_json::to_value(&outcome.response).unwrap()
}

/// [`batch`]'s results, after checking the batch succeeded.
pub async fn handle_rows(
    engine: &superdecode::pipeline::Engine,
    rows: &[impl serde::Serialize],
) -> Vec<serde_json::Value> {
    let response = batch(engine, rows).await;
    assert_eq!(response["success"], true, "{response}");
    response["results"].as_array().unwrap().clone()
}

/// The fixtures that confluent-kafka's serializers made through the loopback registry.
pub fn confluent_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/confluent")
}

/// A Confluent fixture case as a Redshift row: its call arguments, then its hex.
pub fn confluent_row(case: &Value) -> Value {
    let mut row = case["call"].as_array().unwrap().clone();
    row.push(case["hex"].clone());
    Value::Array(row)
}

/// The project's loopback Confluent-compatible registry (tests/fixtures/confluent_registry.py),
/// killed when dropped.
pub struct Registry {
    pub port: u16,
    prefix: String,
    _process: Running,
}

impl Registry {
    /// A registry holding the fixtures' state, under `prefix`, requiring `auth` flags.
    pub fn start(prefix: &str, auth: &[&str]) -> Registry {
        let port = free_port();
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/confluent_registry.py");
        let mut command = Command::new("python3");
        command
            .arg(script)
            .args(["--port", &port.to_string(), "--state"])
            .arg(confluent_fixtures().join("registry.json"))
            .args(auth)
            .stdout(Stdio::null());
        if !prefix.is_empty() {
            command.args(["--prefix", prefix]);
        }
        let mut process = Running(command.spawn().expect(
            "python3 with the pinned tools is required: run scripts/test.sh, which sets them up",
        ));
        wait_for_port(port, &mut process, "the loopback Confluent registry");
        Registry {
            port,
            prefix: prefix.to_owned(),
            _process: process,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}{}", self.port, self.prefix)
    }

    /// API calls since the last reset.
    pub fn calls(&self) -> Vec<String> {
        let (status, body) = http(self.port, "GET", "/_control/calls", "");
        assert_eq!(status, 200, "{body}");
        let calls: Value = serde_json::from_str(&body).unwrap();
        calls["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect()
    }

    pub fn reset(&self) {
        assert_eq!(http(self.port, "POST", "/_control/reset", "").0, 200);
    }

    /// The next `times` API calls get `fault` (see the server's docs).
    pub fn fault(&self, fault: Value) {
        let (status, body) = http(self.port, "POST", "/_control/fault", &fault.to_string());
        assert_eq!(status, 200, "{body}");
    }
}

/// The literal the Redshift response carries, written directly by `decode_literal`, must be
/// the JSON text `decode` wrote, escaped as serde_json escapes a string. Where `decode`
/// fails, there is no literal, or (for a string that is not UTF-8, which the direct path
/// leaves to its caller to find) a literal that is not UTF-8.
pub fn literal_agrees(
    decoder: &dyn superdecode::decode::RecordDecoder,
    body: &[u8],
    ctx: &superdecode::decode::DecodeContext,
    decoded: &Result<(), superdecode::error::RecordError>,
    text: &str,
) -> Result<(), String> {
    let mut literal = b"before ".to_vec();
    let len = decoder.decode_literal(body, ctx, &mut literal);
    let written = literal.get(7..).unwrap_or_default();
    match (decoded, len) {
        (Ok(()), Some(len))
            if len == text.len() && written == serde_json::to_string(text).unwrap().as_bytes() =>
        {
            Ok(())
        }
        (Err(_), None) => Ok(()),
        (Err(e), Some(_))
            if e.code == superdecode::error::ErrorCode::InvalidUtf8
                && std::str::from_utf8(written).is_err() =>
        {
            Ok(())
        }
        _ => Err(format!(
            "decode_literal disagrees with decode: {decoded:?} {text:?}, but {len:?} {:?}",
            String::from_utf8_lossy(written)
        )),
    }
}
