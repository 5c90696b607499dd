//! Schemas: where they come from ([`SchemaSource`]) and the cache of compiled decoders in
//! front of it ([`SchemaCache`]).
//!
//! A record names its schema in one of two ways, captured by [`SchemaKey`]:
//! * by a global ID from its frame (Glue version UUID, Confluent ID, Avro fingerprint);
//! * by name, for assumed-schema calls: source + registry + schema (a Confluent subject)
//!   + latest or a pinned version.
//!
//! [`Sources`] routes each key to the source that owns it, with a local directory, when one
//! is given, answering first.

mod cache;
#[cfg(feature = "confluent")]
pub mod confluent;
#[cfg(feature = "glue")]
pub mod glue;
pub mod local;
mod routed;

use crate::decode::DataFormat;
use crate::error::BatchError;
use crate::frame::{KnownIds, SchemaId};

pub use crate::decode::ProtoImport;
pub use cache::{
    CacheSettings, CacheStats, CompiledSchema, DEFAULT_LATEST_TTL_SECS, DEFAULT_NOT_FOUND_TTL_SECS,
    DEFAULT_REGISTRY_CONCURRENCY, Lookup, SchemaCache,
};
pub use routed::Sources;

/// Which registry a schema name is looked up in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// The local schema directory.
    Local,
    /// The AWS Glue Schema Registry.
    Glue,
    /// The Confluent-compatible REST registry; schema names are subjects.
    Confluent,
}

/// A schema whose versions are numbered: (source, registry, schema).
pub type SchemaName = (SourceKind, String, String);

impl SourceKind {
    /// The kind's name, as settings spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Local => "local",
            SourceKind::Glue => "glue",
            SourceKind::Confluent => "confluent",
        }
    }
}

/// Which version of a named schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VersionPin {
    /// The newest version.
    Latest,
    /// This version number.
    Number(u32),
}

/// What a record needs resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SchemaKey {
    /// A global schema ID from a record's frame.
    Id(SchemaId),
    /// A schema by name, for assumed-schema calls.
    Named {
        /// The registry that holds it (a local directory, when one is given, answers for
        /// every registry first).
        source: SourceKind,
        /// The registry name (Glue's registry; the folder of a local directory).
        registry: String,
        /// The schema name (a Confluent subject).
        schema: String,
        /// Which version.
        version: VersionPin,
    },
}

impl SchemaKey {
    /// `version` of the schema `name`.
    pub fn version_of(name: &SchemaName, version: VersionPin) -> Self {
        let (source, registry, schema) = name;
        SchemaKey::Named {
            source: *source,
            registry: registry.clone(),
            schema: schema.clone(),
            version,
        }
    }
}

impl std::fmt::Display for VersionPin {
    /// `(latest)` or `version N`, as in "schema 'S' version 3 in registry 'R'".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VersionPin::Latest => f.write_str("(latest)"),
            VersionPin::Number(n) => write!(f, "version {n}"),
        }
    }
}

/// "schema 'S' version 3 in registry 'R'" (or "subject 'S' version 3 in the Confluent
/// registry"): how messages name a schema version.
fn write_schema_name(
    f: &mut std::fmt::Formatter<'_>,
    source: SourceKind,
    registry: &str,
    schema: &str,
    version: VersionPin,
) -> std::fmt::Result {
    match source {
        SourceKind::Confluent => {
            write!(f, "subject '{schema}' {version} in the Confluent registry")
        }
        _ => write!(f, "schema '{schema}' {version} in registry '{registry}'"),
    }
}

impl std::fmt::Display for SchemaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SchemaKey::Id(id) => id.fmt(f),
            SchemaKey::Named {
                source,
                registry,
                schema,
                version,
            } => write_schema_name(f, *source, registry, schema, *version),
        }
    }
}

impl std::fmt::Display for SchemaDefinition {
    /// "schema 'S' version 3 in registry 'R'".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write_schema_name(
            f,
            self.source,
            &self.registry,
            &self.schema,
            VersionPin::Number(self.version),
        )
    }
}

/// A schema version as a source returns it: text, not yet compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaDefinition {
    /// The registry that owns the schema: its other versions are looked up there.
    pub source: SourceKind,
    /// The registry name.
    pub registry: String,
    /// The schema name.
    pub schema: String,
    /// The version number.
    pub version: u32,
    /// The data format.
    pub format: DataFormat,
    /// The schema text (`.avsc` JSON, `.proto` source, JSON Schema). An Avro schema that
    /// references named types of other registered schemas has them defined inline, at
    /// first use, so that the text stands alone (as Avro's canonical form requires).
    pub text: String,
    /// The `.proto` files a Protobuf schema imports (registry references), by import path;
    /// empty for other formats.
    pub imports: Vec<ProtoImport>,
    /// The Glue schema version ID, when the source knows it: a lookup of `latest` then
    /// also fills the cache entry for that ID.
    pub glue_id: Option<uuid::Uuid>,
    /// The Confluent schema ID, when the source knows it (local `ids.json`).
    pub confluent_id: Option<u32>,
}

impl SchemaDefinition {
    /// The IDs this version is known by, for framing its records (`encode`): the Avro
    /// fingerprint is computed from the text.
    pub fn known_ids(&self) -> KnownIds {
        KnownIds {
            glue: self.glue_id,
            confluent: self.confluent_id,
            avro_fingerprint: match self.format {
                DataFormat::Avro => crate::decode::avro::canonical::fingerprint(&self.text).ok(),
                _ => None,
            },
        }
    }
}

/// A registry of schemas: the AWS Glue Schema Registry, a Confluent-compatible registry, or
/// a local directory.
#[async_trait::async_trait]
pub trait SchemaSource: Send + Sync {
    /// Fetches the definition for `key`. `Ok(None)` means the source answered that it has
    /// no such schema; `Err` means it could not answer (unreachable, throttled, denied),
    /// [`BatchError::transient`] when asking again may succeed.
    async fn fetch(&self, key: &SchemaKey) -> Result<Option<SchemaDefinition>, BatchError>;

    /// A short description for messages, e.g. `local schema directory ./schemas`.
    fn describe(&self) -> String;

    /// The description of where `key` was looked up, for "not found" messages: by default
    /// the whole source.
    fn describe_for(&self, _key: &SchemaKey) -> String {
        self.describe()
    }
}
