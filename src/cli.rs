//! The command line: `decode` hex payloads, `invoke` a Redshift event file.
//!
//! Exit codes: 0 on success (record errors are printed as error objects, not failures);
//! 1 when `invoke`'s response is `success:false`; 2 on environment or usage errors.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::error::EnvError;
use crate::frame::Framing;
use crate::pipeline::{Call, Engine, RowResult};
use crate::redshift;

#[derive(Debug, Parser)]
#[command(
    name = "superdecode",
    version,
    about = "Decode Avro, Protobuf and JSON records \
    (raw, Glue-framed, Confluent-framed) to JSON for Amazon Redshift"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode hex payloads and print one compact JSON document per line.
    Decode(DecodeArgs),
    /// Print the Redshift response the Lambda function would return for EVENT.json.
    Invoke(InvokeArgs),
}

#[derive(Debug, clap::Args)]
struct DecodeArgs {
    #[command(flatten)]
    settings: Settings,

    /// Read payloads with this stream's schema (same-named schema, latest version) instead
    /// of a schema ID from a header.
    #[arg(long, env = "SUPERDECODE_STREAM")]
    stream: Option<String>,

    /// Framing of the payloads; defaults to raw with --stream and to auto without.
    #[arg(long, env = "SUPERDECODE_FRAMING", value_enum)]
    framing: Option<Framing>,

    /// Hex payloads; read one per line from stdin when none are given.
    #[arg(value_name = "HEX")]
    hex: Vec<String>,
}

#[derive(Debug, clap::Args)]
struct InvokeArgs {
    #[command(flatten)]
    settings: Settings,

    /// A Redshift external-function event (JSON).
    #[arg(value_name = "EVENT.json")]
    event: PathBuf,
}

/// How many stdin lines go into one batch: enough to batch registry lookups, small enough
/// to stream.
const STDIN_BATCH: usize = 1024;

pub async fn run() -> ExitCode {
    crate::logging::init(false);
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode(args) => decode(args).await,
        Command::Invoke(args) => invoke(args).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("superdecode: {e}");
            ExitCode::from(2)
        }
    }
}

async fn decode(args: DecodeArgs) -> Result<ExitCode, EnvError> {
    if args.stream.is_none() && args.framing == Some(Framing::Raw) {
        return Err(EnvError::new(
            "--framing raw needs --stream to name the schema",
        ));
    }
    let engine = args.settings.engine().await?;
    let call = |hex: String| match &args.stream {
        Some(stream) => Call::Stream {
            stream: Some(stream.clone()),
            hex: Some(hex),
        },
        None => Call::Framed { hex: Some(hex) },
    };
    let mut stdout = std::io::stdout().lock();
    if !args.hex.is_empty() {
        let calls: Vec<Call> = args.hex.iter().map(|h| call(h.trim().to_owned())).collect();
        print_rows(&engine, &calls, args.framing, &mut stdout).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut calls = Vec::with_capacity(STDIN_BATCH);
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| EnvError::new(format!("reading stdin: {e}")))?;
        calls.push(call(line.trim().to_owned()));
        if calls.len() == STDIN_BATCH {
            print_rows(&engine, &calls, args.framing, &mut stdout).await?;
            calls.clear();
        }
    }
    print_rows(&engine, &calls, args.framing, &mut stdout).await?;
    Ok(ExitCode::SUCCESS)
}

async fn print_rows(
    engine: &Engine,
    calls: &[Call],
    framing: Option<Framing>,
    out: &mut impl Write,
) -> Result<(), EnvError> {
    let rows: Vec<RowResult> = engine.decode_rows(calls, framing, None).await?;
    let write_error = |e: std::io::Error| EnvError::new(format!("writing stdout: {e}"));
    for row in rows {
        let line = match row {
            Some(Ok(json)) => json,
            Some(Err(e)) => e.to_json_object(),
            None => "null".to_owned(),
        };
        writeln!(out, "{line}").map_err(write_error)?;
    }
    out.flush().map_err(write_error)
}

async fn invoke(args: InvokeArgs) -> Result<ExitCode, EnvError> {
    let path = &args.event;
    let text = std::fs::read_to_string(path)
        .map_err(|e| EnvError::new(format!("cannot read {}: {e}", path.display())))?;
    let event: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| EnvError::new(format!("{} is not JSON: {e}", path.display())))?;
    let engine = args.settings.engine().await?;
    let outcome = redshift::handle(&engine, args.settings.on_error, &event, None).await;
    let pretty = serde_json::to_string_pretty(&outcome.response)
        .map_err(|e| EnvError::new(format!("cannot print the response: {e}")))?;
    println!("{pretty}");
    Ok(if outcome.failure.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
