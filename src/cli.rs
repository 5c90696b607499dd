//! The command line: `decode` hex payloads, `invoke` a Redshift event file, `encode` JSON
//! documents into framed payloads for tests and demos. A shell over the same engine as
//! Lambda mode; it holds no decoding logic of its own.
//!
//! Exit codes: 0 on success (record errors are printed as error objects, or `null` under
//! `--on-error null`); 1 when `invoke`'s response is `success:false` or, under
//! `--on-error fail`, when `decode` meets a record error; 2 on environment or usage errors.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{DecodeSettings, Settings, SourceSettings};
use crate::decode::JsonOptions;
use crate::encode::{EncodeError, Encoder};
use crate::error::BatchError;
use crate::frame::{Framing, WireFormat};
use crate::pipeline::{BatchOptions, Call, Engine, ResultForm, RowResult};
use crate::redshift::{self, OnError};
use crate::schema::{SchemaKey, SchemaSource, VersionPin};

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
    /// Encode JSON documents for a schema into framed hex payloads, one per line.
    Encode(EncodeArgs),
}

#[derive(Debug, clap::Args)]
struct DecodeArgs {
    #[command(flatten)]
    settings: DecodeSettings,

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

    /// Print the response indented, for people. Without it, the response is printed
    /// byte for byte as Lambda returns it (compact JSON).
    #[arg(long, env = "SUPERDECODE_PRETTY")]
    pretty: bool,
}

#[derive(Debug, clap::Args)]
struct EncodeArgs {
    #[command(flatten)]
    source: SourceSettings,

    #[command(flatten)]
    mapping: JsonOptions,

    /// The schema to encode with (in --registry).
    #[arg(long, env = "SUPERDECODE_SCHEMA")]
    schema: String,

    /// The schema version; latest by default.
    #[arg(long, env = "SUPERDECODE_VERSION")]
    version: Option<u32>,

    /// How to frame the payloads.
    #[arg(long, env = "SUPERDECODE_FRAMING", value_enum, default_value = "raw")]
    framing: WireFormat,

    /// Compress the body with zlib (Glue framing only).
    #[arg(long, env = "SUPERDECODE_ZLIB")]
    zlib: bool,

    /// The Protobuf message to encode (default: the first declared in the file).
    #[arg(long, env = "SUPERDECODE_MESSAGE")]
    message: Option<String>,

    /// JSON documents; read one per line from stdin when none are given.
    #[arg(value_name = "JSON")]
    json: Vec<String>,
}

/// Why a command stopped; every one exits with status 2.
#[derive(Debug, thiserror::Error)]
enum CliError {
    /// The command line cannot run as given.
    #[error("{0}")]
    Usage(&'static str),
    /// Building the engine or decoding a batch failed.
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// The encoder cannot be built for the schema and framing asked for.
    #[error(transparent)]
    Encoder(EncodeError),
    /// A document does not encode.
    #[error("document {index}: {source}")]
    Document {
        index: usize,
        #[source]
        source: EncodeError,
    },
    /// Reading input or writing output failed.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

fn io_error(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
    let what = what.into();
    move |source| CliError::Io { what, source }
}

/// The most stdin lines in one batch: enough to batch registry lookups, few enough to
/// stream. A batch is cut short whenever no more input is ready.
const STDIN_BATCH: usize = 1024;

/// Parses the command line, runs the command, and returns the exit code.
pub async fn run() -> ExitCode {
    crate::logging::init(false);
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode(args) => decode(args).await,
        Command::Invoke(args) => invoke(args).await,
        Command::Encode(args) => encode(args).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("superdecode: {e}");
            ExitCode::from(2)
        }
    }
}

async fn decode(args: DecodeArgs) -> Result<ExitCode, CliError> {
    if args.stream.is_none() && args.framing == Some(Framing::Fixed(WireFormat::Raw)) {
        return Err(CliError::Usage(
            "--framing raw needs --stream to name the schema",
        ));
    }
    let engine = args.settings.engine().await?;
    let call = |hex: String| match &args.stream {
        Some(stream) => Call::Stream {
            stream: Some(stream.as_str().into()),
            payload: Some(hex.into()),
        },
        None => Call::Framed {
            payload: Some(hex.into()),
        },
    };
    let mut printer = Printer {
        engine: &engine,
        framing: args.framing,
        on_error: args.settings.on_error,
        out: std::io::stdout().lock(),
        printed: 0,
    };
    if !args.hex.is_empty() {
        let calls: Vec<Call> = args.hex.iter().map(|h| call(h.trim().to_owned())).collect();
        return printer.print(&calls).await;
    }
    // A thread reads stdin, so that a batch is whatever lines are ready: full batches
    // while a fast producer writes, and each line's answer at once from a quiet one
    // (`consumer | superdecode decode`).
    let (sender, lines) = std::sync::mpsc::sync_channel(STDIN_BATCH);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let failed = line.is_err();
            if sender.send(line).is_err() || failed {
                break;
            }
        }
    });
    let mut calls = Vec::with_capacity(STDIN_BATCH);
    // Wait for one line, then take what else is ready, up to a batch.
    while let Ok(first) = lines.recv() {
        let mut next = Some(first);
        while let Some(line) = next {
            let line = line.map_err(io_error("reading stdin"))?;
            calls.push(call(line.trim().to_owned()));
            next = if calls.len() < STDIN_BATCH {
                lines.try_recv().ok()
            } else {
                None
            };
        }
        if printer.print(&calls).await? != ExitCode::SUCCESS {
            return Ok(ExitCode::FAILURE);
        }
        calls.clear();
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints `decode`'s lines: one JSON document per payload, record errors by `--on-error`.
struct Printer<'a, W: Write> {
    engine: &'a Engine,
    framing: Option<Framing>,
    on_error: OnError,
    out: W,
    /// Payloads printed so far, for the `fail` message.
    printed: usize,
}

impl<W: Write> Printer<'_, W> {
    /// Decodes and prints one batch. Under `--on-error fail` the first record error stops
    /// the output with a message and exit code 1, as `invoke` fails the batch.
    async fn print(&mut self, calls: &[Call<'_>]) -> Result<ExitCode, CliError> {
        let options = BatchOptions {
            framing: self.framing,
            encoding: self.engine.input_encoding(),
            results: ResultForm::Json,
        };
        let rows: Vec<RowResult> = self.engine.decode_rows(calls, options, None).await?;
        let write_error = |e| io_error("writing stdout")(e);
        for row in rows {
            let line = match (row, self.on_error) {
                (Some(Ok(json)), _) => json,
                (Some(Err(e)), OnError::Object) => e.to_json_object(),
                (None, _) | (Some(Err(_)), OnError::Null) => "null".to_owned(),
                (Some(Err(e)), OnError::Fail) => {
                    self.out.flush().map_err(write_error)?;
                    eprintln!(
                        "superdecode: payload {} failed to decode ({e}) and --on-error is fail",
                        self.printed + 1
                    );
                    return Ok(ExitCode::FAILURE);
                }
            };
            writeln!(self.out, "{line}").map_err(write_error)?;
            self.printed += 1;
        }
        self.out.flush().map_err(write_error)?;
        Ok(ExitCode::SUCCESS)
    }
}

async fn invoke(args: InvokeArgs) -> Result<ExitCode, CliError> {
    let path = &args.event;
    let text = std::fs::read_to_string(path)
        .map_err(io_error(format!("cannot read {}", path.display())))?;
    let engine = args.settings.engine().await?;
    let outcome = redshift::handle(&engine, args.settings.response_policy(), &text, None).await;
    // The process ends after printing: tearing the schema caches down would cost a fifth
    // of a one-row invoke, and the operating system frees their memory anyway.
    std::mem::forget(engine);
    // Written as Lambda returns it, in one buffer (the response's own), written at once.
    let mut body = if args.pretty {
        serde_json::to_value(&outcome.response)
            .and_then(|tree| serde_json::to_vec_pretty(&tree))
            .map_err(std::io::Error::from)
            .map_err(io_error("cannot print the response"))?
    } else {
        outcome.response.into_json().into_bytes()
    };
    body.push(b'\n');
    let mut out = std::io::stdout().lock();
    out.write_all(&body)
        .and_then(|()| out.flush())
        .map_err(io_error("cannot print the response"))?;
    Ok(if outcome.failure.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn encode(args: EncodeArgs) -> Result<ExitCode, CliError> {
    let source = args.source.sources(&[]).await?;
    let key = SchemaKey::Named {
        source: args.source.named_source(),
        registry: args.source.registry.clone(),
        schema: args.schema.clone(),
        version: args.version.map_or(VersionPin::Latest, VersionPin::Number),
    };
    let definition = source.fetch(&key).await?.ok_or_else(|| {
        BatchError::new(format!("{key} does not exist in the {}", source.describe()))
    })?;
    let encoder = Encoder::new(
        &definition,
        args.framing,
        args.zlib,
        args.message.clone(),
        &args.mapping,
    )
    .map_err(CliError::Encoder)?;
    let documents: Vec<String> = if args.json.is_empty() {
        std::io::stdin()
            .lock()
            .lines()
            .collect::<Result<_, _>>()
            .map_err(io_error("reading stdin"))?
    } else {
        args.json
    };
    let mut stdout = std::io::stdout().lock();
    for (i, document) in documents
        .iter()
        .enumerate()
        .filter(|(_, d)| !d.trim().is_empty())
    {
        let payload = encoder
            .encode(document)
            .map_err(|source| CliError::Document {
                index: i + 1,
                source,
            })?;
        writeln!(stdout, "{}", hex::encode(payload)).map_err(io_error("writing stdout"))?;
    }
    Ok(ExitCode::SUCCESS)
}
