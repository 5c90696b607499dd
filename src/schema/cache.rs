//! The cache of compiled decoders in front of a [`SchemaSource`].
//!
//! Entries found by ID or pinned version are immutable and kept until size-based eviction;
//! `latest` entries expire after a TTL. A schema is fetched and compiled once per entry, and
//! concurrent misses for one key share a single fetch (moka's `try_get_with`).

use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;

use super::{SchemaDefinition, SchemaKey, SchemaSource, VersionPin};
use crate::decode::{self, DataFormat, JsonOptions, RecordDecoder};
use crate::error::EnvError;

/// How many compiled schemas the cache keeps at most, per kind of key.
const MAX_ENTRIES: u64 = 10_000;

/// A schema version compiled into a decoder, ready for records.
pub struct CompiledSchema {
    pub registry: String,
    pub schema: String,
    pub version: u32,
    pub format: DataFormat,
    pub decoder: Box<dyn RecordDecoder>,
}

impl std::fmt::Debug for CompiledSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{} v{} ({})",
            self.registry,
            self.schema,
            self.version,
            self.format.as_str()
        )
    }
}

/// The outcome of a lookup that reached an answer.
#[derive(Debug, Clone)]
pub enum Lookup {
    Found(Arc<CompiledSchema>),
    NotFound,
}

#[derive(Debug, Clone)]
enum Miss {
    NotFound,
    Env(EnvError),
}

pub struct SchemaCache {
    source: Arc<dyn SchemaSource>,
    options: JsonOptions,
    immutable: Cache<SchemaKey, Arc<CompiledSchema>>,
    latest: Cache<SchemaKey, Arc<CompiledSchema>>,
}

impl SchemaCache {
    pub fn new(source: Arc<dyn SchemaSource>, options: JsonOptions, latest_ttl: Duration) -> Self {
        SchemaCache {
            source,
            options,
            immutable: Cache::builder().max_capacity(MAX_ENTRIES).build(),
            latest: Cache::builder()
                .max_capacity(MAX_ENTRIES)
                .time_to_live(latest_ttl)
                .build(),
        }
    }

    pub fn source_description(&self) -> String {
        self.source.describe()
    }

    /// Resolves `key` to a compiled schema, from the cache or the source.
    pub async fn lookup(&self, key: &SchemaKey) -> Result<Lookup, EnvError> {
        let cache = match key {
            SchemaKey::Named {
                version: VersionPin::Latest,
                ..
            } => &self.latest,
            _ => &self.immutable,
        };
        match cache.try_get_with_by_ref(key, self.load(key)).await {
            Ok(compiled) => Ok(Lookup::Found(compiled)),
            Err(miss) => match &*miss {
                Miss::NotFound => Ok(Lookup::NotFound),
                Miss::Env(e) => Err(e.clone()),
            },
        }
    }

    async fn load(&self, key: &SchemaKey) -> Result<Arc<CompiledSchema>, Miss> {
        let definition = self
            .source
            .fetch(key)
            .await
            .map_err(Miss::Env)?
            .ok_or(Miss::NotFound)?;
        compile(definition, &self.options)
            .map(Arc::new)
            .map_err(Miss::Env)
    }
}

fn compile(
    definition: SchemaDefinition,
    options: &JsonOptions,
) -> Result<CompiledSchema, EnvError> {
    let decoder = decode::compile(definition.format, &definition.text, options).map_err(|e| {
        EnvError::new(format!(
            "schema '{}' version {} in registry '{}' ({}) cannot be used: {e}",
            definition.schema,
            definition.version,
            definition.registry,
            definition.format.as_str()
        ))
    })?;
    Ok(CompiledSchema {
        registry: definition.registry,
        schema: definition.schema,
        version: definition.version,
        format: definition.format,
        decoder,
    })
}
