//! The real binary in Lambda mode, served by cargo-lambda's Runtime API emulator
//! (`cargo lambda watch --only-lambda-apis`), answering Redshift batches over HTTP.
//!
//! Needs `cargo-lambda` on PATH; `scripts/test.sh` installs the pinned version. Without it
//! this test fails, on purpose: it must not pass by skipping.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Kills a child process when dropped, so a failing test leaves nothing running.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, process: &mut Running) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = process.0.try_wait() {
            panic!("cargo lambda watch exited early with {status}");
        }
        assert!(
            Instant::now() < deadline,
            "the emulator did not listen on port {port} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A minimal HTTP/1.1 POST; returns the status code and body.
fn post(port: u16, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
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

#[test]
fn the_binary_answers_redshift_batches_through_the_lambda_runtime_api() {
    let probe = Command::new("cargo").args(["lambda", "--version"]).output();
    assert!(
        probe.is_ok_and(|o| o.status.success()),
        "cargo-lambda is required for this test: run scripts/test.sh, which installs the pinned version"
    );
    let port = free_port();
    let emulator = Command::new("cargo")
        .args([
            "lambda",
            "watch",
            "--only-lambda-apis",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
        ])
        .arg(port.to_string())
        .current_dir(ROOT)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut emulator = Running(emulator);
    wait_for_port(port, &mut emulator);

    // With --only-lambda-apis the emulator serves the function named "_".
    let _function = Running(
        Command::new(env!("CARGO_BIN_EXE_superdecode"))
            .current_dir(ROOT)
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{port}/.rt"),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("SUPERDECODE_SCHEMAS", "schemas")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let invoke = "/2015-03-31/functions/_/invocations";

    let event = std::fs::read_to_string(format!("{ROOT}/samples/redshift-event.json")).unwrap();
    let expected: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(format!("{ROOT}/samples/redshift-event.expected.json")).unwrap(),
    )
    .unwrap();
    let (status, body) = post(port, invoke, &event);
    assert_eq!(status, 200, "{body}");
    let response: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(response["success"], true, "{response}");
    let results = response["results"].as_array().unwrap();
    assert_eq!(results.len(), expected.len());
    for (got, want) in results.iter().zip(&expected).take(expected.len() - 1) {
        assert_eq!(got, want);
    }
    assert!(
        results
            .last()
            .unwrap()
            .as_str()
            .unwrap()
            .contains("invalid_hex")
    );

    // The same process serves the next batch; a malformed one gets a clear failure.
    let (status, body) = post(port, invoke, &json!({"arguments": [[1]]}).to_string());
    assert_eq!(status, 200);
    let response: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(response["success"], false);
    assert!(
        response["error_msg"].as_str().unwrap().contains("VARCHAR"),
        "{response}"
    );
}
