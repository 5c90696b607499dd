//! The pure core: rows of arguments in, one JSON text or record error per row out.
//!
//! ```text
//! call ─► hex ─► frame (wire format, schema ID, body) ─► schema (cache/registry) ─► decoder ─► JSON
//! ```
//!
//! [`Engine::decode_rows`] runs a whole batch in three passes so that registry work is
//! batched: unframe every row, resolve the distinct schemas the batch needs (concurrently),
//! then decode every row with its compiled decoder. Lambda, `invoke` and `decode` all call
//! it; it touches no AWS API directly, so tests call it as a plain async function.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use crate::decode::DecodeContext;
use crate::error::{EnvError, ErrorCode, RecordError};
use crate::frame::{self, Frame, FrameLimits, Framing, SchemaId, WireFormat};
use crate::schema::{CompiledSchema, Lookup, SchemaCache, SchemaKey, VersionPin};

/// One row of a batch, by call shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `(hex)`: the payload carries its schema ID, framing detected.
    Framed { hex: Option<String> },
    /// `(stream, hex)`: the stream's configured schema, raw unless configured otherwise.
    Stream {
        stream: Option<String>,
        hex: Option<String>,
    },
    /// `(registry, schema, hex)`: raw, latest version.
    Named {
        registry: Option<String>,
        schema: Option<String>,
        hex: Option<String>,
    },
    /// A row that is SQL NULL as a whole.
    Null,
}

/// How one stream's records are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub registry: String,
    pub schema: String,
    pub version: VersionPin,
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
    pub fn new(default_registry: String, overrides: HashMap<String, StreamOverride>) -> Self {
        Streams {
            default_registry,
            overrides,
        }
    }

    pub fn binding(&self, stream: &str) -> Binding {
        let over = self.overrides.get(stream).cloned().unwrap_or_default();
        Binding {
            registry: over
                .registry
                .unwrap_or_else(|| self.default_registry.clone()),
            schema: over.schema.unwrap_or_else(|| stream.to_owned()),
            version: over.version.map_or(VersionPin::Latest, VersionPin::Number),
            framing: over.framing.unwrap_or(Framing::Raw),
            message: over.message,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_result_bytes: usize,
    pub max_inflated_bytes: usize,
    pub max_depth: usize,
}

/// The result for one row: `None` is SQL NULL (a NULL payload).
pub type RowResult = Option<Result<String, RecordError>>;

pub struct Engine {
    schemas: SchemaCache,
    streams: Streams,
    limits: Limits,
    /// Unknown Protobuf fields dropped since start (see `unknown_fields`).
    unknown_fields: std::sync::atomic::AtomicU64,
}

/// A schema need shared by rows of a batch: one per distinct stream, (registry, schema)
/// pair or frame schema ID, so that rows carry an index instead of owned names.
struct Need {
    key: SchemaKey,
    /// The configured Protobuf message, for raw payloads.
    message: Option<String>,
}

/// A row after the first pass.
enum Prepared<'a> {
    Null,
    Failed(RecordError),
    Ready { need: usize, frame: Frame<'a> },
}

/// Where a call's binding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Origin<'c> {
    Stream(&'c str),
    Named { registry: &'c str, schema: &'c str },
}

/// The bindings and needs of one batch, each made once however many rows share it.
#[derive(Default)]
struct Plan<'c> {
    /// A binding, and the need of its raw payloads once one appears.
    bindings: HashMap<Origin<'c>, (Binding, Option<usize>)>,
    ids: HashMap<SchemaId, usize>,
    needs: Vec<Need>,
}

impl<'c> Plan<'c> {
    fn binding(&mut self, streams: &Streams, origin: Origin<'c>) -> &Binding {
        &self
            .bindings
            .entry(origin)
            .or_insert_with(|| {
                let binding = match origin {
                    Origin::Stream(stream) => streams.binding(stream),
                    Origin::Named { registry, schema } => Binding {
                        registry: registry.to_owned(),
                        schema: schema.to_owned(),
                        version: VersionPin::Latest,
                        framing: Framing::Raw,
                        message: None,
                    },
                };
                (binding, None)
            })
            .0
    }

    fn push(&mut self, need: Need) -> usize {
        self.needs.push(need);
        self.needs.len() - 1
    }

    /// The need of a raw payload of `origin` (whose binding exists).
    fn raw_need(&mut self, origin: Origin<'c>) -> usize {
        if let Some((_, Some(need))) = self.bindings.get(&origin) {
            return *need;
        }
        let binding = self.bindings[&origin].0.clone();
        let need = self.push(Need {
            key: SchemaKey::Named {
                registry: binding.registry,
                schema: binding.schema,
                version: binding.version,
            },
            message: binding.message,
        });
        if let Some(entry) = self.bindings.get_mut(&origin) {
            entry.1 = Some(need);
        }
        need
    }

    fn id_need(&mut self, id: SchemaId) -> usize {
        if let Some(need) = self.ids.get(&id) {
            return *need;
        }
        let need = self.push(Need {
            key: SchemaKey::Id(id),
            message: None,
        });
        self.ids.insert(id, need);
        need
    }
}

/// The binding origin a call shape implies, or a record error for a NULL name argument.
fn origin(call: &Call) -> Result<Option<Origin<'_>>, RecordError> {
    let missing = |what: &str| {
        RecordError::new(
            ErrorCode::InvalidArgument,
            format!("the {what} argument is NULL but the payload is not"),
        )
    };
    match call {
        Call::Framed { .. } | Call::Null => Ok(None),
        Call::Stream { stream, .. } => Ok(Some(Origin::Stream(
            stream.as_deref().ok_or_else(|| missing("stream"))?,
        ))),
        Call::Named {
            registry, schema, ..
        } => Ok(Some(Origin::Named {
            registry: registry.as_deref().ok_or_else(|| missing("registry"))?,
            schema: schema.as_deref().ok_or_else(|| missing("schema"))?,
        })),
    }
}

impl Engine {
    pub fn new(schemas: SchemaCache, streams: Streams, limits: Limits) -> Self {
        Engine {
            schemas,
            streams,
            limits,
            unknown_fields: Default::default(),
        }
    }

    /// Unknown Protobuf fields dropped since start; subtract two readings for one batch.
    pub fn unknown_fields(&self) -> u64 {
        self.unknown_fields
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub fn schemas(&self) -> &SchemaCache {
        &self.schemas
    }

    /// Decodes a batch of calls. `framing`, when given, replaces the framing that each call
    /// shape implies (the CLI's `--framing`). Registry work must finish by `deadline`.
    /// `Err` is an environment error: the batch must fail.
    pub async fn decode_rows(
        &self,
        calls: &[Call],
        framing: Option<Framing>,
        deadline: Option<Instant>,
    ) -> Result<Vec<RowResult>, EnvError> {
        let payloads: Vec<Option<Result<Vec<u8>, RecordError>>> = calls
            .iter()
            .map(|call| payload_hex(call).map(frame::decode_hex))
            .collect();
        let mut plan = Plan::default();
        let prepared: Vec<Prepared> = calls
            .iter()
            .zip(&payloads)
            .map(|(call, payload)| match payload {
                None => Prepared::Null,
                Some(Err(e)) => Prepared::Failed(e.clone()),
                Some(Ok(bytes)) => match self.prepare(&mut plan, call, framing, bytes) {
                    Ok((need, frame)) => Prepared::Ready { need, frame },
                    Err(e) => Prepared::Failed(e),
                },
            })
            .collect();
        let needs = plan.needs;
        let lookups = before_deadline(deadline, self.resolve_all(&needs)).await??;
        let mut results: Vec<RowResult> = prepared
            .iter()
            .map(|row| match row {
                Prepared::Null => None,
                Prepared::Failed(e) => Some(Err(e.clone())),
                Prepared::Ready { need, frame } => Some(match &lookups[*need] {
                    Lookup::Found(schema) => {
                        self.decode_one(schema, frame, needs[*need].message.as_deref())
                    }
                    Lookup::NotFound => Err(RecordError::new(
                        ErrorCode::SchemaNotFound,
                        format!(
                            "{} is not in the {}",
                            needs[*need].key,
                            self.schemas.source_description()
                        ),
                    )),
                }),
            })
            .collect();
        before_deadline(
            deadline,
            self.retry_with_new_latest(&prepared, &needs, &lookups, &mut results),
        )
        .await??;
        Ok(results)
    }

    /// A raw record that does not decode against the cached latest may have been written
    /// with a version the producer registered since: refetch that latest once (the cache
    /// rate-limits this per key) and decode the failed rows again with it.
    async fn retry_with_new_latest(
        &self,
        rows: &[Prepared<'_>],
        needs: &[Need],
        lookups: &[Lookup],
        results: &mut [RowResult],
    ) -> Result<(), EnvError> {
        fn failed(result: &RowResult) -> bool {
            matches!(result, Some(Err(e)) if e.code != ErrorCode::ResultTooLarge)
        }
        let mut stale: BTreeMap<&SchemaKey, &Arc<CompiledSchema>> = BTreeMap::new();
        for (row, result) in rows.iter().zip(results.iter()) {
            if let Prepared::Ready { need, frame } = row
                && frame.wire == WireFormat::Raw
                && failed(result)
                && let Lookup::Found(current) = &lookups[*need]
            {
                stale.insert(&needs[*need].key, current);
            }
        }
        let refetches = stale.into_iter().map(|(key, current)| async move {
            (key, self.schemas.refetch_latest(key, current).await)
        });
        let fresh: HashMap<&SchemaKey, Arc<CompiledSchema>> = futures::future::join_all(refetches)
            .await
            .into_iter()
            .filter_map(|(key, refetched)| match refetched {
                Ok(Some(schema)) => Some(Ok((key, schema))),
                Ok(None) => None,
                Err(e) => Some(Err(EnvError::new(format!("refreshing {key}: {e}")))),
            })
            .collect::<Result<_, _>>()?;
        if fresh.is_empty() {
            return Ok(());
        }
        for (row, result) in rows.iter().zip(results.iter_mut()) {
            if let Prepared::Ready { need, frame } = row
                && frame.wire == WireFormat::Raw
                && failed(result)
                && let Some(schema) = fresh.get(&needs[*need].key)
            {
                *result = Some(self.decode_one(schema, frame, needs[*need].message.as_deref()));
            }
        }
        Ok(())
    }

    /// Unframes one payload and works out which need of the batch it belongs to.
    fn prepare<'a, 'c>(
        &self,
        plan: &mut Plan<'c>,
        call: &'c Call,
        framing: Option<Framing>,
        bytes: &'a [u8],
    ) -> Result<(usize, Frame<'a>), RecordError> {
        let origin = origin(call)?;
        let configured = origin.map(|o| plan.binding(&self.streams, o).framing);
        let framing = framing.unwrap_or(configured.unwrap_or(Framing::Auto));
        let limits = FrameLimits {
            max_inflated_bytes: self.limits.max_inflated_bytes,
        };
        let frame = frame::unframe(bytes, framing, &limits)?;
        let need = match (frame.schema_id, origin) {
            (Some(id), _) => plan.id_need(id),
            (None, Some(origin)) => plan.raw_need(origin),
            (None, None) => {
                return Err(RecordError::new(
                    ErrorCode::UnknownHeader,
                    "a raw payload needs a stream or schema name to decode",
                ));
            }
        };
        Ok((need, frame))
    }

    /// Looks up every distinct schema the batch needs, concurrently, and returns the
    /// answer for each need. A named schema that does not exist is a configuration problem
    /// and fails the batch; an unknown ID from a record header is that record's problem.
    async fn resolve_all(&self, needs: &[Need]) -> Result<Vec<Lookup>, EnvError> {
        let keys: BTreeSet<&SchemaKey> = needs.iter().map(|n| &n.key).collect();
        let lookups =
            futures::future::join_all(keys.iter().map(|key| self.schemas.lookup(key))).await;
        let mut resolved = HashMap::with_capacity(keys.len());
        for (key, lookup) in keys.into_iter().zip(lookups) {
            let lookup = lookup.map_err(|e| EnvError::new(format!("looking up {key}: {e}")))?;
            if matches!((&lookup, key), (Lookup::NotFound, SchemaKey::Named { .. })) {
                return Err(EnvError::new(format!(
                    "{key} does not exist in the {}",
                    self.schemas.source_description()
                )));
            }
            resolved.insert(key, lookup);
        }
        needs
            .iter()
            .map(|need| {
                let lookup = resolved[&need.key].clone();
                // A stream configured with a message its schema lacks is a configuration
                // error.
                if let (Lookup::Found(schema), Some(message)) = (&lookup, &need.message)
                    && !schema.decoder.knows_message(message)
                {
                    return Err(EnvError::new(format!(
                        "{} (version {}) defines no message '{message}', which the stream configuration names",
                        need.key, schema.version
                    )));
                }
                Ok(lookup)
            })
            .collect()
    }

    fn decode_one(
        &self,
        schema: &CompiledSchema,
        frame: &Frame,
        message: Option<&str>,
    ) -> Result<String, RecordError> {
        let ctx = DecodeContext {
            wire: frame.wire,
            max_result_bytes: self.limits.max_result_bytes,
            max_depth: self.limits.max_depth,
            message,
            unknown_fields: &self.unknown_fields,
        };
        let mut out = String::with_capacity(frame.body.len() * 2 + 16);
        schema.decoder.decode(&frame.body, &ctx, &mut out)?;
        if out.len() > self.limits.max_result_bytes {
            return Err(RecordError::new(
                ErrorCode::ResultTooLarge,
                format!(
                    "JSON result is {} bytes, over the {}-byte maximum",
                    out.len(),
                    self.limits.max_result_bytes
                ),
            ));
        }
        Ok(out)
    }
}

/// Runs `work`, giving up at `deadline` so that the function answers with a failure
/// instead of being killed by Lambda mid-batch.
async fn before_deadline<T>(
    deadline: Option<Instant>,
    work: impl Future<Output = T>,
) -> Result<T, EnvError> {
    match deadline {
        None => Ok(work.await),
        Some(deadline) => tokio::time::timeout_at(deadline.into(), work)
            .await
            .map_err(|_| {
                EnvError::new("schema registry lookups did not finish before the Lambda deadline")
            }),
    }
}

fn payload_hex(call: &Call) -> Option<&str> {
    match call {
        Call::Null => None,
        Call::Framed { hex } | Call::Stream { hex, .. } | Call::Named { hex, .. } => hex.as_deref(),
    }
}
