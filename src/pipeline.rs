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

use std::collections::{BTreeSet, HashMap};

use crate::decode::DecodeContext;
use crate::error::{EnvError, ErrorCode, RecordError};
use crate::frame::{self, Frame, FrameLimits, Framing};
use crate::schema::{Lookup, SchemaCache, SchemaKey, VersionPin};

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
}

/// Per-stream schema bindings. By convention a stream reads the schema of the same name,
/// latest version, in the default registry, as raw payloads.
#[derive(Debug, Clone)]
pub struct Streams {
    default_registry: String,
}

impl Streams {
    pub fn new(default_registry: String) -> Self {
        Streams { default_registry }
    }

    pub fn binding(&self, stream: &str) -> Binding {
        Binding {
            registry: self.default_registry.clone(),
            schema: stream.to_owned(),
            version: VersionPin::Latest,
            framing: Framing::Raw,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_result_bytes: usize,
    pub max_inflated_bytes: usize,
}

/// The result for one row: `None` is SQL NULL (a NULL payload).
pub type RowResult = Option<Result<String, RecordError>>;

pub struct Engine {
    schemas: SchemaCache,
    streams: Streams,
    limits: Limits,
}

/// A row after the first pass.
enum Prepared<'a> {
    Null,
    Failed(RecordError),
    Ready { key: SchemaKey, frame: Frame<'a> },
}

impl Engine {
    pub fn new(schemas: SchemaCache, streams: Streams, limits: Limits) -> Self {
        Engine {
            schemas,
            streams,
            limits,
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The binding a call shape implies, or a record error for a NULL name argument.
    fn binding(&self, call: &Call) -> Result<Option<Binding>, RecordError> {
        let missing = |what: &str| {
            RecordError::new(
                ErrorCode::InvalidArgument,
                format!("the {what} argument is NULL but the payload is not"),
            )
        };
        match call {
            Call::Framed { .. } | Call::Null => Ok(None),
            Call::Stream { stream, .. } => {
                let stream = stream.as_deref().ok_or_else(|| missing("stream"))?;
                Ok(Some(self.streams.binding(stream)))
            }
            Call::Named {
                registry, schema, ..
            } => Ok(Some(Binding {
                registry: registry.clone().ok_or_else(|| missing("registry"))?,
                schema: schema.clone().ok_or_else(|| missing("schema"))?,
                version: VersionPin::Latest,
                framing: Framing::Raw,
            })),
        }
    }

    /// Decodes a batch of calls. `framing`, when given, replaces the framing that each call
    /// shape implies (the CLI's `--framing`). `Err` is an environment error: the batch must
    /// fail.
    pub async fn decode_rows(
        &self,
        calls: &[Call],
        framing: Option<Framing>,
    ) -> Result<Vec<RowResult>, EnvError> {
        let payloads: Vec<Option<Result<Vec<u8>, RecordError>>> = calls
            .iter()
            .map(|call| payload_hex(call).map(frame::decode_hex))
            .collect();
        let prepared: Vec<Prepared> = calls
            .iter()
            .zip(&payloads)
            .map(|(call, payload)| match payload {
                None => Prepared::Null,
                Some(Err(e)) => Prepared::Failed(e.clone()),
                Some(Ok(bytes)) => match self.prepare(call, framing, bytes) {
                    Ok((key, frame)) => Prepared::Ready { key, frame },
                    Err(e) => Prepared::Failed(e),
                },
            })
            .collect();
        let schemas = self.resolve_all(&prepared).await?;
        Ok(prepared
            .iter()
            .map(|row| match row {
                Prepared::Null => None,
                Prepared::Failed(e) => Some(Err(e.clone())),
                Prepared::Ready { key, frame } => Some(match &schemas[key] {
                    Lookup::Found(schema) => self.decode_one(schema, frame),
                    Lookup::NotFound => Err(RecordError::new(
                        ErrorCode::SchemaNotFound,
                        format!("{key} is not in the {}", self.schemas.source_description()),
                    )),
                }),
            })
            .collect())
    }

    /// Unframes one payload and works out the schema it needs.
    fn prepare<'a>(
        &self,
        call: &Call,
        framing: Option<Framing>,
        bytes: &'a [u8],
    ) -> Result<(SchemaKey, Frame<'a>), RecordError> {
        let binding = self.binding(call)?;
        let framing = framing.unwrap_or(binding.as_ref().map_or(Framing::Auto, |b| b.framing));
        let limits = FrameLimits {
            max_inflated_bytes: self.limits.max_inflated_bytes,
        };
        let frame = frame::unframe(bytes, framing, &limits)?;
        let key = match (frame.schema_id, binding) {
            (Some(id), _) => SchemaKey::Id(id),
            (None, Some(b)) => SchemaKey::Named {
                registry: b.registry,
                schema: b.schema,
                version: b.version,
            },
            (None, None) => {
                return Err(RecordError::new(
                    ErrorCode::UnknownHeader,
                    "a raw payload needs a stream or schema name to decode",
                ));
            }
        };
        Ok((key, frame))
    }

    /// Looks up every distinct schema the batch needs, concurrently. A named schema that
    /// does not exist is a configuration problem and fails the batch; an unknown ID from a
    /// record header is that record's problem.
    async fn resolve_all(
        &self,
        rows: &[Prepared<'_>],
    ) -> Result<HashMap<SchemaKey, Lookup>, EnvError> {
        let keys: BTreeSet<&SchemaKey> = rows
            .iter()
            .filter_map(|row| match row {
                Prepared::Ready { key, .. } => Some(key),
                _ => None,
            })
            .collect();
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
            resolved.insert(key.clone(), lookup);
        }
        Ok(resolved)
    }

    fn decode_one(
        &self,
        schema: &crate::schema::CompiledSchema,
        frame: &Frame,
    ) -> Result<String, RecordError> {
        let ctx = DecodeContext {
            wire: frame.wire,
            max_result_bytes: self.limits.max_result_bytes,
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

fn payload_hex(call: &Call) -> Option<&str> {
    match call {
        Call::Null => None,
        Call::Framed { hex } | Call::Stream { hex, .. } | Call::Named { hex, .. } => hex.as_deref(),
    }
}
