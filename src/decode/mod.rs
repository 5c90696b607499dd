//! Data formats: one decoder per format behind [`RecordDecoder`].
//!
//! A decoder is built once per schema version ([`compile`]) and then turns record bodies
//! (frame already removed) into JSON text. Decoders write JSON directly into a `String`;
//! the Avro and Protobuf decoders can also write it as the JSON string literal a Redshift
//! response carries ([`RecordDecoder::decode_literal`]), so that a result is escaped as it
//! is decoded rather than once more afterwards.

pub mod avro;
pub mod cbor;
mod document;
pub mod json;
pub mod msgpack;
pub mod protobuf;
pub(crate) mod time;

use std::sync::atomic::AtomicU64;

use crate::error::RecordError;
use crate::json_text::{BytesEncoding, NonFinite};

/// The data format of a schema, as the Glue Schema Registry names them. (`ValueEnum`
/// lists the variants, for looking a format up by its names.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum DataFormat {
    /// Avro binary (`.avsc` schemas).
    Avro,
    /// Protobuf binary (`.proto` schemas).
    Protobuf,
    /// JSON text, passed through (JSON Schema is not applied).
    Json,
}

/// One data format's registration: its names, and how its schemas compile.
#[derive(Clone, Copy)]
struct Format {
    /// The name in Glue's `DataFormat` and registries' `schemaType`.
    registry_name: &'static str,
    /// The schema file extension in a local schema directory.
    extension: &'static str,
    decoder: Compiler<dyn RecordDecoder>,
    encoder: Compiler<dyn RecordEncoder>,
    /// How records written with one schema version decode in the shape of another;
    /// `None` for a format whose records carry their own shape (JSON).
    resolver: Option<Resolver>,
}

/// Compiles (writer schema, reader schema) into a decoder of the writer's records that
/// writes the reader's shape.
type Resolver =
    fn(SchemaText, SchemaText, &JsonOptions) -> Result<Box<dyn RecordDecoder>, CompileError>;

/// Compiles a schema, under the mapping options, into a decoder or an encoder.
type Compiler<T> = fn(SchemaText, &JsonOptions) -> Result<Box<T>, CompileError>;

/// A `.proto` file that a Protobuf schema imports: a registry reference, named by its
/// import path (`import "shop/money.proto";`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProtoImport {
    /// The import path.
    pub path: String,
    /// The file's `.proto` source.
    pub text: String,
}

/// A schema to compile: its text, and the `.proto` files it imports (Protobuf only; the
/// well-known `google/protobuf/*.proto` files are always available).
#[derive(Debug, Clone, Copy)]
pub struct SchemaText<'a> {
    /// The schema text.
    pub text: &'a str,
    /// The files it imports.
    pub imports: &'a [ProtoImport],
}

impl<'a> From<&'a str> for SchemaText<'a> {
    /// A schema that imports nothing.
    fn from(text: &'a str) -> Self {
        SchemaText { text, imports: &[] }
    }
}

impl<'a> From<&'a String> for SchemaText<'a> {
    /// A schema that imports nothing.
    fn from(text: &'a String) -> Self {
        SchemaText::from(text.as_str())
    }
}

impl DataFormat {
    /// Every data format's registration. A new format is its folder, a [`DataFormat`]
    /// variant and its arm here (the compiler asks for it): the local directory, the Glue
    /// source, the schema cache and `encode` all read this.
    fn registration(self) -> Format {
        match self {
            DataFormat::Avro => Format {
                registry_name: "AVRO",
                extension: "avsc",
                decoder: |schema, options| {
                    Ok(Box::new(avro::AvroDecoder::new(schema.text, options)?))
                },
                encoder: |schema, options| {
                    Ok(Box::new(avro::AvroDecoder::new(schema.text, options)?))
                },
                resolver: Some(|writer, reader, options| {
                    Ok(Box::new(avro::AvroDecoder::resolving(
                        writer.text,
                        reader.text,
                        options,
                    )?))
                }),
            },
            DataFormat::Protobuf => Format {
                registry_name: "PROTOBUF",
                extension: "proto",
                decoder: |schema, options| {
                    Ok(Box::new(protobuf::ProtobufDecoder::compile(
                        schema, options,
                    )?))
                },
                encoder: |schema, options| {
                    Ok(Box::new(protobuf::ProtobufDecoder::compile(
                        schema, options,
                    )?))
                },
                resolver: Some(|writer, reader, options| {
                    Ok(Box::new(protobuf::ResolvingDecoder::new(
                        writer, reader, options,
                    )?))
                }),
            },
            DataFormat::Json => Format {
                registry_name: "JSON",
                extension: "json",
                decoder: |_, _| Ok(Box::new(json::JsonDecoder)),
                encoder: |_, _| Ok(Box::new(json::JsonDecoder)),
                resolver: None,
            },
        }
    }

    /// The format whose registration `matches`.
    fn find(matches: impl Fn(&Format) -> bool) -> Option<Self> {
        use clap::ValueEnum;
        DataFormat::value_variants()
            .iter()
            .copied()
            .find(|format| matches(&format.registration()))
    }

    /// The format for a schema file extension in a local schema directory.
    pub fn from_extension(ext: &str) -> Option<Self> {
        DataFormat::find(|f| f.extension == ext)
    }

    /// The format a registry names (`AVRO`, `PROTOBUF`, `JSON`).
    pub fn from_name(name: &str) -> Option<Self> {
        DataFormat::find(|f| f.registry_name == name)
    }

    /// The Glue `DataFormat` name.
    pub fn as_str(self) -> &'static str {
        self.registration().registry_name
    }
}

/// A format whose records need no schema: a stream's `format` names it, and its records
/// decode with no registry call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SchemalessFormat {
    /// MessagePack.
    Msgpack,
    /// CBOR (RFC 8949).
    Cbor,
    /// A JSON document, checked and passed through.
    Json,
}

impl SchemalessFormat {
    /// The decoder of this format's records.
    pub fn decoder(self, options: &JsonOptions) -> Box<dyn RecordDecoder> {
        match self {
            SchemalessFormat::Msgpack => Box::new(msgpack::MsgPackDecoder::new(options)),
            SchemalessFormat::Cbor => Box::new(cbor::CborDecoder::new(options)),
            SchemalessFormat::Json => Box::new(json::JsonDecoder),
        }
    }
}

/// Whether a value is written as a JSON number or a JSON string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum NumberOrString {
    /// A JSON number.
    #[default]
    Number,
    /// A JSON string.
    String,
}

/// The JSON mapping options, fixed for the life of the process: the ones every format
/// shares here, the rest with their format. Every command takes them as flags, each with
/// a `SUPERDECODE_*` environment twin.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct JsonOptions {
    /// Avro bytes and fixed, Protobuf bytes: base64 or hex.
    #[arg(long, env = "SUPERDECODE_BYTES", value_enum, default_value_t)]
    pub bytes: BytesEncoding,

    /// NaN and ±Infinity: null, or the strings "NaN", "Infinity", "-Infinity".
    #[arg(long, env = "SUPERDECODE_NON_FINITE", value_enum, default_value_t)]
    pub non_finite: NonFinite,

    /// Avro's own options.
    #[command(flatten)]
    pub avro: avro::AvroOptions,

    /// Protobuf's own options.
    #[command(flatten)]
    pub protobuf: protobuf::ProtobufOptions,
}

/// Where a record says which message of its schema it is. Only Protobuf schemas hold
/// several messages; other formats ignore this. The wire format decides it
/// (`WireFormat::message_selector`), so that no data format needs to know the framings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MessageSelector {
    /// The record does not say: the message is the one configured for the stream
    /// ([`DecodeContext::message`]), or the schema's first.
    #[default]
    Configured,
    /// The body starts with a Glue message index: one unsigned varint, the message's
    /// position among all the file's messages sorted by full name.
    GlueIndex,
    /// The body starts with a Confluent message-index path: a zig-zag count, then zig-zag
    /// indexes from a top-level message down its nested messages (a lone `00` is `[0]`).
    ConfluentPath,
}

/// What a decoder needs to know about the record besides its body.
#[derive(Debug, Clone)]
pub struct DecodeContext<'a> {
    /// Where the record says which message it is (Protobuf reads a message index from the
    /// front of the body of Glue and Confluent frames).
    pub selector: MessageSelector,
    /// Results longer than this are a `result_too_large` record error.
    pub max_result_bytes: usize,
    /// Deepest nesting a record may reach, counted across every recursive path (Avro
    /// records, arrays and maps; Protobuf messages, groups, `Any` inside `Any`,
    /// `Struct`/`Value`/`ListValue`). Deeper is a `nesting_too_deep` record error.
    pub max_depth: usize,
    /// The Protobuf message a stream is configured with, for [`MessageSelector::Configured`].
    pub message: Option<&'a str>,
    /// Where decoders count the unknown fields they drop.
    pub unknown_fields: &'a AtomicU64,
}

/// Stops a result as soon as its `len` passes `max_len` bytes: decoders call this while they
/// write, so runaway output (billions of items in a few bytes) ends early.
/// It runs at every nesting level, so the passing case is inlined and the error is built
/// out of line.
#[inline]
pub(crate) fn check_result_size(len: usize, max_len: usize) -> Result<(), RecordError> {
    if len > max_len {
        return Err(result_too_large(max_len));
    }
    Ok(())
}

#[cold]
#[inline(never)]
fn result_too_large(max_len: usize) -> RecordError {
    RecordError::new(
        crate::error::ErrorCode::ResultTooLarge,
        format!("JSON result exceeds {max_len} bytes"),
    )
}

/// Default for [`DecodeContext::max_result_bytes`]: Redshift's VARCHAR limit, since a
/// longer result cannot be stored.
pub const DEFAULT_MAX_RESULT_BYTES: usize = 65_535;

/// Default for [`DecodeContext::max_depth`]: deep enough for any real schema, shallow
/// enough that a hostile record cannot exhaust the stack or memory.
pub const DEFAULT_MAX_DEPTH: usize = 128;

/// The deepest nesting any decoder follows, whatever the setting: decoders recurse once per
/// level, and this many levels fit in a 2 MiB thread stack (tokio's worker default, and a
/// test thread's) even in a debug build; the binary decodes on its main thread, whose stack
/// is larger. `--max-depth` accepts values up to it.
pub const MAX_SUPPORTED_DEPTH: usize = 400;

/// Unknown-field counts nobody reads (`DecodeContext::default`).
static UNCOUNTED: AtomicU64 = AtomicU64::new(0);

impl Default for DecodeContext<'_> {
    fn default() -> Self {
        DecodeContext {
            selector: MessageSelector::Configured,
            max_result_bytes: DEFAULT_MAX_RESULT_BYTES,
            max_depth: DEFAULT_MAX_DEPTH,
            message: None,
            unknown_fields: &UNCOUNTED,
        }
    }
}

/// Turns one record body into JSON text appended to `out`.
pub trait RecordDecoder: Send + Sync {
    /// Appends the JSON text of the record `body` to `out`, or says why it does not decode.
    fn decode(&self, body: &[u8], ctx: &DecodeContext, out: &mut String)
    -> Result<(), RecordError>;

    /// Appends the record's JSON text to `out` as the JSON string literal that holds it,
    /// quotes included, escaped as `serde_json` escapes a string: the form a Redshift
    /// response carries, written directly instead of escaped afterwards. Returns the JSON
    /// text's length (not the literal's), which the caller checks against
    /// `max_result_bytes` (the decoder stops early past it, as `decode` does).
    ///
    /// `None` when the literal is not written: the record does not decode, or this decoder
    /// has no such path (the default). The caller then decodes with [`decode`], which
    /// says why. String values may be written without their UTF-8 checked: the caller
    /// checks `out` whole, and a string that is not UTF-8 makes it invalid.
    ///
    /// [`decode`]: RecordDecoder::decode
    fn decode_literal(
        &self,
        _body: &[u8],
        _ctx: &DecodeContext,
        _out: &mut Vec<u8>,
    ) -> Option<usize> {
        None
    }

    /// Whether the schema defines the message a stream names (only Protobuf schemas hold
    /// several messages; for other formats the setting does not apply).
    fn knows_message(&self, _name: &str) -> bool {
        true
    }
}

/// Turns one JSON document, in a decoder's mapping, back into a record body: the inverse
/// of [`RecordDecoder`], for `superdecode encode`.
pub trait RecordEncoder: Send + Sync {
    /// The body of `json`; `message` names a Protobuf message (default: the first), and
    /// `selector` says which message index the wire format puts in front of the body.
    fn encode(
        &self,
        json: &str,
        message: Option<&str>,
        selector: MessageSelector,
    ) -> Result<Vec<u8>, EncodeError>;
}

/// Why a schema definition cannot be compiled: the format's own schema error
/// (`avro::SchemaError`, `protobuf::SchemaError`; each format converts its own) is its
/// source.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct CompileError(Box<dyn std::error::Error + Send + Sync>);

/// Why a JSON document does not encode under a schema.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The document is not JSON.
    #[error("not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// The document does not fit the schema: the format's own error says where and why.
    #[error(transparent)]
    Mismatch(Box<dyn std::error::Error + Send + Sync>),
}

/// Builds the decoder for a schema definition. An error means the schema itself is
/// unusable, which is an environment problem, not a record problem.
pub fn compile<'a>(
    format: DataFormat,
    definition: impl Into<SchemaText<'a>>,
    options: &JsonOptions,
) -> Result<Box<dyn RecordDecoder>, CompileError> {
    (format.registration().decoder)(definition.into(), options)
}

/// Builds the decoder of records written with `writer` (schema text) that writes them in
/// the shape of `reader`, another version of the same schema. `None` for a format whose
/// records are read as they are (JSON); `Err` when the pair does not resolve.
pub fn compile_resolved(
    format: DataFormat,
    writer: SchemaText,
    reader: SchemaText,
    options: &JsonOptions,
) -> Option<Result<Box<dyn RecordDecoder>, CompileError>> {
    format
        .registration()
        .resolver
        .map(|resolve| resolve(writer, reader, options))
}

/// Builds the encoder for a schema definition (`superdecode encode`).
pub fn compile_encoder<'a>(
    format: DataFormat,
    definition: impl Into<SchemaText<'a>>,
    options: &JsonOptions,
) -> Result<Box<dyn RecordEncoder>, CompileError> {
    (format.registration().encoder)(definition.into(), options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_is_registered() {
        use clap::ValueEnum;
        for &format in DataFormat::value_variants() {
            let registration = format.registration();
            assert_eq!(DataFormat::from_name(format.as_str()), Some(format));
            assert_eq!(
                DataFormat::from_extension(registration.extension),
                Some(format)
            );
        }
    }
}
