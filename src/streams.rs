//! Stream bindings: which schema, version, framing and Protobuf message a stream's records
//! are read with. By convention a stream reads the schema of the same name, latest
//! version, in the default registry, as raw payloads; `SUPERDECODE_STREAMS` overrides any
//! of that per stream.

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
}

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
}

/// Per-stream schema bindings. By convention a stream reads the schema of the same name,
/// latest version, in the default registry, as raw payloads; overrides change any of that.
#[derive(Debug, Clone)]
pub struct Streams {
    default_registry: String,
    overrides: HashMap<String, StreamOverride>,
}

impl Streams {
    /// Bindings with `default_registry` for streams that do not override it.
    pub fn new(default_registry: String, overrides: HashMap<String, StreamOverride>) -> Self {
        Streams {
            default_registry,
            overrides,
        }
    }

    /// The framing of `stream`'s payloads.
    pub fn framing(&self, stream: &str) -> Framing {
        self.overrides
            .get(stream)
            .and_then(|o| o.framing)
            .unwrap_or(Framing::Fixed(WireFormat::Raw))
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
        }
    }
}
