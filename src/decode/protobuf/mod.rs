//! Protobuf binary → JSON text, with the schema compiled at run time.
//!
//! The Glue Schema Registry stores Protobuf schemas as `.proto` text, so there is no
//! generated code: [`ProtobufDecoder::new`] compiles the text with `protox` (the
//! well-known types resolve as imports) into a `prost-reflect` descriptor pool, once per
//! schema version, and the pool into a decoder tree (`wire`: one plan per message, field
//! number → kind, wire type, JSON key) that reads each record's wire format and writes
//! the JSON directly, with no intermediate message. Its design, the wire semantics it
//! implements and its limits (depth, memory, result size) are described in `wire`;
//! `wkt` holds the one table of well-known types with a JSON form of their own.
//!
//! [`ProtobufDecoder::decode_reference`] keeps the older path (`prost-reflect` parses a
//! `DynamicMessage`, `json` writes it) as an independent reference for tests; the
//! product never uses it.
//!
//! Which message a record holds:
//!
//! | framing | message |
//! |---|---|
//! | Glue | one unsigned varint after the header: the index in the list of all messages of the file, nested ones included, sorted by full name (B=0, B.A=1, B.A.D=2, B.C=3) |
//! | Confluent | a zigzag-varint count, then zigzag-varint indexes: the path from a top-level message down its nested messages, in declaration order; a single `00` means `[0]` |
//! | raw | the stream's configured message, else the first message declared in the file |
//!
//! Both index schemes count every message type the compiler sees, the synthetic map-entry
//! messages included, exactly as the Java serializers do.

mod json;
mod wire;
mod wkt;

use std::sync::atomic::Ordering;

use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};

use super::{
    DecodeContext, JsonOptions, MessageSelector, ProtoImport, RecordDecoder, RecordEncoder,
    SchemaText,
};
use crate::error::{ErrorCode, RecordError};
use crate::json_text::{JsonSink, LiteralSink};
use crate::varint;

/// The name the schema text is compiled under.
const SCHEMA_FILE: &str = "schema.proto";

/// Deepest Confluent message-index path we accept; real schemas nest a few levels.
const MAX_INDEX_PATH: usize = 64;

/// Protobuf's JSON mapping options (flags with `SUPERDECODE_*` twins).
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct ProtobufOptions {
    /// Protobuf field names: the .proto name, or the json_name.
    #[arg(
        long = "proto-field-names",
        env = "SUPERDECODE_PROTO_FIELD_NAMES",
        value_enum,
        default_value_t
    )]
    pub field_names: FieldNames,

    /// Protobuf fields without presence at their default value: emit or omit.
    #[arg(
        long = "proto-defaults",
        env = "SUPERDECODE_PROTO_DEFAULTS",
        value_enum,
        default_value_t
    )]
    pub defaults: PresenceDefaults,

    /// Protobuf enums: names or numbers.
    #[arg(long, env = "SUPERDECODE_ENUMS", value_enum, default_value_t)]
    pub enums: EnumEncoding,

    /// Protobuf 64-bit integers: JSON numbers, or strings as ProtoJSON writes them.
    #[arg(long, env = "SUPERDECODE_INT64", value_enum, default_value_t)]
    pub int64: super::NumberOrString,
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

/// Decodes Protobuf binary records of one `.proto` file's messages.
pub struct ProtobufDecoder {
    /// Every message of the schema file, sorted by full name: the Glue index.
    sorted: Vec<MessageDescriptor>,
    /// Top-level messages in declaration order: the root of a Confluent index path.
    top_level: Vec<MessageDescriptor>,
    package: String,
    pool: DescriptorPool,
    options: JsonOptions,
    /// The decoder tree compiled from `pool`.
    plan: wire::Plan,
}

/// Serves the schema text as `schema.proto`, and the files it imports by their paths.
struct SchemaFiles {
    text: String,
    imports: Vec<ProtoImport>,
}

impl FileResolver for SchemaFiles {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if name == SCHEMA_FILE {
            return File::from_source(name, &self.text);
        }
        match self.imports.iter().find(|import| import.path == name) {
            Some(import) => File::from_source(name, &import.text),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// Why a `.proto` schema cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// `protox` does not compile it.
    #[error("invalid Protobuf schema: {0}")]
    Invalid(#[source] Box<protox::Error>),
    /// The compiled pool lacks the schema's own file.
    #[error("the compiled schema has no file")]
    NoFile,
    /// The file declares no top-level message.
    #[error("the Protobuf schema declares no message")]
    NoMessage,
}

impl From<SchemaError> for super::CompileError {
    fn from(e: SchemaError) -> Self {
        super::CompileError(Box::new(e))
    }
}

/// Why a JSON document does not encode as a Protobuf message.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The message asked for is not in the schema.
    #[error("the schema has no message {0}")]
    NoMessage(String),
    /// The document is not ProtoJSON for the message.
    #[error("not a valid {message} in JSON: {source}")]
    Json {
        /// The message's full name.
        message: String,
        /// Why the JSON does not read as that message.
        #[source]
        source: serde_json::Error,
    },
    /// The message is missing from the sorted index (a bug).
    #[error("internal: message missing from the index")]
    Index,
}

impl ProtobufDecoder {
    /// Compiles `.proto` text that imports nothing but the well-known types. Errors
    /// describe why the schema is unusable.
    pub fn new(proto: &str, options: &JsonOptions) -> Result<Self, SchemaError> {
        Self::compile(SchemaText::from(proto), options)
    }

    /// Compiles `.proto` text with the files it imports; the well-known
    /// `google/protobuf/*.proto` files resolve whether or not `schema` carries them.
    pub fn compile(schema: SchemaText, options: &JsonOptions) -> Result<Self, SchemaError> {
        let mut resolver = ChainFileResolver::new();
        resolver.add(SchemaFiles {
            text: schema.text.to_owned(),
            imports: schema.imports.to_vec(),
        });
        resolver.add(GoogleFileResolver::new());
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler
            .open_file(SCHEMA_FILE)
            .map_err(|e| SchemaError::Invalid(Box::new(e)))?;
        let pool = compiler.descriptor_pool();
        let file = pool
            .get_file_by_name(SCHEMA_FILE)
            .ok_or(SchemaError::NoFile)?;
        let top_level: Vec<MessageDescriptor> = file.messages().collect();
        if top_level.is_empty() {
            return Err(SchemaError::NoMessage);
        }
        let mut sorted = Vec::new();
        let mut level = top_level.clone();
        while !level.is_empty() {
            let next = level.iter().flat_map(|m| m.child_messages()).collect();
            sorted.append(&mut level);
            level = next;
        }
        sorted.sort_by(|a, b| a.full_name().cmp(b.full_name()));
        let plan = wire::Plan::new(&pool, options);
        Ok(ProtobufDecoder {
            plan,
            sorted,
            top_level,
            package: file.package_name().to_owned(),
            pool,
            options: options.clone(),
        })
    }

    /// The message a stream configures by name: full name, or a name relative to the
    /// file's package.
    fn named(&self, name: &str) -> Option<MessageDescriptor> {
        self.pool.get_message_by_name(name).or_else(|| {
            (!self.package.is_empty())
                .then(|| {
                    self.pool
                        .get_message_by_name(&format!("{}.{name}", self.package))
                })
                .flatten()
        })
    }

    /// Reads the message selector for `wire` from the front of `body`.
    fn select<'b>(
        &self,
        body: &'b [u8],
        ctx: &DecodeContext,
    ) -> Result<(MessageDescriptor, &'b [u8]), RecordError> {
        let mut rest = body;
        let message = match ctx.selector {
            MessageSelector::GlueIndex => {
                let index = read_varint(&mut rest)?;
                usize::try_from(index)
                    .ok()
                    .and_then(|i| self.sorted.get(i))
                    .cloned()
                    .ok_or_else(|| {
                        bad_index(format!(
                            "Glue message index {index} is out of range: the schema has {} messages",
                            self.sorted.len()
                        ))
                    })?
            }
            MessageSelector::ConfluentPath => self.confluent_path(&mut rest)?,
            MessageSelector::Configured => match ctx.message {
                Some(name) => self
                    .named(name)
                    .ok_or_else(|| bad_index(format!("the schema has no message {name}")))?,
                None => self.top_level[0].clone(),
            },
        };
        Ok((message, rest))
    }

    fn confluent_path(&self, rest: &mut &[u8]) -> Result<MessageDescriptor, RecordError> {
        let count = varint::zigzag_decode(read_varint(rest)?);
        if count == 0 {
            return Ok(self.top_level[0].clone());
        }
        let count = usize::try_from(count)
            .ok()
            .filter(|c| *c <= MAX_INDEX_PATH && *c <= rest.len())
            .ok_or_else(|| {
                bad_index(format!("Confluent message-index count {count} is invalid"))
            })?;
        let mut path = Vec::with_capacity(count);
        let mut current: Option<MessageDescriptor> = None;
        for _ in 0..count {
            let index = varint::zigzag_decode(read_varint(rest)?);
            path.push(index);
            let next = usize::try_from(index).ok().and_then(|i| match &current {
                None => self.top_level.get(i).cloned(),
                Some(parent) => parent.child_messages().nth(i),
            });
            current = Some(next.ok_or_else(|| {
                bad_index(format!(
                    "Confluent message-index path {path:?} names no message"
                ))
            })?);
        }
        current.ok_or_else(|| bad_index("empty Confluent message-index path"))
    }
}

/// ProtoJSON (what the decoder writes, or standard ProtoJSON) back to Protobuf binary, as
/// `message` (default: the first declared), with the message index `selector` needs in
/// front (the `encode` command).
impl RecordEncoder for ProtobufDecoder {
    fn encode(
        &self,
        json: &str,
        message: Option<&str>,
        selector: MessageSelector,
    ) -> Result<Vec<u8>, super::EncodeError> {
        self.encode_message(json, message, selector)
            .map_err(|e| super::EncodeError::Mismatch(Box::new(e)))
    }
}

impl ProtobufDecoder {
    fn encode_message(
        &self,
        json: &str,
        message: Option<&str>,
        selector: MessageSelector,
    ) -> Result<Vec<u8>, EncodeError> {
        let descriptor = match message {
            Some(name) => self
                .named(name)
                .ok_or_else(|| EncodeError::NoMessage(name.to_owned()))?,
            None => self.top_level[0].clone(),
        };
        let mut input = serde_json::Deserializer::from_str(json);
        let dynamic =
            DynamicMessage::deserialize(descriptor.clone(), &mut input).map_err(|source| {
                EncodeError::Json {
                    message: descriptor.full_name().to_owned(),
                    source,
                }
            })?;
        let mut out = Vec::new();
        match selector {
            MessageSelector::GlueIndex => {
                let index = self
                    .sorted
                    .iter()
                    .position(|m| m == &descriptor)
                    .ok_or(EncodeError::Index)?;
                varint::write(&mut out, index as u64);
            }
            MessageSelector::ConfluentPath => {
                let path = self.confluent_path_of(&descriptor);
                if path == [0] {
                    out.push(0);
                } else {
                    varint::write(&mut out, varint::zigzag_encode(path.len() as i64));
                    for index in path {
                        varint::write(&mut out, varint::zigzag_encode(index as i64));
                    }
                }
            }
            MessageSelector::Configured => {}
        }
        out.extend_from_slice(&prost::Message::encode_to_vec(&dynamic));
        Ok(out)
    }

    /// The Confluent index path of a message: its position among the top-level messages,
    /// then among each parent's nested messages.
    fn confluent_path_of(&self, message: &MessageDescriptor) -> Vec<usize> {
        let mut path = Vec::new();
        let mut current = message.clone();
        while let Some(parent) = current.parent_message() {
            path.push(
                parent
                    .child_messages()
                    .position(|m| m == current)
                    .unwrap_or(0),
            );
            current = parent;
        }
        path.push(
            self.top_level
                .iter()
                .position(|m| *m == current)
                .unwrap_or(0),
        );
        path.reverse();
        path
    }
}

impl ProtobufDecoder {
    /// The reference decoder: `prost-reflect` parses the record into a `DynamicMessage`,
    /// which is then written with the same mapping. Slower and less strict (it rejects a
    /// known field with the wrong wire type, and has no depth limit of its own); kept only
    /// so that tests can compare the wire decoder with an independent parser.
    #[doc(hidden)]
    pub fn decode_reference(
        &self,
        body: &[u8],
        ctx: &DecodeContext,
        out: &mut String,
    ) -> Result<(), RecordError> {
        let (descriptor, payload) = self.select(body, ctx)?;
        let message = DynamicMessage::decode(descriptor.clone(), payload).map_err(|e| {
            RecordError::new(
                ErrorCode::DecodeFailed,
                format!("not a valid {} message: {e}", descriptor.full_name()),
            )
        })?;
        let mut writer = json::Writer::new(&self.options, &self.pool, out, ctx.max_result_bytes);
        writer.message(&message)?;
        ctx.unknown_fields
            .fetch_add(writer.unknown_fields(), Ordering::Relaxed);
        Ok(())
    }
}

impl RecordDecoder for ProtobufDecoder {
    fn decode(
        &self,
        body: &[u8],
        ctx: &DecodeContext,
        out: &mut String,
    ) -> Result<(), RecordError> {
        let (descriptor, payload) = self.select(body, ctx)?;
        self.decode_message(&descriptor, payload, ctx, out)
    }

    fn decode_literal(&self, body: &[u8], ctx: &DecodeContext, out: &mut Vec<u8>) -> Option<usize> {
        let (descriptor, payload) = self.select(body, ctx).ok()?;
        let mut literal = LiteralSink::open(out);
        self.decode_message(&descriptor, payload, ctx, &mut literal)
            .ok()?;
        Some(literal.close())
    }

    fn knows_message(&self, name: &str) -> bool {
        self.named(name).is_some()
    }
}

impl ProtobufDecoder {
    /// Decodes `payload` as the message of this schema named like `descriptor` (which may
    /// come from another version of the schema).
    fn decode_message(
        &self,
        descriptor: &MessageDescriptor,
        payload: &[u8],
        ctx: &DecodeContext,
        out: &mut impl JsonSink,
    ) -> Result<(), RecordError> {
        let id = self.plan.id(descriptor.full_name()).ok_or_else(|| {
            RecordError::new(
                ErrorCode::SchemaIncompatible,
                format!(
                    "the reader's schema has no message {}",
                    descriptor.full_name()
                ),
            )
        })?;
        let mut decoder = wire::Decoder::new(&self.plan, out, ctx.max_result_bytes, ctx.max_depth);
        let result = decoder.message(id, &[payload], 0);
        let unknown = decoder.unknown_fields();
        result.map_err(|e| match e.code {
            ErrorCode::DecodeFailed => RecordError::new(
                e.code,
                format!(
                    "not a valid {} message: {}",
                    descriptor.full_name(),
                    e.message
                ),
            ),
            _ => e,
        })?;
        ctx.unknown_fields.fetch_add(unknown, Ordering::Relaxed);
        Ok(())
    }
}

/// Records written with one version of a `.proto` schema, decoded with another's
/// descriptor of the same message: field numbers are the contract, so fields the reader
/// adds come out at their defaults (as the presence options say), and fields it removed
/// are dropped and counted as unknown. The message is chosen in the writer's schema (the
/// frame's index counts the writer's messages), then found by full name in the reader's.
pub struct ResolvingDecoder {
    writer: ProtobufDecoder,
    reader: ProtobufDecoder,
}

impl ResolvingDecoder {
    /// Compiles both versions' `.proto` files.
    pub fn new(
        writer: SchemaText,
        reader: SchemaText,
        options: &JsonOptions,
    ) -> Result<Self, SchemaError> {
        Ok(ResolvingDecoder {
            writer: ProtobufDecoder::compile(writer, options)?,
            reader: ProtobufDecoder::compile(reader, options)?,
        })
    }
}

impl RecordDecoder for ResolvingDecoder {
    fn decode(
        &self,
        body: &[u8],
        ctx: &DecodeContext,
        out: &mut String,
    ) -> Result<(), RecordError> {
        let (descriptor, payload) = self.writer.select(body, ctx)?;
        self.reader.decode_message(&descriptor, payload, ctx, out)
    }

    fn knows_message(&self, name: &str) -> bool {
        self.writer.knows_message(name)
    }
}

fn bad_index(message: impl Into<String>) -> RecordError {
    RecordError::new(ErrorCode::InvalidMessageIndex, message)
}

/// An unsigned base-128 varint (at most 10 bytes), consumed from the front of `rest`.
fn read_varint(rest: &mut &[u8]) -> Result<u64, RecordError> {
    let (value, len) = varint::read(rest)
        .map_err(|_| bad_index("the message index is truncated or longer than 10 bytes"))?;
    *rest = &rest[len..];
    Ok(value)
}

#[cfg(test)]
mod tests;
