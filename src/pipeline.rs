//! The pure core: rows of arguments in, one JSON text or record error per row out.
//!
//! ```text
//! call ─► payload text (hex or base64) ─► frame (wire format, schema ID, body) ─► schema (cache/registry) ─► decoder ─► JSON
//! ```
//!
//! [`Engine::decode_each`] runs a whole batch in two passes so that registry work is
//! batched and memory stays flat: read every row's header to find the distinct schemas the
//! batch needs, resolve them (concurrently, within the registry's concurrency bound), then
//! decode row by row, handing each result on at once. Lambda, `invoke` and `decode` all
//! call it; it touches no AWS API directly, so tests call it as a plain async function.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::decode::avro::container::ContainerHeader;
use crate::decode::{DecodeContext, RecordDecoder, SchemalessFormat};
use crate::error::{BatchError, ErrorCode, RecordError};
use crate::frame::{self, FrameLimits, Framing, Header, PayloadEncoding, SchemaId, WireFormat};
use crate::json_text::LiteralBuffer;
use crate::schema::{
    CompiledSchema, Lookup, SchemaCache, SchemaKey, SchemaName, SourceKind, VersionPin,
};
use crate::streams::{Binding, MAX_INFERRED_VERSIONS, ReadAs, Streams};

/// One row of a batch, by call shape. Its texts borrow from the event where they can
/// (a JSON string without escapes), so that reading a batch copies no payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call<'a> {
    /// `(payload)`: the payload carries its schema ID, framing detected.
    Framed {
        /// The payload, as hex or base64 text.
        payload: Option<Cow<'a, str>>,
    },
    /// `(stream, payload)`: the stream's configured schema, raw unless configured otherwise.
    Stream {
        /// The stream name.
        stream: Option<Cow<'a, str>>,
        /// The payload, as hex or base64 text.
        payload: Option<Cow<'a, str>>,
    },
    /// `(registry, schema, payload)`: raw, latest version.
    Named {
        /// The registry and schema names, boxed so that every row of a batch stays the size
        /// of a `(stream, payload)` call.
        names: Box<SchemaNames<'a>>,
        /// The payload, as hex or base64 text.
        payload: Option<Cow<'a, str>>,
    },
    /// A row that is SQL NULL as a whole.
    Null,
}

/// The names of a `(registry, schema, payload)` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaNames<'a> {
    /// The registry name.
    pub registry: Option<Cow<'a, str>>,
    /// The schema name.
    pub schema: Option<Cow<'a, str>>,
}

/// Per-record limits that protect a batch from hostile input.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest JSON result; larger is a `result_too_large` record error.
    pub max_result_bytes: usize,
    /// Largest size a compressed body may inflate to.
    pub max_inflated_bytes: usize,
    /// Deepest nesting a record may reach.
    pub max_depth: usize,
}

/// What a caller decides for a whole batch, over what each call shape implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchOptions {
    /// Replaces the framing each call shape implies (the CLI's `--framing`).
    pub framing: Option<Framing>,
    /// How the payload arguments are written (hex, or base64 for `*_b64` functions).
    pub encoding: PayloadEncoding,
    /// The form each row's result is handed on in.
    pub results: ResultForm,
}

/// The form a batch's row results are handed on in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResultForm {
    /// JSON text.
    #[default]
    Json,
    /// The JSON string literal that holds the JSON text, quotes included, as a Redshift
    /// response carries it. Decoders that can write this form directly do
    /// ([`RecordDecoder::decode_literal`]), so the result is escaped as it is decoded
    /// instead of once more afterwards; the others' text is escaped here.
    Literal,
}

impl BatchOptions {
    /// The framing of a row: the caller's, else its binding's (`configured`), else
    /// detection (a `(payload)` call has no binding).
    fn framing_for(&self, configured: Option<Framing>) -> Framing {
        self.framing.or(configured).unwrap_or(Framing::Auto)
    }
}

/// The result for one row: `None` is SQL NULL (a NULL payload).
pub type RowResult = Option<Result<String, RecordError>>;

/// The batch engine: schema cache, stream bindings and limits, shared by every batch.
pub struct Engine {
    schemas: SchemaCache,
    streams: Streams,
    limits: Limits,
    /// How payloads are written when the caller does not say (`--input-encoding`).
    input_encoding: PayloadEncoding,
    /// Unknown Protobuf fields dropped since start (see `unknown_fields`).
    unknown_fields: AtomicU64,
    /// The decoders of streams whose records need no schema, by format.
    schemaless: Vec<(SchemalessFormat, Box<dyn RecordDecoder>)>,
}

/// A schema need shared by rows of a batch: one per distinct stream, (registry, schema)
/// pair or frame schema ID, so that rows carry an index instead of owned names.
struct Need {
    key: SchemaKey,
    /// The configured Protobuf message, for raw payloads.
    message: Option<String>,
    /// The shape the records are written in.
    reader: ReadAs,
    /// The schema whose versions the reader is taken from, when not the writer's own: a
    /// Confluent ID can belong to several subjects, so a stream's records are read in the
    /// shape of the stream's subject.
    reader_schema: Option<SchemaName>,
    /// Raw payloads whose writer version is inferred, from `key`'s version down.
    infer_writer: bool,
}

/// What decodes the rows of one need, settled before the rows are decoded.
enum Target {
    /// One writer version; `decoder` is the writer's own, or the writer's resolved to the
    /// reader version.
    One {
        writer: Arc<CompiledSchema>,
        decoder: Arc<CompiledSchema>,
    },
    /// The source answered that it has no such schema (an unknown ID).
    NotFound,
    /// The writer version does not resolve to the reader version.
    Incompatible(RecordError),
    /// Raw records whose writer version is inferred: each candidate version, newest
    /// first, with its decoder in the reader's shape (or why it has none).
    Infer(Vec<(u32, Result<Arc<CompiledSchema>, RecordError>)>),
}

/// A row's need index from pass 1, in four bytes (a 6 MB event can hold close to a
/// million rows): `None` for a row that needs no schema or already failed.
#[derive(Clone, Copy)]
struct RowNeed(Option<std::num::NonZeroU32>);

impl RowNeed {
    fn new(need: Option<usize>) -> Self {
        RowNeed(
            need.and_then(|n| std::num::NonZeroU32::new(u32::try_from(n).ok()?.checked_add(1)?)),
        )
    }

    fn get(self) -> Option<usize> {
        self.0.map(|n| n.get() as usize - 1)
    }
}

/// Longest header any wire format has: the first pass decodes only this much of each
/// row's payload text, so that it keeps nothing per row but the index of its need.
const MAX_HEADER_BYTES: usize = 18;

/// A row's result as it is handed on: borrowed from the engine's buffer, valid only
/// during the callback. `None` is SQL NULL (a NULL payload).
pub type RowView<'a> = Option<Result<&'a str, RecordError>>;

/// The buffers of the second pass, reused from row to row so that the loop does not
/// allocate per row.
#[derive(Default)]
struct Scratch {
    /// The decoded payload.
    payload: Vec<u8>,
    /// The result as JSON text.
    out: String,
    /// The result as a literal, written by its decoder.
    literal: String,
    /// The result as a literal, escaped from `out`.
    escaped: LiteralBuffer,
}

/// Which buffer of the [`Scratch`] holds a row's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Written {
    /// JSON text, in `out`.
    Text,
    /// Its literal, in `literal`.
    Literal,
}

impl Scratch {
    /// The row's result, in `form`.
    fn result(&mut self, written: Written, form: ResultForm) -> Result<&str, RecordError> {
        match (written, form) {
            (Written::Text, ResultForm::Json) => Ok(&self.out),
            (Written::Literal, _) => Ok(&self.literal),
            (Written::Text, ResultForm::Literal) => {
                self.escaped.truncate(0);
                self.escaped.push_literal(&self.out);
                self.escaped.as_str().map_err(|_| {
                    RecordError::new(
                        ErrorCode::DecodeFailed,
                        "internal: an escaped result is not UTF-8",
                    )
                })
            }
        }
    }
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
    /// Framed payloads' needs, by ID, reader, and the stream whose schema the reader is
    /// taken from (when not the writer's own).
    ids: HashMap<(SchemaId, ReadAs, Option<Origin<'c>>), usize>,
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
                    Origin::Named { registry, schema } => streams.named_binding(registry, schema),
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
            key: SchemaKey::version_of(&binding.name(), binding.version),
            message: binding.message,
            reader: binding.reader,
            reader_schema: None,
            infer_writer: binding.infer_writer,
        });
        if let Some(entry) = self.bindings.get_mut(&origin) {
            entry.1 = Some(need);
        }
        need
    }

    /// The need of a framed payload with `id`, read in `reader`'s shape: a version of the
    /// schema of `reader_from`'s binding (which exists), or of the writer's own schema.
    fn id_need(&mut self, id: SchemaId, reader: ReadAs, reader_from: Option<Origin<'c>>) -> usize {
        let plan_key = (id, reader, reader_from);
        if let Some(need) = self.ids.get(&plan_key) {
            return *need;
        }
        let reader_schema = reader_from.map(|origin| self.bindings[&origin].0.name());
        let need = self.push(Need {
            key: SchemaKey::Id(id),
            message: None,
            reader,
            reader_schema,
            infer_writer: false,
        });
        self.ids.insert(plan_key, need);
        need
    }
}

/// The binding origin a call shape implies, or a record error for a NULL name argument.
fn origin<'c>(call: &'c Call<'_>) -> Result<Option<Origin<'c>>, RecordError> {
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
        Call::Named { names, .. } => Ok(Some(Origin::Named {
            registry: names
                .registry
                .as_deref()
                .ok_or_else(|| missing("registry"))?,
            schema: names.schema.as_deref().ok_or_else(|| missing("schema"))?,
        })),
    }
}

impl Engine {
    /// An engine over `schemas`, reading streams as `streams` says, within `limits`.
    pub fn new(schemas: SchemaCache, streams: Streams, limits: Limits) -> Self {
        let schemaless = [
            SchemalessFormat::Msgpack,
            SchemalessFormat::Cbor,
            SchemalessFormat::Json,
        ]
        .into_iter()
        .map(|format| (format, format.decoder(schemas.options())))
        .collect();
        Engine {
            schemaless,
            schemas,
            streams,
            limits,
            input_encoding: PayloadEncoding::Hex,
            unknown_fields: Default::default(),
        }
    }

    /// The engine with payloads written as `encoding` unless a batch says otherwise.
    pub fn with_input_encoding(mut self, encoding: PayloadEncoding) -> Self {
        self.input_encoding = encoding;
        self
    }

    /// How payloads are written unless a batch says otherwise.
    pub fn input_encoding(&self) -> PayloadEncoding {
        self.input_encoding
    }

    /// Unknown Protobuf fields dropped since start; subtract two readings for one batch.
    pub fn unknown_fields(&self) -> u64 {
        self.unknown_fields.load(Ordering::Relaxed)
    }

    /// The schema cache (for its statistics).
    pub fn schemas(&self) -> &SchemaCache {
        &self.schemas
    }

    /// Decodes a batch of calls and collects the results, in the form `options.results`
    /// names (the CLI and tests; Redshift batches go through [`Engine::decode_each`]).
    pub async fn decode_rows(
        &self,
        calls: &[Call<'_>],
        options: BatchOptions,
        deadline: Option<Instant>,
    ) -> Result<Vec<RowResult>, BatchError> {
        let mut rows = Vec::with_capacity(calls.len());
        self.decode_each(calls, options, deadline, |row| {
            rows.push(row.map(|r| r.map(str::to_owned)));
            Ok(())
        })
        .await?;
        Ok(rows)
    }

    /// Decodes a batch of calls and hands each row's result to `emit`, in order, as soon as
    /// it is decoded. `options` say how the payloads are written and, when given, replace
    /// the framing that each call shape implies. Work must finish by `deadline`. `Err` is an
    /// environment error (or one that `emit` returned): the batch must fail.
    ///
    /// Memory stays flat however large the batch: the first pass keeps one need index per
    /// row, and the second decodes each row's payload text, inflates its body and writes its JSON in
    /// buffers reused from row to row, so at most one inflated body is alive at a time.
    pub async fn decode_each(
        &self,
        calls: &[Call<'_>],
        options: BatchOptions,
        deadline: Option<Instant>,
        mut emit: impl FnMut(RowView<'_>) -> Result<(), BatchError>,
    ) -> Result<(), BatchError> {
        // Pass 1: which schema each row needs, from its arguments and header alone.
        let mut plan = Plan::default();
        let row_needs: Vec<RowNeed> = calls
            .iter()
            .map(|call| RowNeed::new(self.need_of(&mut plan, call, options).ok().flatten()))
            .collect();
        let needs = plan.needs;
        // Registry work, once per distinct schema.
        let lookups = before_deadline(deadline, self.resolve_all(&needs)).await??;
        let targets = before_deadline(deadline, self.targets(&needs, lookups)).await??;
        let mut inferred: HashMap<(usize, u32), u64> = HashMap::new();
        // Pass 2: decode row by row.
        let mut scratch = Scratch::default();
        let mut refetched: HashMap<usize, Option<Arc<CompiledSchema>>> = HashMap::new();
        for (call, need) in calls.iter().zip(row_needs) {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(BatchError::new(
                    "the batch did not finish decoding before the Lambda deadline",
                ));
            }
            let Some(text) = payload_text(call) else {
                emit(None)?;
                continue;
            };
            if let Some(format) = origin(call)
                .ok()
                .flatten()
                .and_then(|o| self.schemaless_format(Some(o)))
            {
                let result = self.decode_schemaless(format, options, text, &mut scratch);
                match result {
                    Ok(()) => emit(Some(scratch.result(Written::Text, options.results)))?,
                    Err(e) => emit(Some(Err(e)))?,
                }
                continue;
            }
            let header = match self.header_of(call, options, text, &mut scratch.payload) {
                Ok(header) => header,
                Err(e) => {
                    emit(Some(Err(e)))?;
                    continue;
                }
            };
            if header.wire == WireFormat::Ocf {
                let reader = need.get().and_then(|n| match &targets[n] {
                    Target::One { writer, .. } => Some(writer),
                    _ => None,
                });
                match self
                    .decode_container(&scratch.payload, reader, &mut scratch.out)
                    .await
                {
                    Ok(()) => emit(Some(scratch.result(Written::Text, options.results)))?,
                    Err(e) => emit(Some(Err(e)))?,
                }
                continue;
            }
            let Some(need) = need.get() else {
                // Pass 1 reads the same header from the same bytes, so a row it could not
                // place has already failed above.
                emit(Some(Err(RecordError::new(
                    ErrorCode::DecodeFailed,
                    "internal: the row's header was read differently in two passes",
                ))))?;
                continue;
            };
            let message = needs[need].message.as_deref();
            let (writer, decoder) = match &targets[need] {
                Target::One { writer, decoder } => (writer, decoder),
                Target::NotFound => {
                    emit(Some(Err(RecordError::new(
                        ErrorCode::SchemaNotFound,
                        format!(
                            "{} is not in the {}",
                            needs[need].key,
                            self.schemas.source_description(&needs[need].key)
                        ),
                    ))))?;
                    continue;
                }
                Target::Incompatible(e) => {
                    emit(Some(Err(e.clone())))?;
                    continue;
                }
                Target::Infer(candidates) => {
                    let form = options.results;
                    match self.decode_inferred(candidates, &header, message, form, &mut scratch) {
                        Ok((version, written)) => {
                            *inferred.entry((need, version)).or_default() += 1;
                            emit(Some(scratch.result(written, form)))?;
                        }
                        Err(e) => emit(Some(Err(e)))?,
                    }
                    continue;
                }
            };
            let form = options.results;
            let mut result = self.decode_one(decoder, &header, message, form, &mut scratch);
            // A raw record that does not decode against the cached latest may have been
            // written with a version the producer registered since: refetch that latest
            // once (the cache rate-limits this per key) and decode the record again.
            if header.wire == WireFormat::Raw
                && matches!(&result, Err(e) if e.code != ErrorCode::ResultTooLarge)
            {
                let fresh = match refetched.get(&need) {
                    Some(fresh) => fresh.clone(),
                    None => {
                        let key = &needs[need].key;
                        let refresh = async {
                            let Some(fresh) = self.schemas.refetch_latest(key, writer).await?
                            else {
                                return Ok(None);
                            };
                            Ok::<_, BatchError>(self.decoder_for(&fresh, &needs[need]).await?.ok())
                        };
                        let fresh = before_deadline(deadline, refresh)
                            .await?
                            .map_err(|e| BatchError::new(format!("refreshing {key}: {e}")))?;
                        refetched.insert(need, fresh.clone());
                        fresh
                    }
                };
                if let Some(fresh) = fresh {
                    result = self.decode_one(&fresh, &header, message, form, &mut scratch);
                }
            }
            match result {
                Ok(written) => emit(Some(scratch.result(written, form)))?,
                Err(e) => emit(Some(Err(e)))?,
            }
        }
        if !inferred.is_empty() {
            let mut counts: Vec<String> = inferred
                .iter()
                .map(|((need, version), rows)| {
                    format!("{} as version {version}: {rows}", needs[*need].key)
                })
                .collect();
            counts.sort();
            tracing::info!(inferred = %counts.join("; "), "writer versions inferred for raw records");
        }
        Ok(())
    }

    /// Settles what decodes each need's rows: the writer's decoder, or the writer resolved
    /// to the need's reader version, or for inferred writers every candidate version.
    async fn targets(
        &self,
        needs: &[Need],
        lookups: Vec<Lookup>,
    ) -> Result<Vec<Target>, BatchError> {
        let targets = needs.iter().zip(lookups).map(|(need, lookup)| async move {
            let Lookup::Found(writer) = lookup else {
                return Ok(Target::NotFound);
            };
            if need.infer_writer {
                let newest = writer.version;
                let oldest = newest.saturating_sub(MAX_INFERRED_VERSIONS - 1).max(1);
                let mut candidates = Vec::new();
                for version in (oldest..=newest).rev() {
                    let candidate = if version == newest {
                        Arc::clone(&writer)
                    } else {
                        let key = writer.version_key(VersionPin::Number(version));
                        match self.schemas.lookup(&key).await {
                            Ok(Lookup::Found(found)) => found,
                            // A deleted version cannot have written the record.
                            Ok(Lookup::NotFound) => continue,
                            Err(e) => {
                                return Err(BatchError::new(format!("looking up {key}: {e}")));
                            }
                        }
                    };
                    candidates.push((version, self.decoder_for(&candidate, need).await?));
                }
                return Ok(Target::Infer(candidates));
            }
            Ok(match self.decoder_for(&writer, need).await? {
                Ok(decoder) => Target::One { writer, decoder },
                Err(e) => Target::Incompatible(e),
            })
        });
        futures::future::join_all(targets)
            .await
            .into_iter()
            .collect()
    }

    /// The decoder of `writer`'s records in the shape of `need`'s reader. `Err` (the batch
    /// fails) when the registry cannot answer, or has no such reader version: a
    /// configuration error.
    async fn decoder_for(
        &self,
        writer: &Arc<CompiledSchema>,
        need: &Need,
    ) -> Result<Result<Arc<CompiledSchema>, RecordError>, BatchError> {
        let ReadAs::Reader(version) = need.reader else {
            return Ok(Ok(Arc::clone(writer)));
        };
        let key = match &need.reader_schema {
            Some(name) => SchemaKey::version_of(name, version),
            None => writer.version_key(version),
        };
        match self.schemas.lookup(&key).await {
            Ok(Lookup::Found(reader)) => Ok(self.schemas.resolution(writer, &reader).await),
            Ok(Lookup::NotFound) => Err(BatchError::new(format!(
                "the reader, {key}, does not exist in the {}",
                self.schemas.source_description(&key)
            ))),
            Err(e) => Err(BatchError::new(format!("looking up the reader {key}: {e}"))),
        }
    }

    /// Decodes a raw record with the first candidate writer version (newest first) that
    /// reads it exactly, and returns that version. When none does, the newest version's
    /// error says why.
    fn decode_inferred(
        &self,
        candidates: &[(u32, Result<Arc<CompiledSchema>, RecordError>)],
        header: &Header,
        message: Option<&str>,
        form: ResultForm,
        scratch: &mut Scratch,
    ) -> Result<(u32, Written), RecordError> {
        // Borrowed when it is a candidate's own "does not resolve": nothing is copied per
        // record for versions that cannot be the writer.
        let mut newest_error: Option<Cow<'_, RecordError>> = None;
        for (version, decoder) in candidates {
            let decoder = match decoder {
                Ok(decoder) => decoder,
                Err(e) => {
                    newest_error.get_or_insert(Cow::Borrowed(e));
                    continue;
                }
            };
            match self.decode_one(decoder, header, message, form, scratch) {
                Ok(written) => return Ok((*version, written)),
                // Limits hold whichever version wrote the record.
                Err(e)
                    if matches!(
                        e.code,
                        ErrorCode::ResultTooLarge | ErrorCode::NestingTooDeep
                    ) =>
                {
                    return Err(e);
                }
                Err(e) => {
                    newest_error.get_or_insert(Cow::Owned(e));
                }
            }
        }
        let versions = match (candidates.first(), candidates.last()) {
            (Some((newest, _)), Some((oldest, _))) => format!("versions {newest} down to {oldest}"),
            _ => "no version".to_owned(),
        };
        Err(match newest_error {
            Some(e) => RecordError::new(
                e.code,
                format!(
                    "no writer version reads this record exactly ({versions} tried); the newest says: {}",
                    e.message
                ),
            ),
            None => RecordError::new(
                ErrorCode::SchemaNotFound,
                "the schema has no version to infer from",
            ),
        })
    }

    /// Pass 1 for one call: the index of the schema need of its payload, from the call's
    /// arguments and the first bytes of its payload. `Ok(None)` is a NULL payload; `Err` a
    /// row that fails before it needs a schema (pass 2 finds and reports the same error).
    fn need_of<'c>(
        &self,
        plan: &mut Plan<'c>,
        call: &'c Call<'_>,
        options: BatchOptions,
    ) -> Result<Option<usize>, RecordError> {
        let Some(text) = payload_text(call) else {
            return Ok(None);
        };
        let origin = origin(call)?;
        if self.schemaless_format(origin).is_some() {
            return Ok(None);
        }
        let binding = origin.map(|o| plan.binding(&self.streams, o));
        let configured = binding.map(|b| b.framing);
        let reader = binding.map_or(self.streams.default_reader(), |b| b.reader);
        let framing = options.framing_for(configured);
        let mut head = [0u8; MAX_HEADER_BYTES];
        let head = options.encoding.decode_prefix(text, &mut head)?;
        let header = frame::read_header(head, framing)?;
        if header.wire == WireFormat::Ocf {
            // The file carries its writer schema: a registry is needed only for a reader.
            return Ok(match binding.map(|b| (b.reader, b.name())) {
                Some((ReadAs::Reader(version), name)) => Some(plan.push(Need {
                    key: SchemaKey::version_of(&name, version),
                    message: None,
                    reader: ReadAs::Writer,
                    reader_schema: None,
                    infer_writer: false,
                })),
                _ => None,
            });
        }
        // A stream reading a Confluent registry takes its reader from the stream's subject
        // (an ID can belong to several).
        let reader_from = origin.filter(|_| {
            binding.is_some_and(|b| {
                b.source == SourceKind::Confluent && matches!(b.reader, ReadAs::Reader(_))
            }) && matches!(header.schema_id, Some(SchemaId::Confluent(_)))
        });
        Ok(Some(match (header.schema_id, origin) {
            (Some(id), _) => plan.id_need(id, reader, reader_from),
            (None, Some(origin)) => plan.raw_need(origin),
            (None, None) => return Err(raw_without_name()),
        }))
    }

    /// Pass 2 for one call: decodes its whole payload into `payload` and reads its header.
    fn header_of(
        &self,
        call: &Call<'_>,
        options: BatchOptions,
        text: &str,
        payload: &mut Vec<u8>,
    ) -> Result<Header, RecordError> {
        let origin = origin(call)?;
        options.encoding.decode_into(text, payload)?;
        let configured = origin.map(|o| self.binding_framing(o));
        let framing = options.framing_for(configured);
        let header = frame::read_header(payload, framing)?;
        if header.schema_id.is_none() && origin.is_none() && header.wire != WireFormat::Ocf {
            return Err(raw_without_name());
        }
        Ok(header)
    }

    /// The framing of a binding origin's payloads.
    fn binding_framing(&self, origin: Origin<'_>) -> Framing {
        match origin {
            Origin::Stream(stream) => self.streams.framing(stream),
            Origin::Named { .. } => Framing::Fixed(WireFormat::Raw),
        }
    }

    /// Looks up every distinct schema the batch needs, concurrently, and returns the
    /// answer for each need. A named schema that does not exist is a configuration problem
    /// and fails the batch; an unknown ID from a record header is that record's problem.
    async fn resolve_all(&self, needs: &[Need]) -> Result<Vec<Lookup>, BatchError> {
        let keys: BTreeSet<&SchemaKey> = needs.iter().map(|n| &n.key).collect();
        let lookups =
            futures::future::join_all(keys.iter().map(|key| self.schemas.lookup(key))).await;
        let mut resolved = HashMap::with_capacity(keys.len());
        for (key, lookup) in keys.into_iter().zip(lookups) {
            let lookup = lookup.map_err(|e| BatchError::new(format!("looking up {key}: {e}")))?;
            if matches!((&lookup, key), (Lookup::NotFound, SchemaKey::Named { .. })) {
                return Err(BatchError::new(format!(
                    "{key} does not exist in the {}",
                    self.schemas.source_description(key)
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
                    return Err(BatchError::new(format!(
                        "{} (version {}) defines no message '{message}', which the stream configuration names",
                        need.key, schema.version
                    )));
                }
                Ok(lookup)
            })
            .collect()
    }

    /// The schemaless format of a call's stream, if it has one.
    fn schemaless_format(&self, origin: Option<Origin<'_>>) -> Option<SchemalessFormat> {
        match origin? {
            Origin::Stream(stream) => self.streams.format(stream),
            Origin::Named { .. } => None,
        }
    }

    /// Decodes a record of a stream whose format needs no schema: the whole payload is the
    /// record.
    fn decode_schemaless(
        &self,
        format: SchemalessFormat,
        options: BatchOptions,
        text: &str,
        scratch: &mut Scratch,
    ) -> Result<(), RecordError> {
        options.encoding.decode_into(text, &mut scratch.payload)?;
        let decoder = self
            .schemaless
            .iter()
            .find(|(f, _)| *f == format)
            .map(|(_, d)| d)
            .ok_or_else(|| {
                RecordError::new(
                    ErrorCode::DecodeFailed,
                    "internal: no decoder for the format",
                )
            })?;
        let ctx = DecodeContext {
            selector: crate::decode::MessageSelector::Configured,
            max_result_bytes: self.limits.max_result_bytes,
            max_depth: self.limits.max_depth,
            message: None,
            unknown_fields: &self.unknown_fields,
        };
        scratch.out.clear();
        decoder.decode(&scratch.payload, &ctx, &mut scratch.out)?;
        crate::decode::check_result_size(scratch.out.len(), self.limits.max_result_bytes)
    }

    /// Decodes an Avro container file into a JSON array of its records, in `reader`'s
    /// shape when one is given.
    async fn decode_container(
        &self,
        file: &[u8],
        reader: Option<&Arc<CompiledSchema>>,
        out: &mut String,
    ) -> Result<(), RecordError> {
        let header = ContainerHeader::read(file)?;
        let decoder = self
            .schemas
            .container_decoder(header.schema, reader)
            .await?;
        let ctx = DecodeContext {
            selector: crate::decode::MessageSelector::Configured,
            max_result_bytes: self.limits.max_result_bytes,
            max_depth: self.limits.max_depth,
            message: None,
            unknown_fields: &self.unknown_fields,
        };
        out.clear();
        header.decode(file, &decoder, &ctx, self.limits.max_inflated_bytes, out)
    }

    /// Decodes one framed payload (in `scratch.payload`): straight into its literal in
    /// `scratch.literal` when `form` asks for one and the decoder writes it, else as JSON
    /// text into `scratch.out`. Says which.
    fn decode_one(
        &self,
        schema: &CompiledSchema,
        header: &Header,
        message: Option<&str>,
        form: ResultForm,
        scratch: &mut Scratch,
    ) -> Result<Written, RecordError> {
        let limits = FrameLimits {
            max_inflated_bytes: self.limits.max_inflated_bytes,
        };
        let body = header.body(&scratch.payload, &limits)?;
        let ctx = DecodeContext {
            selector: header.wire.message_selector(),
            max_result_bytes: self.limits.max_result_bytes,
            max_depth: self.limits.max_depth,
            message,
            unknown_fields: &self.unknown_fields,
        };
        if form == ResultForm::Literal {
            let mut literal = std::mem::take(&mut scratch.literal).into_bytes();
            literal.clear();
            // Counted only if the literal is kept: otherwise the JSON text path below
            // decodes the record again and counts its unknown fields itself.
            let unknown = AtomicU64::new(0);
            let attempt = DecodeContext {
                unknown_fields: &unknown,
                ..ctx.clone()
            };
            let len = schema.decoder.decode_literal(&body, &attempt, &mut literal);
            // Strings were written unchecked: the literal is checked once, whole.
            match (len, String::from_utf8(literal)) {
                (Some(len), Ok(text)) if len <= self.limits.max_result_bytes => {
                    scratch.literal = text;
                    self.unknown_fields
                        .fetch_add(unknown.into_inner(), Ordering::Relaxed);
                    #[cfg(debug_assertions)]
                    assert_literal_is_the_text(
                        &*schema.decoder,
                        &body,
                        &ctx,
                        len,
                        &scratch.literal,
                    );
                    return Ok(Written::Literal);
                }
                (_, Ok(text)) => scratch.literal = text,
                (_, Err(e)) => {
                    let mut bytes = e.into_bytes();
                    bytes.clear();
                    scratch.literal = String::from_utf8(bytes).unwrap_or_default();
                }
            }
            // The record does not decode (or is too large): the JSON text path below says
            // exactly why, as it would have on its own.
        }
        let out = &mut scratch.out;
        out.clear();
        schema.decoder.decode(&body, &ctx, out)?;
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
        Ok(Written::Text)
    }
}

/// Debug builds hold every literal a decoder writes to its JSON text path, so that every
/// test that decodes a batch is also a differential test of the two.
#[cfg(debug_assertions)]
fn assert_literal_is_the_text(
    decoder: &dyn RecordDecoder,
    body: &[u8],
    ctx: &DecodeContext,
    len: usize,
    literal: &str,
) {
    let mut reference = String::new();
    let uncounted = AtomicU64::new(0);
    let ctx = DecodeContext {
        unknown_fields: &uncounted,
        ..ctx.clone()
    };
    let decoded = decoder.decode(body, &ctx, &mut reference);
    assert!(decoded.is_ok(), "{decoded:?}");
    assert_eq!(len, reference.len());
    assert_eq!(literal, crate::json_text::str_literal(&reference).as_ref());
}

fn raw_without_name() -> RecordError {
    RecordError::new(
        ErrorCode::UnknownHeader,
        "a raw payload needs a stream or schema name to decode",
    )
}

/// Runs `work`, giving up at `deadline` so that the function answers with a failure
/// instead of being killed by Lambda mid-batch.
async fn before_deadline<T>(
    deadline: Option<Instant>,
    work: impl Future<Output = T>,
) -> Result<T, BatchError> {
    match deadline {
        None => Ok(work.await),
        Some(deadline) => tokio::time::timeout_at(deadline.into(), work)
            .await
            .map_err(|_| {
                BatchError::new("schema registry lookups did not finish before the Lambda deadline")
            }),
    }
}

fn payload_text<'c>(call: &'c Call<'_>) -> Option<&'c str> {
    match call {
        Call::Null => None,
        Call::Framed { payload } | Call::Stream { payload, .. } | Call::Named { payload, .. } => {
            payload.as_deref()
        }
    }
}
