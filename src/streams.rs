//! Stream bindings: which schema, version, framing and Protobuf message a stream's records
//! are read with, and in which version's shape they are written. By convention a stream
//! reads the schema of the same name, latest version, in the default registry, as raw
//! payloads, each record in its writer's shape; `SUPERDECODE_STREAMS` overrides any of
//! that per stream, and `SUPERDECODE_READER` sets the shape for every stream.

use std::collections::HashMap;

use crate::frame::{Framing, WireFormat};
use crate::schema::VersionPin;

/// How one stream's records are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The registry of the stream's schema.
    pub registry: String,
    /// The schema name.
    pub schema: String,
    /// Which version.
    pub version: VersionPin,
    /// The framing of the stream's payloads.
    pub framing: Framing,
    /// The Protobuf message of raw payloads (default: the file's first message).
    pub message: Option<String>,
    /// Which version's shape records are written in.
    pub reader: ReadAs,
    /// Raw payloads: find each record's writer version by trying the versions newest
    /// first, instead of assuming `version`.
    pub infer_writer: bool,
}

/// Which version's shape records are written in: their writer's, or one reader version
/// that every writer version is resolved to (Avro's schema resolution; Protobuf's field
/// numbers), so that every row of a view has one shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum ReadAs {
    /// Each record in the shape of the schema version it was written with.
    #[default]
    Writer,
    /// Every record in the shape of this version of its schema.
    Reader(VersionPin),
}

impl std::str::FromStr for ReadAs {
    type Err = String;

    /// `writer`, `latest`, or a version number.
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "writer" => Ok(ReadAs::Writer),
            "latest" => Ok(ReadAs::Reader(VersionPin::Latest)),
            number => number
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .map(|n| ReadAs::Reader(VersionPin::Number(n)))
                .ok_or_else(|| {
                    format!("expected `writer`, `latest` or a version number, not `{text}`")
                }),
        }
    }
}

impl<'de> serde::Deserialize<'de> for ReadAs {
    /// `"writer"`, `"latest"`, or a version number (as a number or a string).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Text {
            Number(u32),
            Name(String),
        }
        let text = match Text::deserialize(deserializer)? {
            Text::Number(n) => n.to_string(),
            Text::Name(name) => name,
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// How a raw stream's writer version is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WriterVersion {
    /// Try the schema's versions newest first (up to [`MAX_INFERRED_VERSIONS`]), and take
    /// the first that reads the record exactly, with no error and no byte left over.
    Infer,
}

/// How many versions, newest first, `writer: "infer"` tries.
pub const MAX_INFERRED_VERSIONS: u32 = 16;

/// What a stream's configuration may override; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamOverride {
    /// Registry of the stream's schema (default: the default registry).
    pub registry: Option<String>,
    /// Schema name (default: the stream name).
    pub schema: Option<String>,
    /// Pinned version number (default: latest).
    pub version: Option<u32>,
    /// Framing of the stream's payloads (default: raw).
    pub framing: Option<Framing>,
    /// Protobuf message of raw payloads, full name or relative to the file's package
    /// (default: the first message declared in the file).
    pub message: Option<String>,
    /// The shape records are written in: `"writer"`, `"latest"` or a version number
    /// (default: the `SUPERDECODE_READER` setting).
    pub reader: Option<ReadAs>,
    /// `"infer"`: a raw record's writer version is the newest that reads it exactly
    /// (default: the configured `version`).
    pub writer: Option<WriterVersion>,
    /// `"msgpack"`, `"cbor"` or `"json"`: the stream's records need no schema, and are
    /// decoded with no registry call (default: the stream's schema decides).
    pub format: Option<crate::decode::SchemalessFormat>,
}

/// Per-stream schema bindings. By convention a stream reads the schema of the same name,
/// latest version, in the default registry, as raw payloads; overrides change any of that.
#[derive(Debug, Clone)]
pub struct Streams {
    default_registry: String,
    default_reader: ReadAs,
    overrides: HashMap<String, StreamOverride>,
}

impl Streams {
    /// Bindings with `default_registry` for streams that do not override it.
    pub fn new(default_registry: String, overrides: HashMap<String, StreamOverride>) -> Self {
        Streams {
            default_registry,
            default_reader: ReadAs::Writer,
            overrides,
        }
    }

    /// The bindings with `reader` for streams that do not override it, and for calls
    /// without a stream.
    pub fn with_reader(mut self, reader: ReadAs) -> Self {
        self.default_reader = reader;
        self
    }

    /// The shape of records of calls without a stream.
    pub fn default_reader(&self) -> ReadAs {
        self.default_reader
    }

    /// The framing of `stream`'s payloads.
    pub fn framing(&self, stream: &str) -> Framing {
        self.overrides
            .get(stream)
            .and_then(|o| o.framing)
            .unwrap_or(Framing::Fixed(WireFormat::Raw))
    }

    /// The schemaless format of `stream`'s records, if it has one.
    pub fn format(&self, stream: &str) -> Option<crate::decode::SchemalessFormat> {
        self.overrides.get(stream).and_then(|o| o.format)
    }

    /// How `stream`'s records are read.
    pub fn binding(&self, stream: &str) -> Binding {
        let over = self.overrides.get(stream).cloned().unwrap_or_default();
        Binding {
            registry: over
                .registry
                .unwrap_or_else(|| self.default_registry.clone()),
            schema: over.schema.unwrap_or_else(|| stream.to_owned()),
            version: over.version.map_or(VersionPin::Latest, VersionPin::Number),
            framing: self.framing(stream),
            message: over.message,
            reader: over.reader.unwrap_or(self.default_reader),
            infer_writer: over.writer == Some(WriterVersion::Infer),
        }
    }
}
