//! Data formats: one decoder per format behind [`RecordDecoder`].
//!
//! A decoder is built once per schema version ([`compile`]) and then turns record bodies
//! (frame already removed) into JSON text. Decoders write JSON directly into a `String`.

pub mod avro;
pub mod json;
pub mod protobuf;
pub(crate) mod time;

use std::sync::atomic::AtomicU64;

use crate::error::RecordError;
use crate::json_text::{BytesEncoding, NonFinite};

/// The data format of a schema, as the Glue Schema Registry names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataFormat {
    /// Avro binary (`.avsc` schemas).
    Avro,
    /// Protobuf binary (`.proto` schemas).
    Protobuf,
    /// JSON text, passed through (JSON Schema is not applied).
    Json,
}

/// Every data format: its name in Glue (and in registries' `schemaType`) and its schema
/// file extension in a local schema directory. A new format is one line here, a
/// [`compile`] arm and its folder.
const FORMATS: [(DataFormat, &str, &str); 3] = [
    (DataFormat::Avro, "AVRO", "avsc"),
    (DataFormat::Protobuf, "PROTOBUF", "proto"),
    (DataFormat::Json, "JSON", "json"),
];

impl DataFormat {
    /// The format for a schema file extension in a local schema directory.
    pub fn from_extension(ext: &str) -> Option<Self> {
        FORMATS.iter().find(|f| f.2 == ext).map(|f| f.0)
    }

    /// The format a registry names (`AVRO`, `PROTOBUF`, `JSON`).
    pub fn from_name(name: &str) -> Option<Self> {
        FORMATS.iter().find(|f| f.1 == name).map(|f| f.0)
    }

    /// The Glue `DataFormat` name.
    pub fn as_str(self) -> &'static str {
        FORMATS.iter().find(|f| f.0 == self).map_or("", |f| f.1)
    }
}

/// How Avro unions are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum UnionEncoding {
    /// The value of the branch alone.
    #[default]
    Unwrap,
    /// `{"<branch type>": value}`, the Avro JSON encoding (`null` stays `null`).
    Tagged,
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

/// How dates, times and timestamps are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TimeEncoding {
    /// ISO-8601 text: `2024-05-01`, `13:45:00.250`, `2024-05-01T13:45:00.250Z`.
    #[default]
    Iso,
    /// The encoded number: days, or milli/micro/nanoseconds since the epoch or midnight.
    Epoch,
}

/// How Protobuf fields are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FieldNames {
    /// The name in the `.proto` file (`user_id`).
    #[default]
    Proto,
    /// The `json_name` (`userId`).
    Json,
}

/// Whether Protobuf fields without presence are written at their default value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PresenceDefaults {
    /// Write them (`"count":0`), so every row has every column.
    #[default]
    Emit,
    /// Leave them out, as ProtoJSON does by default.
    Omit,
}

/// How Protobuf enums are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum EnumEncoding {
    /// The value's name (a value the enum does not define stays a number).
    #[default]
    Name,
    /// The number.
    Number,
}

/// The JSON mapping options, fixed for the life of the process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonOptions {
    /// Avro unions (`--unions`).
    pub unions: UnionEncoding,
    /// Avro bytes and fixed, Protobuf bytes (`--bytes`).
    pub bytes: BytesEncoding,
    /// NaN and ±Infinity (`--non-finite`).
    pub non_finite: NonFinite,
    /// Avro decimals (`--decimals`).
    pub decimals: NumberOrString,
    /// Dates, times and timestamps (`--times`).
    pub times: TimeEncoding,
    /// Protobuf field names (`--proto-field-names`).
    pub proto_field_names: FieldNames,
    /// Protobuf fields without presence at their default (`--proto-defaults`).
    pub proto_defaults: PresenceDefaults,
    /// Protobuf enums (`--enums`).
    pub enums: EnumEncoding,
    /// Protobuf 64-bit integers (`--int64`).
    pub int64: NumberOrString,
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

/// Stops a result as soon as it passes `max_len` bytes: decoders call this while they
/// write, so runaway output (billions of items in a few bytes) ends early.
pub(crate) fn check_result_size(out: &str, max_len: usize) -> Result<(), RecordError> {
    if out.len() > max_len {
        return Err(RecordError::new(
            crate::error::ErrorCode::ResultTooLarge,
            format!("JSON result exceeds {max_len} bytes"),
        ));
    }
    Ok(())
}

/// Default for [`DecodeContext::max_result_bytes`]: Redshift's VARCHAR limit, since a
/// longer result cannot be stored.
pub const DEFAULT_MAX_RESULT_BYTES: usize = 65_535;

/// Default for [`DecodeContext::max_depth`]: deep enough for any real schema, shallow
/// enough that a hostile record cannot exhaust the stack or memory.
pub const DEFAULT_MAX_DEPTH: usize = 128;

/// The deepest nesting any decoder follows, whatever the setting: decoders recurse once per
/// level, and this many levels fit in a 2 MiB thread stack (tokio's worker default) even in
/// a debug build. `--max-depth` accepts values up to it.
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

    /// Whether the schema defines the message a stream names (only Protobuf schemas hold
    /// several messages; for other formats the setting does not apply).
    fn knows_message(&self, _name: &str) -> bool {
        true
    }
}

/// Why a schema definition cannot be compiled into a decoder.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// An Avro schema that cannot be used.
    #[error(transparent)]
    Avro(#[from] avro::SchemaError),
    /// A Protobuf schema that cannot be used.
    #[error(transparent)]
    Protobuf(#[from] protobuf::SchemaError),
}

/// Builds the decoder for a schema definition. An error means the schema itself is
/// unusable, which is an environment problem, not a record problem.
pub fn compile(
    format: DataFormat,
    definition: &str,
    options: &JsonOptions,
) -> Result<Box<dyn RecordDecoder>, CompileError> {
    match format {
        DataFormat::Avro => Ok(Box::new(avro::AvroDecoder::new(definition, options)?)),
        DataFormat::Json => Ok(Box::new(json::JsonDecoder)),
        DataFormat::Protobuf => Ok(Box::new(protobuf::ProtobufDecoder::new(
            definition, options,
        )?)),
    }
}
