//! Avro binary → JSON text.
//!
//! [`AvroDecoder::new`] parses the writer schema with `apache-avro` and compiles it into a
//! node tree (the private `tree` module); that happens once per schema version, in the schema cache.
//! [`AvroDecoder::decode`] then walks the tree over one record's bytes and appends JSON text
//! directly, with no intermediate value. The mapping:
//!
//! | Avro | JSON (default) | option |
//! |---|---|---|
//! | union | the branch's value | `tagged`: `{"<branch>": value}` (Avro JSON encoding) |
//! | enum | symbol | |
//! | bytes, fixed | base64 | hex |
//! | float, double | shortest round-trip number; NaN/±Infinity → `null` | strings |
//! | decimal | exact number with the scale's digits (`12.30`) | string |
//! | uuid | string | |
//! | date / time-* | `YYYY-MM-DD` / `HH:MM:SS.fff…` | epoch numbers |
//! | timestamp-* | ISO-8601 with `Z`; local-timestamp-* without | epoch numbers |
//! | duration | `{"months","days","millis"}` | |
//!
//! Invalid UTF-8 in a string, a truncated body and trailing bytes are all record errors.
//!
//! ```
//! use superdecode::decode::avro::AvroDecoder;
//! use superdecode::decode::{DecodeContext, JsonOptions, RecordDecoder};
//!
//! let schema = r#"{"type":"record","name":"R","fields":[
//!     {"name":"id","type":"long"},
//!     {"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}}]}"#;
//! let decoder = AvroDecoder::new(schema, &JsonOptions::default()).unwrap();
//! let mut out = String::new();
//! // id = 1 (zig-zag 0x02), price = 1230 (two bytes 0x04 0xCE) at scale 2
//! decoder.decode(&[0x02, 0x04, 0x04, 0xce], &DecodeContext::default(), &mut out).unwrap();
//! assert_eq!(out, r#"{"id":1,"price":12.30}"#);
//! ```

pub(crate) mod canonical;
pub mod container;
mod encode;
mod reader;
pub mod references;
mod resolve;
mod tree;

use num_bigint::BigInt;

use super::time::{self, Unit};
use super::{
    DecodeContext, JsonOptions, MessageSelector, NumberOrString, RecordDecoder, RecordEncoder,
};
use crate::error::{ErrorCode, RecordError};
use crate::json_text::{self, JsonSink, LiteralSink, push_int};
use reader::{ReadError, Reader};
use tree::{MAX_DECIMAL_BYTES, Node, NodeId, Tree};

/// Avro's JSON mapping options (flags with `SUPERDECODE_*` twins).
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct AvroOptions {
    /// Avro unions: the branch value, or `{"<type>": value}`.
    #[arg(long, env = "SUPERDECODE_UNIONS", value_enum, default_value_t)]
    pub unions: UnionEncoding,

    /// Decimals: exact JSON numbers, or strings.
    #[arg(long, env = "SUPERDECODE_DECIMALS", value_enum, default_value_t)]
    pub decimals: NumberOrString,

    /// Dates, times and timestamps: ISO-8601 text, or the encoded epoch numbers.
    #[arg(long, env = "SUPERDECODE_TIMES", value_enum, default_value_t)]
    pub times: TimeEncoding,
}

/// How Avro unions are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum UnionEncoding {
    /// The value of the branch alone.
    #[default]
    Unwrap,
    /// `{"<branch type>": value}`, the Avro JSON encoding (`null` stays `null`).
    Tagged,
}

/// How dates, times and timestamps are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TimeEncoding {
    /// ISO-8601 text: `2024-05-01`, `13:45:00.250`, `2024-05-01T13:45:00.250Z`.
    #[default]
    Iso,
    /// The encoded number: days, or milli/micro/nanoseconds since the epoch or midnight.
    Epoch,
}

/// Why an Avro schema cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// `apache-avro` does not parse it.
    #[error("invalid Avro schema: {0}")]
    Invalid(#[source] Box<apache_avro::Error>),
    /// A `uuid` logical type on a `fixed` that is not 16 bytes.
    #[error("uuid on fixed of size {0}, not 16")]
    UuidSize(usize),
    /// A `duration` logical type on a `fixed` that is not 12 bytes.
    #[error("duration on fixed of size {0}, not 12")]
    DurationSize(usize),
    /// A named type used before (or without) its definition.
    #[error("reference to undefined type {0}")]
    UndefinedType(String),
    /// The writer's schema cannot be read as the reader's: where, and by which rule.
    #[error("the writer's schema does not resolve to the reader's: {0}")]
    Incompatible(String),
}

impl From<SchemaError> for super::CompileError {
    fn from(e: SchemaError) -> Self {
        super::CompileError(Box::new(e))
    }
}

/// Why a JSON document does not encode under an Avro schema: the JSON path of the value
/// that does not fit, and why.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EncodeError(String);

/// Parses Avro schema JSON.
pub(crate) fn parse_schema(schema_json: &str) -> Result<apache_avro::Schema, SchemaError> {
    apache_avro::Schema::parse_str(schema_json).map_err(|e| SchemaError::Invalid(Box::new(e)))
}

/// Decodes Avro binary records of one writer schema.
pub struct AvroDecoder {
    tree: Tree,
    options: JsonOptions,
}

impl AvroDecoder {
    /// Parses and compiles `schema_json`. Errors describe why the schema is unusable.
    pub fn new(schema_json: &str, options: &JsonOptions) -> Result<Self, SchemaError> {
        let schema = parse_schema(schema_json)?;
        Ok(AvroDecoder {
            tree: tree::compile(&schema)?,
            options: options.clone(),
        })
    }

    /// Compiles the resolution of records written with `writer_json` into the shape of
    /// `reader_json`, by Avro's schema resolution rules (see the module docs).
    pub fn resolving(
        writer_json: &str,
        reader_json: &str,
        options: &JsonOptions,
    ) -> Result<Self, SchemaError> {
        let writer = parse_schema(writer_json)?;
        let reader = parse_schema(reader_json)?;
        Ok(AvroDecoder {
            tree: resolve::compile(&writer, &reader, options)?,
            options: options.clone(),
        })
    }
}

/// JSON in this decoder's mapping back to Avro binary (the `encode` command). Numbers
/// are read from their exact text, so longs and decimals keep every digit.
impl RecordEncoder for AvroDecoder {
    fn encode(
        &self,
        json: &str,
        _message: Option<&str>,
        _selector: MessageSelector,
    ) -> Result<Vec<u8>, super::EncodeError> {
        let value =
            crate::json_text::ExactJson::parse(json).map_err(super::EncodeError::NotJson)?;
        encode::encode(&self.tree, &self.options, &value)
            .map_err(|e| super::EncodeError::Mismatch(Box::new(EncodeError(e))))
    }
}

impl AvroDecoder {
    /// Decodes one record from the front of `body` and returns how many bytes it took (the
    /// records of a container block follow each other with no framing).
    pub(crate) fn decode_prefix(
        &self,
        body: &[u8],
        ctx: &DecodeContext,
        out: &mut impl JsonSink,
    ) -> Result<usize, RecordError> {
        let mut walk = Walk {
            nodes: &self.tree.nodes,
            options: &self.options,
            reader: Reader::new(body),
            out,
            max_len: ctx.max_result_bytes,
            max_depth: ctx.max_depth.min(super::MAX_SUPPORTED_DEPTH),
            depth: 0,
        };
        walk.value(self.tree.root)
            .map_err(Failure::into_record_error)?;
        Ok(walk.reader.position())
    }
}

impl RecordDecoder for AvroDecoder {
    fn decode(
        &self,
        body: &[u8],
        ctx: &DecodeContext,
        out: &mut String,
    ) -> Result<(), RecordError> {
        let used = self.decode_prefix(body, ctx, out)?;
        let left = body.len() - used;
        if left > 0 {
            return Err(RecordError::new(
                ErrorCode::TrailingBytes,
                format!(
                    "{left} byte(s) left after the record ended at offset {used}: wrong schema or corrupt data"
                ),
            ));
        }
        Ok(())
    }

    fn decode_literal(&self, body: &[u8], ctx: &DecodeContext, out: &mut Vec<u8>) -> Option<usize> {
        let mut literal = LiteralSink::open(out);
        let used = self.decode_prefix(body, ctx, &mut literal).ok()?;
        (used == body.len()).then(|| literal.close())
    }
}

/// A decode failure with the path to the value that failed, built while unwinding so the
/// happy path pays nothing for it.
struct Failure {
    error: ReadError,
    path: Vec<PathStep>,
}

enum PathStep {
    Field(Box<str>),
    Index(usize),
    Key(String),
}

impl Failure {
    fn at(mut self, step: PathStep) -> Self {
        self.path.push(step);
        self
    }

    fn into_record_error(self) -> RecordError {
        let mut path = String::from("$");
        for step in self.path.iter().rev() {
            match step {
                PathStep::Field(name) => {
                    path.push('.');
                    path.push_str(name);
                }
                PathStep::Index(i) => {
                    path.push('[');
                    push_int(&mut path, *i);
                    path.push(']');
                }
                PathStep::Key(k) => {
                    path.push('[');
                    json_text::push_str_literal(&mut path, k);
                    path.push(']');
                }
            }
        }
        RecordError::new(self.error.code, format!("at {path}: {}", self.error.detail))
    }
}

impl From<ReadError> for Failure {
    fn from(error: ReadError) -> Self {
        Failure {
            error,
            path: Vec::new(),
        }
    }
}

fn fail(code: ErrorCode, detail: impl Into<String>) -> Failure {
    Failure::from(ReadError {
        code,
        detail: detail.into(),
    })
}

struct Walk<'a, 'b, S: JsonSink> {
    nodes: &'a [Node],
    options: &'a JsonOptions,
    reader: Reader<'b>,
    out: &'a mut S,
    max_len: usize,
    max_depth: usize,
    depth: usize,
}

impl<S: JsonSink> Walk<'_, '_, S> {
    /// Stops runaway output (e.g. billions of `null` items in a few bytes) early.
    #[inline]
    fn check_size(&self) -> Result<(), Failure> {
        super::check_result_size(self.out.len(), self.max_len).map_err(|e| {
            Failure::from(ReadError {
                code: e.code,
                detail: e.message,
            })
        })
    }

    /// Refuses a value whose JSON text (never shorter than its `len` bytes of input) would
    /// pass the result-size cap, before anything of it is written.
    fn ensure_room(&self, len: usize) -> Result<(), Failure> {
        if self.out.len().saturating_add(len) > self.max_len {
            return Err(fail(
                ErrorCode::ResultTooLarge,
                format!(
                    "JSON result exceeds {} bytes (a {len}-byte value at offset {})",
                    self.max_len,
                    self.reader.position()
                ),
            ));
        }
        Ok(())
    }

    fn value(&mut self, id: NodeId) -> Result<(), Failure> {
        let nodes = self.nodes;
        match &nodes[id] {
            Node::Null => self.out.push_unescaped("null"),
            Node::Boolean => {
                let b = self.reader.boolean()?;
                self.out.push_unescaped(if b { "true" } else { "false" });
            }
            Node::Int => push_int(self.out, self.reader.int()?),
            Node::Long => push_int(self.out, self.reader.long()?),
            Node::Float => {
                json_text::push_f32(self.out, self.reader.float()?, self.options.non_finite)
            }
            Node::Double => {
                json_text::push_f64(self.out, self.reader.double()?, self.options.non_finite)
            }
            Node::Array(items) => self.nested(|w| w.array(*items))?,
            Node::Map(values) => self.nested(|w| w.map(*values))?,
            Node::Record(fields) => self.nested(|w| {
                w.out.push('{');
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        w.out.push(',');
                    }
                    w.out.push_text(&field.key);
                    w.out.push(':');
                    w.value(field.node)
                        .map_err(|f| f.at(PathStep::Field(field.name.clone())))?;
                }
                w.out.push('}');
                Ok(())
            })?,
            Node::Union(branches) => {
                let start = self.reader.position();
                let index = self.reader.long()?;
                let branch = usize::try_from(index).ok().and_then(|i| branches.get(i));
                let Some(branch) = branch else {
                    return Err(fail(
                        ErrorCode::DecodeFailed,
                        format!(
                            "union branch {index} at offset {start} is out of range (0..{})",
                            branches.len()
                        ),
                    ));
                };
                match (&branch.tagged_prefix, self.options.avro.unions) {
                    (Some(prefix), UnionEncoding::Tagged) => {
                        self.out.push_text(prefix);
                        self.nested(|w| w.value(branch.node))?;
                        self.out.push('}');
                    }
                    _ => self.nested(|w| w.value(branch.node))?,
                }
            }
            Node::Resolved(resolved) => self.resolved(resolved)?,
            _ => self.leaf(&nodes[id])?,
        }
        Ok(())
    }

    /// The nodes of a resolved (writer, reader) pair.
    fn resolved(&mut self, resolved: &resolve::Resolved) -> Result<(), Failure> {
        use resolve::{Promotion, Resolved};
        let non_finite = self.options.non_finite;
        match resolved {
            Resolved::Promote(promotion) => match promotion {
                Promotion::IntToFloat => {
                    json_text::push_f32(self.out, self.reader.int()? as f32, non_finite)
                }
                Promotion::IntToDouble => {
                    json_text::push_f64(self.out, f64::from(self.reader.int()?), non_finite)
                }
                Promotion::LongToFloat => {
                    json_text::push_f32(self.out, self.reader.long()? as f32, non_finite)
                }
                Promotion::LongToDouble => {
                    json_text::push_f64(self.out, self.reader.long()? as f64, non_finite)
                }
                Promotion::FloatToDouble => {
                    json_text::push_f64(self.out, f64::from(self.reader.float()?), non_finite)
                }
            },
            Resolved::Enum(mapping) => {
                let start = self.reader.position();
                let index = self.reader.int()?;
                match usize::try_from(index).ok().and_then(|i| mapping.get(i)) {
                    Some(Ok(symbol)) => self.out.push_text(symbol),
                    Some(Err(symbol)) => {
                        return Err(fail(
                            ErrorCode::SchemaIncompatible,
                            format!(
                                "the writer's enum symbol {symbol} is not in the reader's enum, which has no default"
                            ),
                        ));
                    }
                    None => {
                        return Err(fail(
                            ErrorCode::DecodeFailed,
                            format!(
                                "enum index {index} at offset {start} is out of range (0..{})",
                                mapping.len()
                            ),
                        ));
                    }
                }
            }
            Resolved::Record(record) => self.nested(|w| w.resolved_record(record))?,
            Resolved::Branch(branch) => match (&branch.tagged_prefix, self.options.avro.unions) {
                (Some(prefix), UnionEncoding::Tagged) => {
                    self.out.push_text(prefix);
                    self.nested(|w| w.value(branch.node))?;
                    self.out.push('}');
                }
                _ => self.nested(|w| w.value(branch.node))?,
            },
            Resolved::Incompatible(why) => {
                return Err(fail(ErrorCode::SchemaIncompatible, why.to_string()));
            }
        }
        Ok(())
    }

    /// A record read in the writer's field order and written in the reader's. When the
    /// orders differ, the values are written first and then put in the reader's order.
    fn resolved_record(&mut self, record: &resolve::ResolvedRecord) -> Result<(), Failure> {
        use resolve::Step;
        let skip = |w: &mut Self, name: &str, node: NodeId| {
            let mark = w.out.mark();
            let skipped = w
                .value(node)
                .map_err(|f| f.at(PathStep::Field(name.into())));
            w.out.truncate(mark);
            skipped
        };
        if record.in_order {
            self.out.push('{');
            let mut first = true;
            for step in &record.steps {
                match step {
                    Step::Read { slot, node } => {
                        let field = &record.fields[*slot];
                        if !first {
                            self.out.push(',');
                        }
                        first = false;
                        self.out.push_text(&field.key);
                        self.out.push(':');
                        self.value(*node)
                            .map_err(|f| f.at(PathStep::Field(field.name.clone())))?;
                    }
                    Step::Skip { name, node } => skip(self, name, *node)?,
                }
            }
            for field in &record.fields {
                if let Some(default) = &field.default {
                    if !first {
                        self.out.push(',');
                    }
                    first = false;
                    self.out.push_text(&field.key);
                    self.out.push(':');
                    self.out.push_text(default);
                }
            }
            self.out.push('}');
            return Ok(());
        }
        // The values are written in the writer's order, then copied after them in the
        // reader's, and the first copies removed.
        let start = self.out.mark();
        let mut spans = vec![(start, start); record.fields.len()];
        for step in &record.steps {
            match step {
                Step::Read { slot, node } => {
                    let from = self.out.mark();
                    self.value(*node)
                        .map_err(|f| f.at(PathStep::Field(record.fields[*slot].name.clone())))?;
                    spans[*slot] = (from, self.out.mark());
                }
                Step::Skip { name, node } => skip(self, name, *node)?,
            }
        }
        let values_end = self.out.mark();
        self.out.push('{');
        for (i, (field, (from, to))) in record.fields.iter().zip(spans).enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            self.out.push_text(&field.key);
            self.out.push(':');
            match &field.default {
                Some(default) => self.out.push_text(default),
                None => self.out.copy_within(from, to),
            }
        }
        self.out.push('}');
        self.out.remove(start, values_end);
        Ok(())
    }

    /// The values that are not containers. Kept out of [`Walk::value`], which recurses once
    /// per nesting level, so that its stack frame stays small: the maximum depth must fit a
    /// worker thread's stack even in a debug build.
    #[inline(never)]
    fn leaf(&mut self, node: &Node) -> Result<(), Failure> {
        match node {
            Node::Bytes => {
                let data = self.reader.bytes()?;
                self.ensure_room(data.len())?;
                json_text::push_bytes(self.out, data, self.options.bytes);
            }
            Node::String => {
                let start = self.reader.position();
                let data = self.reader.bytes()?;
                let text = self.out.utf8(data).map_err(|e| {
                    fail(
                        ErrorCode::InvalidUtf8,
                        format!("string at offset {start} is not valid UTF-8: {e}"),
                    )
                })?;
                self.ensure_room(data.len())?;
                self.out.push_utf8(text);
            }
            Node::Fixed(size) => {
                let data = self.reader.take(*size)?;
                self.ensure_room(data.len())?;
                json_text::push_bytes(self.out, data, self.options.bytes);
            }
            Node::Enum(symbols) => {
                let start = self.reader.position();
                let index = self.reader.int()?;
                let symbol = usize::try_from(index).ok().and_then(|i| symbols.get(i));
                let Some(symbol) = symbol else {
                    return Err(fail(
                        ErrorCode::DecodeFailed,
                        format!(
                            "enum index {index} at offset {start} is out of range (0..{})",
                            symbols.len()
                        ),
                    ));
                };
                self.out.push_text(symbol);
            }
            Node::Decimal { scale, fixed_size } => {
                let data = match fixed_size {
                    Some(size) => self.reader.take(*size)?,
                    None => self.reader.bytes()?,
                };
                self.decimal(data, i64::try_from(*scale).unwrap_or(i64::MAX))?;
            }
            Node::BigDecimal => {
                let data = self.reader.bytes()?;
                let mut inner = Reader::new(data);
                let unscaled = inner.bytes()?;
                let scale = inner.long()?;
                if inner.remaining() != 0 {
                    return Err(fail(
                        ErrorCode::DecodeFailed,
                        "big-decimal has trailing bytes",
                    ));
                }
                self.decimal(unscaled, scale)?;
            }
            Node::UuidString => {
                let data = self.reader.bytes()?;
                let text = self.out.utf8(data).map_err(|e| {
                    fail(
                        ErrorCode::InvalidUtf8,
                        format!("uuid is not valid UTF-8: {e}"),
                    )
                })?;
                self.out.push_utf8(text);
            }
            Node::UuidBinary { fixed } => {
                let data = if *fixed {
                    self.reader.take(16)?
                } else {
                    self.reader.bytes()?
                };
                let uuid = uuid::Uuid::from_slice(data).map_err(|_| {
                    fail(
                        ErrorCode::DecodeFailed,
                        format!("uuid has {} bytes, not 16", data.len()),
                    )
                })?;
                self.out.push('"');
                self.out.push_unescaped(
                    uuid.hyphenated()
                        .encode_lower(&mut uuid::Uuid::encode_buffer()),
                );
                self.out.push('"');
            }
            Node::Date => {
                let days = self.reader.int()?;
                match self.options.avro.times {
                    TimeEncoding::Epoch => push_int(self.out, days),
                    TimeEncoding::Iso => {
                        self.out.push('"');
                        time::push_date(self.out, i64::from(days));
                        self.out.push('"');
                    }
                }
            }
            Node::Time(unit) => {
                let start = self.reader.position();
                let value = match unit {
                    Unit::Millis => i64::from(self.reader.int()?),
                    _ => self.reader.long()?,
                };
                match self.options.avro.times {
                    TimeEncoding::Epoch => push_int(self.out, value),
                    TimeEncoding::Iso => {
                        self.out.push('"');
                        if !time::push_time_of_day(self.out, value, *unit) {
                            return Err(fail(
                                ErrorCode::DecodeFailed,
                                format!("time of day {value} at offset {start} is outside one day"),
                            ));
                        }
                        self.out.push('"');
                    }
                }
            }
            Node::Timestamp { unit, utc } => {
                let value = self.reader.long()?;
                match self.options.avro.times {
                    TimeEncoding::Epoch => push_int(self.out, value),
                    TimeEncoding::Iso => {
                        self.out.push('"');
                        time::push_timestamp(self.out, value, *unit, *utc);
                        self.out.push('"');
                    }
                }
            }
            Node::Duration => {
                let data: [u8; 12] = self.reader.take_array()?;
                let part =
                    |i: usize| u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
                self.out.push_str("{\"months\":");
                push_int(self.out, part(0));
                self.out.push_str(",\"days\":");
                push_int(self.out, part(4));
                self.out.push_str(",\"millis\":");
                push_int(self.out, part(8));
                self.out.push('}');
            }
            Node::Pending => {
                return Err(fail(
                    ErrorCode::DecodeFailed,
                    "internal: schema node was never compiled",
                ));
            }
            Node::Null
            | Node::Boolean
            | Node::Int
            | Node::Long
            | Node::Float
            | Node::Double
            | Node::Array(_)
            | Node::Map(_)
            | Node::Record(_)
            | Node::Union(_)
            | Node::Resolved(_) => {
                return Err(fail(
                    ErrorCode::DecodeFailed,
                    "internal: a container node reached the leaf decoder",
                ));
            }
        }
        Ok(())
    }

    /// Runs `f` one nesting level deeper, refusing to go past the maximum depth, so that
    /// a recursive schema cannot be driven to overflow the stack by a hostile record.
    /// It also checks the result size: records take no bytes of their own, so named-type
    /// references can make a short body write exponentially much JSON.
    fn nested(&mut self, f: impl FnOnce(&mut Self) -> Result<(), Failure>) -> Result<(), Failure> {
        self.check_size()?;
        if self.depth >= self.max_depth {
            return Err(fail(
                ErrorCode::NestingTooDeep,
                format!("nesting deeper than {} levels", self.max_depth),
            ));
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    fn array(&mut self, items: NodeId) -> Result<(), Failure> {
        self.out.push('[');
        let mut index = 0usize;
        loop {
            let count = self
                .reader
                .block_count()
                .map_err(|e| Failure::from(e).at(PathStep::Index(index)))?;
            if count == 0 {
                break;
            }
            for _ in 0..count {
                if index > 0 {
                    self.out.push(',');
                }
                self.value(items)
                    .map_err(|f| f.at(PathStep::Index(index)))?;
                index += 1;
                self.check_size()?;
            }
        }
        self.out.push(']');
        Ok(())
    }

    fn map(&mut self, values: NodeId) -> Result<(), Failure> {
        self.out.push('{');
        let mut first = true;
        loop {
            let count = self.reader.block_count()?;
            if count == 0 {
                break;
            }
            for _ in 0..count {
                if !first {
                    self.out.push(',');
                }
                first = false;
                let start = self.reader.position();
                let data = self.reader.bytes()?;
                let key = self.out.utf8(data).map_err(|e| {
                    fail(
                        ErrorCode::InvalidUtf8,
                        format!("map key at offset {start} is not valid UTF-8: {e}"),
                    )
                })?;
                self.ensure_room(data.len())?;
                self.out.push_utf8(key);
                self.out.push(':');
                self.value(values)
                    .map_err(|f| f.at(PathStep::Key(String::from_utf8_lossy(data).into_owned())))?;
                self.check_size()?;
            }
        }
        self.out.push('}');
        Ok(())
    }

    /// Writes a two's-complement big-endian unscaled integer at `scale` as an exact
    /// decimal: never through a float.
    fn decimal(&mut self, unscaled: &[u8], scale: i64) -> Result<(), Failure> {
        if unscaled.len() > MAX_DECIMAL_BYTES {
            return Err(fail(
                ErrorCode::DecodeFailed,
                format!(
                    "decimal of {} bytes exceeds {MAX_DECIMAL_BYTES}",
                    unscaled.len()
                ),
            ));
        }
        if scale.unsigned_abs() > 1000 {
            return Err(fail(
                ErrorCode::DecodeFailed,
                format!("decimal scale {scale} is out of range"),
            ));
        }
        let digits = if unscaled.is_empty() {
            "0".to_owned()
        } else if unscaled.len() <= 16 {
            let mut buf = [if unscaled[0] & 0x80 != 0 { 0xff } else { 0 }; 16];
            buf[16 - unscaled.len()..].copy_from_slice(unscaled);
            i128::from_be_bytes(buf).to_string()
        } else {
            BigInt::from_signed_bytes_be(unscaled).to_string()
        };
        let as_string = self.options.avro.decimals == NumberOrString::String;
        if as_string {
            self.out.push('"');
        }
        push_scaled(self.out, &digits, scale);
        if as_string {
            self.out.push('"');
        }
        Ok(())
    }
}

/// Appends `digits` (an optionally negative integer) shifted right by `scale` places.
pub(crate) fn push_scaled(out: &mut impl JsonSink, digits: &str, scale: i64) {
    let (sign, magnitude) = match digits.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", digits),
    };
    out.push_unescaped(sign);
    if scale <= 0 {
        out.push_unescaped(magnitude);
        if magnitude != "0" {
            for _ in 0..scale.unsigned_abs() {
                out.push('0');
            }
        }
        return;
    }
    let scale = scale as usize;
    if magnitude.len() > scale {
        let (int_part, frac) = magnitude.split_at(magnitude.len() - scale);
        out.push_unescaped(int_part);
        out.push('.');
        out.push_unescaped(frac);
    } else {
        out.push_unescaped("0.");
        for _ in magnitude.len()..scale {
            out.push('0');
        }
        out.push_unescaped(magnitude);
    }
}

#[cfg(test)]
mod tests;
