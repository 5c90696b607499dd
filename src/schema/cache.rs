//! The cache of compiled decoders in front of a [`SchemaSource`].
//!
//! * Entries found by ID or pinned version never change: kept until size-based eviction.
//! * `latest` entries expire after a TTL. When the refresh fails for an environment reason
//!   and an earlier answer exists, the stale answer serves and a warning is logged.
//! * A fetched version also fills the entries for its version number and Glue version ID:
//!   one registry call fills every key it answers.
//! * "Not found" is remembered for a short time, so a run of records with an unknown ID
//!   does not call the registry for each.
//! * Concurrent misses for one key share one registry call (moka's `try_get_with`).
//! * [`SchemaCache::refetch_latest`] bypasses the TTL when a raw record does not decode
//!   against the cached latest, at most once per key per refetch window.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moka::future::Cache;

use super::{SchemaDefinition, SchemaKey, SchemaName, SchemaSource, SourceKind, VersionPin};
use crate::decode::avro::AvroDecoder;
use crate::decode::{self, DataFormat, JsonOptions, ProtoImport, RecordDecoder, SchemaText};
use crate::error::{BatchError, ErrorCode, RecordError};
use crate::frame::SchemaId;

/// How many compiled schemas the cache keeps at most, per kind of key.
const MAX_ENTRIES: u64 = 10_000;

/// A schema version compiled into a decoder, ready for records.
pub struct CompiledSchema {
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
    /// The decoder compiled from the schema text.
    pub decoder: Box<dyn RecordDecoder>,
    /// The schema text, for resolving this version against a reader version.
    pub text: String,
    /// The `.proto` files the schema imports.
    pub imports: Vec<ProtoImport>,
}

impl CompiledSchema {
    /// The schema as the decoders compile it.
    pub fn schema_text(&self) -> SchemaText<'_> {
        SchemaText {
            text: &self.text,
            imports: &self.imports,
        }
    }

    /// The key of another version of this schema, in the registry that owns it.
    pub fn version_key(&self, version: VersionPin) -> SchemaKey {
        SchemaKey::version_of(&self.name(), version)
    }

    /// Which schema this is a version of.
    pub fn name(&self) -> SchemaName {
        (self.source, self.registry.clone(), self.schema.clone())
    }
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

/// A (writer, reader) pair of schema versions: the writer's schema and version, the
/// reader's (usually the same schema; a Confluent ID may be read as another subject's).
type PairKey = (SchemaName, u32, SchemaName, u32);

/// A container file's schema text, and the reader version it is resolved to, if any.
type ContainerKey = (String, Option<(SchemaName, u32)>);

/// The total size of the container-file schema texts whose decoders are kept.
const MAX_CONTAINER_SCHEMA_BYTES: u64 = 16 << 20;

/// The outcome of a lookup that reached an answer.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// The schema exists.
    Found(Arc<CompiledSchema>),
    /// The source answered that it does not.
    NotFound,
}

/// Cache timings.
#[derive(Debug, Clone, Copy)]
pub struct CacheSettings {
    /// How long a `latest` answer is used before the registry is asked again.
    pub latest_ttl: Duration,
    /// How long a "not found" answer is remembered.
    pub not_found_ttl: Duration,
    /// At most one forced refetch of a key's latest per this window.
    pub refetch_window: Duration,
    /// Registry calls in flight at once, across every batch of the process.
    pub registry_concurrency: usize,
    /// How long one lookup may keep retrying transient failures (throttling, 5xx,
    /// timeouts), with jittered exponential backoff.
    pub retry_budget: Duration,
}

/// First backoff after a transient registry failure; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Default for [`CacheSettings::latest_ttl`], in seconds.
pub const DEFAULT_LATEST_TTL_SECS: u64 = 300;

/// Default for [`CacheSettings::not_found_ttl`], in seconds.
pub const DEFAULT_NOT_FOUND_TTL_SECS: u64 = 30;

/// Default for [`CacheSettings::registry_concurrency`].
pub const DEFAULT_REGISTRY_CONCURRENCY: usize = 8;

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            latest_ttl: Duration::from_secs(DEFAULT_LATEST_TTL_SECS),
            not_found_ttl: Duration::from_secs(DEFAULT_NOT_FOUND_TTL_SECS),
            refetch_window: Duration::from_secs(10),
            registry_concurrency: DEFAULT_REGISTRY_CONCURRENCY,
            retry_budget: Duration::from_secs(5),
        }
    }
}

/// Declares the cache's counters once: the public snapshot [`CacheStats`] (with `-` for
/// the difference of two), and the atomics the cache bumps.
macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// Counters since the cache was created; subtract two snapshots for one batch.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct CacheStats {
            $($(#[$doc])* pub $name: u64,)*
        }

        impl std::ops::Sub for CacheStats {
            type Output = CacheStats;
            fn sub(self, before: CacheStats) -> CacheStats {
                CacheStats {
                    $($name: self.$name - before.$name,)*
                }
            }
        }

        #[derive(Default)]
        struct Counters {
            $($name: AtomicU64,)*
        }

        impl Counters {
            fn snapshot(&self) -> CacheStats {
                CacheStats {
                    $($name: self.$name.load(Ordering::Relaxed),)*
                }
            }
        }
    };
}

counters! {
    /// Lookups answered from the cache.
    hits,
    /// Lookups that had to ask the source.
    misses,
    /// Calls made to the source (retries included).
    registry_calls,
    /// Time spent in those calls, in microseconds.
    registry_micros,
    /// Stale `latest` answers served because a refresh failed.
    stale_served,
    /// Forced refetches of a `latest` after a raw record did not decode.
    refetches,
    /// Registry calls made again after a transient failure.
    retries,
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

#[derive(Debug, Clone)]
enum Miss {
    NotFound,
    Env(BatchError),
}

/// The cache of compiled decoders in front of a schema source (see the module docs).
pub struct SchemaCache {
    source: Arc<dyn SchemaSource>,
    options: JsonOptions,
    immutable: Cache<SchemaKey, Arc<CompiledSchema>>,
    latest: Cache<SchemaKey, Arc<CompiledSchema>>,
    /// The last good answer for each `latest` key, without TTL: served when a refresh fails.
    last_good: Cache<SchemaKey, Arc<CompiledSchema>>,
    not_found: Cache<SchemaKey, ()>,
    recently_refetched: Cache<SchemaKey, ()>,
    /// Decoders of one version's records in the shape of another (see
    /// [`SchemaCache::resolution`]), by (registry, schema, writer version, reader version).
    resolutions: Cache<PairKey, Result<Arc<CompiledSchema>, RecordError>>,
    /// Decoders for the schemas Avro container files carry, by (schema text, reader
    /// version), bounded by the schema texts' total size.
    containers: Cache<ContainerKey, Result<Arc<AvroDecoder>, RecordError>>,
    /// Bounds registry calls in flight, so a batch of many unknown IDs queues its lookups
    /// instead of bursting them at the registry.
    registry_slots: tokio::sync::Semaphore,
    retry_budget: Duration,
    counters: Counters,
}

impl SchemaCache {
    /// A cache in front of `source`, compiling with `options`.
    pub fn new(
        source: Arc<dyn SchemaSource>,
        options: JsonOptions,
        settings: CacheSettings,
    ) -> Self {
        SchemaCache {
            source,
            options,
            immutable: bounded(None),
            latest: bounded(Some(settings.latest_ttl)),
            last_good: bounded(None),
            not_found: bounded(Some(settings.not_found_ttl)),
            recently_refetched: bounded(Some(settings.refetch_window)),
            resolutions: Cache::builder().max_capacity(MAX_ENTRIES).build(),
            containers: Cache::builder()
                .max_capacity(MAX_CONTAINER_SCHEMA_BYTES)
                .weigher(|key: &ContainerKey, _| u32::try_from(key.0.len()).unwrap_or(u32::MAX))
                .build(),
            registry_slots: tokio::sync::Semaphore::new(settings.registry_concurrency.max(1)),
            retry_budget: settings.retry_budget,
            counters: Counters::default(),
        }
    }

    /// The JSON mapping options the cache compiles with.
    pub fn options(&self) -> &JsonOptions {
        &self.options
    }

    /// Where `key` was looked up, for messages.
    pub fn source_description(&self, key: &SchemaKey) -> String {
        self.source.describe_for(key)
    }

    /// The counters since the cache was created.
    pub fn stats(&self) -> CacheStats {
        self.counters.snapshot()
    }

    fn is_latest(key: &SchemaKey) -> bool {
        matches!(
            key,
            SchemaKey::Named {
                version: VersionPin::Latest,
                ..
            }
        )
    }

    fn entries(&self, key: &SchemaKey) -> &Cache<SchemaKey, Arc<CompiledSchema>> {
        if Self::is_latest(key) {
            &self.latest
        } else {
            &self.immutable
        }
    }

    /// Resolves `key` to a compiled schema, from the cache or the source.
    pub async fn lookup(&self, key: &SchemaKey) -> Result<Lookup, BatchError> {
        let entries = self.entries(key);
        if let Some(hit) = entries.get(key).await {
            bump(&self.counters.hits, 1);
            return Ok(Lookup::Found(hit));
        }
        if self.not_found.contains_key(key) {
            bump(&self.counters.hits, 1);
            return Ok(Lookup::NotFound);
        }
        bump(&self.counters.misses, 1);
        match entries.try_get_with_by_ref(key, self.load(key)).await {
            Ok(compiled) => Ok(Lookup::Found(compiled)),
            Err(miss) => match &*miss {
                Miss::NotFound => {
                    self.not_found.insert(key.clone(), ()).await;
                    Ok(Lookup::NotFound)
                }
                Miss::Env(e) => match self.last_good.get(key).await {
                    Some(stale) if Self::is_latest(key) => {
                        bump(&self.counters.stale_served, 1);
                        tracing::warn!(schema = %key, error = %e, "registry refresh failed; serving the cached version");
                        Ok(Lookup::Found(stale))
                    }
                    _ => Err(e.clone()),
                },
            },
        }
    }

    /// Asks the source for `key`'s latest again, bypassing the TTL, unless that was done
    /// within the refetch window. Returns the new answer when it differs from `current`.
    pub async fn refetch_latest(
        &self,
        key: &SchemaKey,
        current: &CompiledSchema,
    ) -> Result<Option<Arc<CompiledSchema>>, BatchError> {
        if !Self::is_latest(key) || self.recently_refetched.contains_key(key) {
            return Ok(None);
        }
        self.recently_refetched.insert(key.clone(), ()).await;
        bump(&self.counters.refetches, 1);
        self.latest.invalidate(key).await;
        match self.lookup(key).await? {
            Lookup::Found(fresh) if fresh.version != current.version => {
                tracing::info!(schema = %key, from = current.version, to = fresh.version, "picked up a new latest version");
                Ok(Some(fresh))
            }
            _ => Ok(None),
        }
    }

    /// The decoder of `writer`'s records in the shape of `reader` (another version of the
    /// same schema), compiled once per pair. The same version, or a format whose records
    /// carry their own shape (JSON), reads as `writer`. A pair that does not resolve is a
    /// `schema_incompatible` error for each record of the writer's version.
    pub async fn resolution(
        &self,
        writer: &Arc<CompiledSchema>,
        reader: &Arc<CompiledSchema>,
    ) -> Result<Arc<CompiledSchema>, RecordError> {
        if writer.version == reader.version && writer.text == reader.text {
            return Ok(Arc::clone(writer));
        }
        let key = (writer.name(), writer.version, reader.name(), reader.version);
        let compile = async {
            if writer.format != reader.format {
                return Err(RecordError::new(
                    ErrorCode::SchemaIncompatible,
                    format!(
                        "version {} is {} but the reader, version {}, is {}",
                        writer.version,
                        writer.format.as_str(),
                        reader.version,
                        reader.format.as_str()
                    ),
                ));
            }
            match decode::compile_resolved(
                writer.format,
                writer.schema_text(),
                reader.schema_text(),
                &self.options,
            ) {
                None => Ok(Arc::clone(writer)),
                Some(Ok(decoder)) => Ok(Arc::new(CompiledSchema {
                    source: reader.source,
                    registry: reader.registry.clone(),
                    schema: reader.schema.clone(),
                    version: reader.version,
                    format: reader.format,
                    decoder,
                    text: reader.text.clone(),
                    imports: reader.imports.clone(),
                })),
                Some(Err(e)) => Err(RecordError::new(
                    ErrorCode::SchemaIncompatible,
                    format!(
                        "schema '{}' version {} does not read as version {}: {e}",
                        writer.schema, writer.version, reader.version
                    ),
                )),
            }
        };
        self.resolutions.get_with(key, compile).await
    }

    /// The decoder for the records of an Avro container file whose header carries
    /// `schema` (its writer schema), in `reader`'s shape when a reader version is given.
    /// Compiled once per distinct schema text and reader.
    pub async fn container_decoder(
        &self,
        schema: &str,
        reader: Option<&Arc<CompiledSchema>>,
    ) -> Result<Arc<AvroDecoder>, RecordError> {
        let key = (schema.to_owned(), reader.map(|r| (r.name(), r.version)));
        let compile = async {
            let decoder = match reader {
                None => AvroDecoder::new(schema, &self.options).map_err(|e| {
                    RecordError::new(
                        ErrorCode::DecodeFailed,
                        format!("the container file's schema cannot be used: {e}"),
                    )
                })?,
                Some(reader) if reader.format != DataFormat::Avro => {
                    return Err(RecordError::new(
                        ErrorCode::SchemaIncompatible,
                        format!(
                            "an Avro container file cannot be read as {} version {}, a {} schema",
                            reader.schema,
                            reader.version,
                            reader.format.as_str()
                        ),
                    ));
                }
                Some(reader) => AvroDecoder::resolving(schema, &reader.text, &self.options)
                    .map_err(|e| {
                        RecordError::new(
                            ErrorCode::SchemaIncompatible,
                            format!(
                                "the container file's schema does not read as schema '{}' version {}: {e}",
                                reader.schema, reader.version
                            ),
                        )
                    })?,
            };
            Ok(Arc::new(decoder))
        };
        self.containers.get_with(key, compile).await
    }

    async fn load(&self, key: &SchemaKey) -> Result<Arc<CompiledSchema>, Miss> {
        let mut definition = self
            .fetch(key)
            .await
            .map_err(Miss::Env)?
            .ok_or(Miss::NotFound)?;
        // A version asked for by name is filed under the source it was asked in, so that
        // its other versions are asked for there too and hit the entries it fills.
        if let SchemaKey::Named { source, .. } = key {
            definition.source = *source;
        }
        let aliases = aliases(&definition);
        let compiled = Arc::new(compile(definition, &self.options).map_err(Miss::Env)?);
        for alias in aliases.into_iter().filter(|alias| alias != key) {
            self.immutable.insert(alias, Arc::clone(&compiled)).await;
        }
        if Self::is_latest(key) {
            self.last_good
                .insert(key.clone(), Arc::clone(&compiled))
                .await;
        }
        Ok(compiled)
    }
}

impl SchemaCache {
    /// One registry lookup: waits for a free registry slot, and retries transient failures
    /// with full-jitter exponential backoff until the retry budget is spent.
    async fn fetch(&self, key: &SchemaKey) -> Result<Option<SchemaDefinition>, BatchError> {
        let started = Instant::now();
        let mut backoff = FIRST_BACKOFF;
        loop {
            let fetched = {
                let _slot = self
                    .registry_slots
                    .acquire()
                    .await
                    .map_err(|_| BatchError::new("the registry call queue is closed"))?;
                bump(&self.counters.registry_calls, 1);
                let call_started = Instant::now();
                let fetched = self.source.fetch(key).await;
                bump(
                    &self.counters.registry_micros,
                    u64::try_from(call_started.elapsed().as_micros()).unwrap_or(u64::MAX),
                );
                fetched
            };
            match fetched {
                Err(e) if e.is_transient() && started.elapsed() + backoff < self.retry_budget => {
                    bump(&self.counters.retries, 1);
                    tracing::debug!(schema = %key, error = %e, "transient registry failure; retrying");
                    tokio::time::sleep(jitter(backoff)).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                other => return other,
            }
        }
    }
}

/// A random duration in `[0, max)` ("full jitter"), so that lookups throttled together
/// do not retry together.
fn jitter(max: Duration) -> Duration {
    use std::hash::{BuildHasher, RandomState};
    let random = RandomState::new().hash_one(Instant::now());
    let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX).max(1);
    Duration::from_nanos(random % nanos)
}

fn bounded<V: Clone + Send + Sync + 'static>(ttl: Option<Duration>) -> Cache<SchemaKey, V> {
    let builder = Cache::builder().max_capacity(MAX_ENTRIES);
    match ttl {
        Some(ttl) => builder.time_to_live(ttl).build(),
        None => builder.build(),
    }
}

/// The immutable keys a fetched definition also answers.
fn aliases(definition: &SchemaDefinition) -> Vec<SchemaKey> {
    let mut keys = vec![SchemaKey::Named {
        source: definition.source,
        registry: definition.registry.clone(),
        schema: definition.schema.clone(),
        version: VersionPin::Number(definition.version),
    }];
    if let Some(id) = definition.glue_id {
        keys.push(SchemaKey::Id(SchemaId::Glue(id)));
    }
    if let Some(id) = definition.confluent_id {
        keys.push(SchemaKey::Id(SchemaId::Confluent(id)));
    }
    keys
}

fn compile(
    definition: SchemaDefinition,
    options: &JsonOptions,
) -> Result<CompiledSchema, BatchError> {
    let schema = SchemaText {
        text: &definition.text,
        imports: &definition.imports,
    };
    let decoder = decode::compile(definition.format, schema, options).map_err(|e| {
        BatchError::caused_by(
            format_args!(
                "{definition} ({}) cannot be used",
                definition.format.as_str()
            ),
            e,
        )
    })?;
    Ok(CompiledSchema {
        source: definition.source,
        registry: definition.registry,
        schema: definition.schema,
        version: definition.version,
        format: definition.format,
        decoder,
        text: definition.text,
        imports: definition.imports,
    })
}
