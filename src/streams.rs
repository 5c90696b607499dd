//! Stream bindings: which source, schema, version, framing and Protobuf message a stream's
//! records are read with, and in which version's shape they are written. By convention a
//! stream reads the schema of the same name, latest version, in the default registry, as
//! raw payloads, each record in its writer's shape; `SUPERDECODE_STREAMS` overrides any of
//! that per stream, and `SUPERDECODE_READER` sets the shape for every stream.
//!
//! A stream read from a Confluent-compatible registry follows Confluent's default subject
//! naming (TopicNameStrategy): stream `orders` reads subject `orders-value`, and a stream
//! name that already ends in `-value` or `-key` is the subject itself, so
//! `f('orders-key', to_hex(kafka_key))` decodes record keys. Its payloads default to
//! Confluent framing, which is what Confluent's serializers write.

use std::collections::HashMap;

use crate::frame::{Framing, WireFormat};
use crate::schema::{SourceKind, VersionPin};

/// How one stream's records are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The source of the stream's schema.
    pub source: SourceKind,
    /// The registry of the stream's schema.
    pub registry: String,
    /// The schema name (with a Confluent registry, the subject).
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

impl Binding {
    /// The stream's schema: (source, registry, schema).
    pub fn name(&self) -> crate::schema::SchemaName {
        (self.source, self.registry.clone(), self.schema.clone())
    }
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
    /// Where the stream's schema is looked up: `"local"`, `"glue"` or `"confluent"`
    /// (default: the `SUPERDECODE_SOURCE` setting).
    pub source: Option<SourceKind>,
    /// Registry of the stream's schema (default: the default registry).
    pub registry: Option<String>,
    /// Schema name, or with a Confluent registry any subject (default: the stream name;
    /// with a Confluent registry, the stream's value subject).
    pub schema: Option<String>,
    /// Pinned version number (default: latest).
    pub version: Option<u32>,
    /// Framing of the stream's payloads (default: raw; with a Confluent registry,
    /// Confluent framing).
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
    default_source: SourceKind,
    default_reader: ReadAs,
    overrides: HashMap<String, StreamOverride>,
}

impl Streams {
    /// Bindings with `default_registry` for streams that do not override it.
    pub fn new(default_registry: String, overrides: HashMap<String, StreamOverride>) -> Self {
        Streams {
            default_registry,
            default_source: SourceKind::Local,
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

    /// The bindings with `source` for streams that do not override it.
    pub fn with_source(mut self, source: SourceKind) -> Self {
        self.default_source = source;
        self
    }

    /// Every source a stream's schema is looked up in: the default and each override's.
    pub fn sources(&self) -> impl Iterator<Item = SourceKind> + '_ {
        std::iter::once(self.default_source).chain(self.overrides.values().filter_map(|o| o.source))
    }

    /// The source of `stream`'s schema.
    fn source(&self, stream: &str) -> SourceKind {
        self.overrides
            .get(stream)
            .and_then(|o| o.source)
            .unwrap_or(self.default_source)
    }

    /// The shape of records of calls without a stream.
    pub fn default_reader(&self) -> ReadAs {
        self.default_reader
    }

    /// The framing of `stream`'s payloads.
    pub fn framing(&self, stream: &str) -> Framing {
        let default = match self.source(stream) {
            SourceKind::Confluent => WireFormat::Confluent,
            SourceKind::Local | SourceKind::Glue => WireFormat::Raw,
        };
        self.overrides
            .get(stream)
            .and_then(|o| o.framing)
            .unwrap_or(Framing::Fixed(default))
    }

    /// The schemaless format of `stream`'s records, if it has one.
    pub fn format(&self, stream: &str) -> Option<crate::decode::SchemalessFormat> {
        self.overrides.get(stream).and_then(|o| o.format)
    }

    /// How the records of a `(registry, schema, hex)` call are read: raw, latest version,
    /// in the default reader's shape. Registry names are Glue's (or a local directory's):
    /// with a Confluent registry as the default source, these calls go to Glue.
    pub fn named_binding(&self, registry: &str, schema: &str) -> Binding {
        Binding {
            source: match self.default_source {
                SourceKind::Confluent => SourceKind::Glue,
                other => other,
            },
            registry: registry.to_owned(),
            schema: schema.to_owned(),
            version: VersionPin::Latest,
            framing: Framing::Fixed(WireFormat::Raw),
            message: None,
            reader: self.default_reader,
            infer_writer: false,
        }
    }

    /// How `stream`'s records are read.
    pub fn binding(&self, stream: &str) -> Binding {
        let over = self.overrides.get(stream).cloned().unwrap_or_default();
        let source = self.source(stream);
        Binding {
            source,
            registry: over
                .registry
                .unwrap_or_else(|| self.default_registry.clone()),
            schema: over.schema.unwrap_or_else(|| match source {
                SourceKind::Confluent => value_subject(stream),
                SourceKind::Local | SourceKind::Glue => stream.to_owned(),
            }),
            version: over.version.map_or(VersionPin::Latest, VersionPin::Number),
            framing: self.framing(stream),
            message: over.message,
            reader: over.reader.unwrap_or(self.default_reader),
            infer_writer: over.writer == Some(WriterVersion::Infer),
        }
    }
}

/// The Confluent subject of a stream (TopicNameStrategy): `<stream>-value`, unless the
/// name already ends in `-value` or `-key`.
fn value_subject(stream: &str) -> String {
    if stream.ends_with("-value") || stream.ends_with("-key") {
        stream.to_owned()
    } else {
        format!("{stream}-value")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confluent_streams_follow_the_topic_name_strategy() {
        let overrides = serde_json::from_str(
            r#"{"clicks": {"schema": "web.Click"}, "legacy": {"source": "glue"}}"#,
        )
        .unwrap();
        let streams = Streams::new("reg".to_owned(), overrides).with_source(SourceKind::Confluent);
        let subject = |s: &str| streams.binding(s).schema;
        assert_eq!(subject("orders"), "orders-value");
        assert_eq!(subject("orders-key"), "orders-key");
        assert_eq!(subject("orders-value"), "orders-value");
        assert_eq!(subject("clicks"), "web.Click");
        assert_eq!(
            streams.binding("orders").framing,
            Framing::Fixed(WireFormat::Confluent)
        );
        let legacy = streams.binding("legacy");
        assert_eq!(
            (legacy.source, legacy.schema.as_str()),
            (SourceKind::Glue, "legacy")
        );
        assert_eq!(legacy.framing, Framing::Fixed(WireFormat::Raw));
        let mut sources: Vec<_> = streams.sources().collect();
        sources.sort();
        assert_eq!(sources, [SourceKind::Glue, SourceKind::Confluent]);
    }
}
