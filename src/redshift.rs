//! The Amazon Redshift external-function contract.
//!
//! Request: `{"request_id","cluster","user","database","external_function","query_id",
//! "num_records","arguments":[[...],...]}`; only `arguments` is required, so direct test
//! invokes work. Response: `{"success":true,"num_records":N,"results":[...]}` with one
//! string or `null` per row, in order, or `{"success":false,"error_msg":"..."}`, which
//! fails the query or refresh. Failure is reserved for malformed events, environment
//! errors, and record errors under `SUPERDECODE_ON_ERROR=fail`.
//!
//! The event is read from its text without a JSON tree ([`parse_event`]): each row's
//! arguments borrow from the text, so a batch of thousands of payloads costs no copy of
//! them. The results are kept end to end in one buffer ([`Results`]) and escaped once,
//! when the [`Response`] is serialized (by the Lambda runtime, or by `invoke`).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::{BatchError, ErrorCode, RecordError};
use crate::frame::PayloadEncoding;
use crate::json_text::{self, LiteralBuffer};
use crate::pipeline::{BatchOptions, Call, Engine, ResultForm, RowView, SchemaNames};

/// What a record error becomes in a Redshift response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OnError {
    /// `{"_decode_error":{"code":"...","message":"..."}}`, for a dead-letter view.
    #[default]
    Object,
    /// SQL NULL.
    Null,
    /// Fail the whole batch (`success:false`).
    Fail,
}

/// The batch metadata we log; all optional.
#[derive(Debug, Default, Clone)]
pub struct BatchInfo {
    /// Redshift's `request_id`.
    pub request_id: Option<String>,
    /// Redshift's `query_id`.
    pub query_id: Option<i64>,
    /// The SQL name of the external function called.
    pub external_function: Option<String>,
}

/// Why an event is not a Redshift external-function request. The text is the response's
/// `error_msg`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The event is not JSON at all.
    #[error("malformed event: not JSON ({0})")]
    NotJson(String),
    /// The event is not a JSON object.
    #[error("malformed event: expected a JSON object with an \"arguments\" array of rows, got {0}")]
    NotAnObject(&'static str),
    /// `arguments` is not an array.
    #[error("malformed event: \"arguments\" must be an array of rows, got {0}")]
    ArgumentsNotArray(&'static str),
    /// There is no `arguments`.
    #[error("malformed event: missing \"arguments\" (an array of rows, one per record)")]
    MissingArguments,
    /// `num_records` disagrees with the number of rows.
    #[error("malformed event: num_records is {num_records} but \"arguments\" has {rows} rows")]
    RecordCount {
        /// `num_records` as sent.
        num_records: String,
        /// Rows in `arguments`.
        rows: usize,
    },
    /// One row is malformed.
    #[error("malformed event: row {index}: {source}")]
    Row {
        /// The row's position, from 0.
        index: usize,
        /// What is wrong with it.
        #[source]
        source: RowError,
    },
}

/// Why one row of an event cannot be a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    /// The row is not an array.
    #[error("expected an array of arguments, got {0}")]
    NotAnArray(&'static str),
    /// An argument is neither a string nor NULL.
    #[error(
        "argument {position} is {got}; superdecode takes VARCHAR arguments (hex from to_hex())"
    )]
    NotVarchar {
        /// The argument's position, from 1.
        position: usize,
        /// Its JSON type.
        got: &'static str,
    },
    /// A number of arguments no call shape takes.
    #[error("{0} arguments; expected (hex), (stream, hex) or (registry, schema, hex)")]
    Arity(usize),
}

/// Reads an event's text into calls, or explains what was expected.
///
/// The rows borrow their texts from `text`: a batch of thousands of payloads is read
/// without a JSON tree and without a copy of each payload. When that fast reading refuses
/// the event, [`parse_event_value`] reads it again to say exactly why (malformed events
/// are rare, and their message must be precise).
pub fn parse_event(text: &str) -> Result<(BatchInfo, Vec<Call<'_>>), EventError> {
    if let Ok(event) = BorrowedEvent::read(text)
        && count_agrees(event.num_records.as_ref(), event.calls.len())
    {
        return Ok((event.info, event.calls));
    }
    let event: Value =
        serde_json::from_str(text).map_err(|e| EventError::NotJson(e.to_string()))?;
    parse_event_value(&event)
}

/// Reads an event already parsed into a JSON tree: the reference reading, which
/// [`parse_event`] agrees with on every event, and which explains a refused one.
pub fn parse_event_value(event: &Value) -> Result<(BatchInfo, Vec<Call<'static>>), EventError> {
    let Some(object) = event.as_object() else {
        return Err(EventError::NotAnObject(type_name(event)));
    };
    let info = BatchInfo {
        request_id: object
            .get("request_id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        query_id: object.get("query_id").and_then(Value::as_i64),
        external_function: object
            .get("external_function")
            .and_then(Value::as_str)
            .map(str::to_owned),
    };
    let rows = match object.get("arguments") {
        Some(Value::Array(rows)) => rows,
        Some(other) => return Err(EventError::ArgumentsNotArray(type_name(other))),
        None => return Err(EventError::MissingArguments),
    };
    if let Some(n) = object.get("num_records")
        && !count_agrees(Some(n), rows.len())
    {
        return Err(EventError::RecordCount {
            num_records: n.to_string(),
            rows: rows.len(),
        });
    }
    let calls = rows
        .iter()
        .enumerate()
        .map(|(index, row)| parse_row(row).map_err(|source| EventError::Row { index, source }))
        .collect::<Result<_, _>>()?;
    Ok((info, calls))
}

/// Whether `num_records` (optional: direct test invokes leave it out) agrees with the
/// number of rows.
fn count_agrees(num_records: Option<&Value>, rows: usize) -> bool {
    match num_records {
        None | Some(Value::Null) => true,
        Some(n) => n.as_u64() == Some(rows as u64),
    }
}

fn parse_row(row: &Value) -> Result<Call<'static>, RowError> {
    let args = match row {
        Value::Null => return Ok(Call::Null),
        Value::Array(args) => args,
        other => return Err(RowError::NotAnArray(type_name(other))),
    };
    let mut texts = Vec::with_capacity(args.len());
    for (i, arg) in args.iter().enumerate() {
        texts.push(match arg {
            Value::Null => None,
            Value::String(s) => Some(Cow::Owned(s.clone())),
            other => {
                return Err(RowError::NotVarchar {
                    position: i + 1,
                    got: type_name(other),
                });
            }
        });
    }
    let n = texts.len();
    let mut args = [None, None, None];
    for (slot, text) in args.iter_mut().zip(texts) {
        *slot = text;
    }
    call_of(args, n).map_err(RowError::Arity)
}

/// The call that a row of `n` arguments (the first of `args`) makes, or `n` when no call
/// takes that many.
fn call_of<'a>(args: [Option<Cow<'a, str>>; 3], n: usize) -> Result<Call<'a>, usize> {
    let mut args = args.into_iter();
    let mut next = || args.next().flatten();
    match n {
        1 => Ok(Call::Framed { payload: next() }),
        2 => Ok(Call::Stream {
            stream: next(),
            payload: next(),
        }),
        3 => Ok(Call::Named {
            names: Box::new(SchemaNames {
                registry: next(),
                schema: next(),
            }),
            payload: next(),
        }),
        n => Err(n),
    }
}

/// An event read straight from its text by [`parse_event`]. Any event it refuses goes to
/// the reference reading, so its errors carry no detail.
struct BorrowedEvent<'a> {
    info: BatchInfo,
    num_records: Option<Value>,
    calls: Vec<Call<'a>>,
}

impl<'a> BorrowedEvent<'a> {
    fn read(text: &'a str) -> serde_json::Result<Self> {
        use serde::de::DeserializeSeed;
        let mut deserializer = serde_json::Deserializer::from_str(text);
        // Every row takes at least three characters (`[],`): the most rows to reserve.
        let seed = EventSeed {
            max_rows: text.len() as u64 / 3,
        };
        let event = seed.deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(event)
    }
}

/// Reads a [`BorrowedEvent`] from an event text of at most `max_rows` rows.
struct EventSeed {
    max_rows: u64,
}

impl<'de> serde::de::DeserializeSeed<'de> for EventSeed {
    type Value = BorrowedEvent<'de>;
    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        struct EventVisitor {
            max_rows: u64,
        }
        impl<'de> serde::de::Visitor<'de> for EventVisitor {
            type Value = BorrowedEvent<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a Redshift event")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Self::Value, M::Error> {
                let mut info = BatchInfo::default();
                let mut num_records = None;
                let mut calls = None;
                // A repeated key keeps its last value, as in a JSON tree.
                while let Some(key) = map.next_key::<Text>()? {
                    match &*key.0 {
                        // The metadata and unknown keys are read as JSON trees, as the
                        // reference reads them (they are few and small), so that both
                        // accept and refuse the same numbers in them.
                        "request_id" => info.request_id = string(map.next_value()?),
                        "external_function" => info.external_function = string(map.next_value()?),
                        "query_id" => info.query_id = map.next_value::<Value>()?.as_i64(),
                        "num_records" => num_records = Some(map.next_value::<Value>()?),
                        "arguments" => {
                            // Redshift sends num_records first: size the rows once, but
                            // never past what the text can hold.
                            let capacity = num_records
                                .as_ref()
                                .and_then(Value::as_u64)
                                .map_or(0, |n| n.min(self.max_rows));
                            calls = Some(map.next_value_seed(Rows {
                                capacity: usize::try_from(capacity).unwrap_or(0),
                            })?);
                        }
                        _ => {
                            map.next_value::<Value>()?;
                        }
                    }
                }
                let calls = calls.ok_or_else(|| serde::de::Error::missing_field("arguments"))?;
                Ok(BorrowedEvent {
                    info,
                    num_records,
                    calls,
                })
            }
        }
        deserializer.deserialize_map(EventVisitor {
            max_rows: self.max_rows,
        })
    }
}

fn string(value: Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// A JSON string, borrowed from the text unless it has escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Text<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> serde::de::Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// The `arguments` array, read into calls.
struct Rows {
    /// Rows to reserve: `num_records` when it came first, bounded by what the text can
    /// hold, so that a hostile count reserves nothing the event could not fill.
    capacity: usize,
}

impl<'de> serde::de::DeserializeSeed<'de> for Rows {
    type Value = Vec<Call<'de>>;
    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Rows {
    type Value = Vec<Call<'de>>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of rows")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut calls = Vec::with_capacity(self.capacity);
        while let Some(call) = seq.next_element::<BorrowedCall>()? {
            calls.push(call.0);
        }
        Ok(calls)
    }
}

/// One row: NULL, or an array of one to three strings or NULLs.
struct BorrowedCall<'a>(Call<'a>);

impl<'de> serde::Deserialize<'de> for BorrowedCall<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RowVisitor;
        impl<'de> serde::de::Visitor<'de> for RowVisitor {
            type Value = BorrowedCall<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a row of one to three VARCHAR arguments")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(BorrowedCall(Call::Null))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut args = [None, None, None];
                let mut n = 0;
                while let Some(arg) = seq.next_element::<Option<Text>>()? {
                    let Some(slot) = args.get_mut(n) else {
                        return Err(serde::de::Error::invalid_length(n + 1, &self));
                    };
                    *slot = arg.map(|t| t.0);
                    n += 1;
                }
                call_of(args, n)
                    .map(BorrowedCall)
                    .map_err(|n| serde::de::Error::invalid_length(n, &self))
            }
        }
        deserializer.deserialize_any(RowVisitor)
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Functions whose SQL name ends in this read their payloads as base64, so one deployed
/// Lambda serves both `f_superdecode(to_hex(...))` and
/// `f_superdecode_b64(FROM_VARBYTE(..., 'base64'))`.
pub const BASE64_FUNCTION_SUFFIX: &str = "_b64";

/// How a batch's payloads are written: base64 for a `*_b64` function, else `default`.
fn payload_encoding(info: &BatchInfo, default: PayloadEncoding) -> PayloadEncoding {
    match &info.external_function {
        Some(name) if name.to_ascii_lowercase().ends_with(BASE64_FUNCTION_SUFFIX) => {
            PayloadEncoding::Base64
        }
        _ => default,
    }
}

/// A response to Redshift. It serializes as compact JSON, keys in alphabetical order:
/// `{"num_records":N,"results":[...],"success":true}` or
/// `{"error_msg":"...","success":false}`. Each result was escaped once, when it was
/// pushed, after the frame written up front, so [`Response::into_json`] only closes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// One result per row, in order.
    Success(Results),
    /// The batch failed; Redshift fails the query or refresh and shows the message.
    Failure {
        /// Why.
        error_msg: String,
    },
}

impl Response {
    /// A failed response.
    pub fn failure(message: impl Into<String>) -> Self {
        Response::Failure {
            error_msg: message.into(),
        }
    }

    /// The response as compact JSON, exactly as Lambda returns it.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    /// The response as compact JSON, as [`Response::to_json`] writes it, but without a
    /// copy: a batch's results were written after the response's opening, so this only
    /// closes it.
    pub fn into_json(self) -> String {
        match self {
            Response::Success(results) if results.rows == results.expected => {
                let mut text = results.text;
                text.push_raw(RESULTS_END);
                text.into_string().unwrap_or_else(|e| {
                    Response::failure(format!("internal: the results are not UTF-8 ({e})"))
                        .to_json()
                })
            }
            other => other.to_json(),
        }
    }

    /// Appends the response as compact JSON: byte for byte what `serde_json` writes for the
    /// same JSON tree.
    pub fn write_json(&self, out: &mut String) {
        match self {
            Response::Success(results) => match results.text.as_str() {
                Ok(text) => {
                    out.reserve(text.len() + 64);
                    if results.rows == results.expected {
                        out.push_str(text);
                    } else {
                        push_results_start(out, results.rows);
                        out.push_str(text.get(results.start..).unwrap_or_default());
                    }
                    out.push_str(RESULTS_END);
                }
                // Unreachable: the text is copied from strings with ASCII escapes between
                // their characters. Should it ever happen, the batch fails (and is retried).
                Err(e) => {
                    Response::failure(format!("internal: the results are not UTF-8 ({e})"))
                        .write_json(out);
                }
            },
            Response::Failure { error_msg } => {
                out.push_str("{\"error_msg\":");
                json_text::push_str_literal(out, error_msg);
                out.push_str(",\"success\":false}");
            }
        }
    }
}

/// Serializes as the JSON [`Response::write_json`] writes, whatever the serializer: the
/// Lambda runtime's `serde_json::to_vec` copies it verbatim instead of escaping every
/// result again, and `serde_json::to_value` parses it.
impl serde::Serialize for Response {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_raw_json().serialize(serializer)
    }
}

impl Response {
    /// The response as a `RawValue`, without parsing it again: checking 4 MB of JSON would
    /// cost as much as writing it.
    fn to_raw_json(&self) -> Box<RawValue> {
        raw_json(self.to_json())
    }

    /// The response as a `RawValue`, as the Lambda runtime takes it, without a copy (see
    /// [`Response::into_json`]) or a second parse.
    pub fn into_raw_json(self) -> Box<RawValue> {
        raw_json(self.into_json())
    }
}

/// JSON text that [`Response::write_json`] wrote, as a `RawValue`.
#[allow(unsafe_code)]
fn raw_json(json: String) -> Box<RawValue> {
    // SAFETY: `write_json` (and `into_json`, which closes the same text) writes one
    // well-formed JSON object with no whitespace around it: a fixed frame, an integer, and
    // string literals escaped exactly as serde_json escapes them (a property test checks
    // the escaping against serde_json). Debug builds, and so every test, re-parse it
    // inside `from_string_unchecked`.
    unsafe { RawValue::from_string_unchecked(json) }
}

/// The opening of a successful response, up to its first result.
fn push_results_start(out: &mut String, rows: usize) {
    out.push_str("{\"num_records\":");
    json_text::push_int(out, rows);
    out.push_str(",\"results\":[");
}

/// The end of a successful response, after its last result.
const RESULTS_END: &str = "],\"success\":true}";

/// The results of a batch as the response holds them: the response's opening for the
/// rows expected, then each row's JSON text as a JSON string literal, escaped once as it
/// was pushed (or `null`), separated by commas, end to end in one buffer, so that a batch
/// allocates no string per row and the finished response is this buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Results {
    text: LiteralBuffer,
    /// Where the first result starts.
    start: usize,
    /// The rows the opening counts.
    expected: usize,
    rows: usize,
}

impl Default for Results {
    /// No rows.
    fn default() -> Self {
        Results::with_capacity(0, 0)
    }
}

impl Results {
    /// Results for `rows` rows, with room for `bytes` of text reserved (not touched) up
    /// front so that the text is never copied as it grows.
    fn with_capacity(rows: usize, bytes: usize) -> Self {
        let mut opening = String::new();
        push_results_start(&mut opening, rows);
        let mut text = LiteralBuffer::with_capacity(bytes.max(opening.len()));
        text.push_raw(&opening);
        Results {
            text,
            start: opening.len(),
            expected: rows,
            rows: 0,
        }
    }

    /// The results of `rows`, in order; `None` is NULL.
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        let rows: Vec<Option<&str>> = rows.into_iter().collect();
        let mut results = Results::with_capacity(rows.len(), 0);
        for row in rows {
            results.push(row);
        }
        results
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends one row and returns the length of its literal (without the comma before it).
    fn push(&mut self, result: Option<&str>) -> usize {
        if self.rows > 0 {
            self.text.push_raw(",");
        }
        self.rows += 1;
        let start = self.text.len();
        match result {
            Some(text) => self.text.push_literal(text),
            None => self.text.push_raw("null"),
        }
        self.text.len() - start
    }

    /// Appends one row's result given as its literal already, and returns the literal's
    /// length.
    fn push_escaped(&mut self, literal: &str) -> usize {
        if self.rows > 0 {
            self.text.push_raw(",");
        }
        self.rows += 1;
        self.text.push_raw(literal);
        literal.len()
    }

    /// Takes back the last row, whose literal was `len` bytes long.
    fn pop(&mut self, len: usize) {
        self.rows = self.rows.saturating_sub(1);
        let comma = usize::from(self.rows > 0);
        self.text
            .truncate(self.text.len().saturating_sub(len + comma));
    }
}

/// Lambda's limit on a synchronous response is 6 MB (6,291,456 bytes); the default keeps a
/// margin under it.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 6_000_000;

/// The most text reserved up front for a batch's results (more grows as needed).
const MAX_RESERVED_TEXT: usize = 8 << 20;

/// How a batch's results become a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponsePolicy {
    /// What a record error gives.
    pub on_error: OnError,
    /// Largest response, in bytes of compact JSON. Rows whose results would pass it become
    /// `response_too_large` record errors, small enough to always fit.
    pub max_response_bytes: usize,
}

impl ResponsePolicy {
    /// `on_error` with the default response limit.
    pub fn new(on_error: OnError) -> Self {
        ResponsePolicy {
            on_error,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// What a handled batch produced, for the response and the batch log line.
pub struct Outcome {
    /// The batch metadata of the event.
    pub info: BatchInfo,
    /// The response to return to Redshift.
    pub response: Response,
    /// Rows in the batch.
    pub records: usize,
    /// Rows that were record errors.
    pub record_errors: usize,
    /// Record errors by code, for the batch log.
    pub errors_by_code: BTreeMap<&'static str, usize>,
    /// Why the batch failed, when it did.
    pub failure: Option<String>,
}

impl Outcome {
    fn failed(
        info: BatchInfo,
        records: usize,
        errors_by_code: BTreeMap<&'static str, usize>,
        message: String,
    ) -> Self {
        Outcome {
            info,
            response: Response::failure(message.clone()),
            records,
            record_errors: errors_by_code.values().sum(),
            errors_by_code,
            failure: Some(message),
        }
    }
}

/// Handles one Redshift event: the whole Lambda function, minus the runtime. Work must
/// finish by `deadline`. A panic, should one ever escape the decoders, fails this batch
/// with a message (Redshift retries it) and leaves the engine serving the next one.
pub async fn handle(
    engine: &Engine,
    policy: ResponsePolicy,
    event: &str,
    deadline: Option<std::time::Instant>,
) -> Outcome {
    let (info, calls) = match parse_event(event) {
        Ok(parsed) => parsed,
        Err(e) => {
            return Outcome::failed(BatchInfo::default(), 0, BTreeMap::new(), e.to_string());
        }
    };
    let records = calls.len();
    let options = BatchOptions {
        framing: None,
        encoding: payload_encoding(&info, engine.input_encoding()),
        results: ResultForm::Literal,
    };
    let mut response = ResponseBuilder::new(policy, records);
    let decoded =
        AssertUnwindSafe(engine.decode_each(&calls, options, deadline, |row| response.push(row)))
            .catch_unwind()
            .await;
    let errors_by_code = std::mem::take(&mut response.errors_by_code);
    match decoded {
        Ok(Ok(())) => Outcome {
            info,
            response: response.finish(),
            records,
            record_errors: errors_by_code.values().sum(),
            errors_by_code,
            failure: None,
        },
        Ok(Err(e)) => Outcome::failed(info, records, errors_by_code, e.to_string()),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_owned());
            let message = format!(
                "internal error: superdecode panicked while decoding this batch ({what}); \
                 the batch fails so that nothing wrong is stored, and the function keeps serving"
            );
            tracing::error!(%message, "panic");
            Outcome::failed(info, records, errors_by_code, message)
        }
    }
}

/// Builds the `results` of a response row by row, applying the record-error policy and
/// keeping the response under its size limit.
///
/// Space for every row's fallback (the `response_too_large` error object, or `null` under
/// the `null` policy) is reserved up front, so a row whose result does not fit can always
/// be replaced by its fallback, and rows later in the batch still get their share.
struct ResponseBuilder {
    policy: ResponsePolicy,
    results: Results,
    /// Bytes of compact response JSON: what is written, plus the reservation for the rest.
    used: usize,
    /// What a row that does not fit becomes, and its size in the response.
    fallback: Option<String>,
    fallback_len: usize,
    errors_by_code: BTreeMap<&'static str, usize>,
}

impl ResponseBuilder {
    fn new(policy: ResponsePolicy, rows: usize) -> Self {
        // {"success":true,"num_records":N,"results":[ ... ]}, with N-1 commas between rows.
        let frame = r#"{"success":true,"num_records":,"results":[]}"#.len()
            + rows.to_string().len()
            + rows.saturating_sub(1);
        let error = RecordError::new(
            ErrorCode::ResponseTooLarge,
            format!(
                "the result did not fit in the {}-byte response; decode the row again with the VOLATILE function",
                policy.max_response_bytes
            ),
        )
        .to_json_object();
        let error_len = json_text::str_literal(&error).len();
        let mut fallback = match policy.on_error {
            OnError::Null => None,
            OnError::Object | OnError::Fail => Some(error),
        };
        let mut fallback_len = if fallback.is_some() { error_len } else { 4 };
        // With so many rows that even their error objects would not fit, rows that do not
        // fit become NULL instead.
        if frame + rows * fallback_len > policy.max_response_bytes {
            fallback = None;
            fallback_len = 4;
        }
        ResponseBuilder {
            policy,
            // The results' text is at most the response, which is bounded.
            results: Results::with_capacity(rows, policy.max_response_bytes.min(MAX_RESERVED_TEXT)),
            used: frame + rows * fallback_len,
            fallback,
            fallback_len,
            errors_by_code: BTreeMap::new(),
        }
    }

    fn push(&mut self, row: RowView<'_>) -> Result<(), BatchError> {
        let index = self.results.len();
        // Into the response (results come as literals, escaped as they were decoded);
        // taken back if it does not fit.
        let len = match row {
            None => self.results.push(None),
            Some(Ok(literal)) => self.results.push_escaped(literal),
            Some(Err(e)) => {
                let error_object = self.record_error(index, &e)?;
                self.results.push(error_object.as_deref())
            }
        };
        if len <= self.fallback_len
            || self.used + (len - self.fallback_len) <= self.policy.max_response_bytes
        {
            self.used = self.used + len - self.fallback_len;
            return Ok(());
        }
        self.results.pop(len);
        self.count(ErrorCode::ResponseTooLarge);
        if self.policy.on_error == OnError::Fail {
            return Err(BatchError::new(format!(
                "record {index}'s result does not fit in the {}-byte response and SUPERDECODE_ON_ERROR=fail",
                self.policy.max_response_bytes
            )));
        }
        self.results.push(self.fallback.as_deref());
        Ok(())
    }

    /// What a record error gives under the policy; `Err` fails the batch (`fail`).
    fn record_error(
        &mut self,
        index: usize,
        e: &RecordError,
    ) -> Result<Option<String>, BatchError> {
        self.count(e.code);
        match self.policy.on_error {
            OnError::Object => Ok(Some(e.to_json_object())),
            OnError::Null => Ok(None),
            OnError::Fail => Err(BatchError::new(record_failure(index, e))),
        }
    }

    fn count(&mut self, code: ErrorCode) {
        *self.errors_by_code.entry(code.as_str()).or_insert(0) += 1;
    }

    fn finish(self) -> Response {
        Response::Success(self.results)
    }
}

fn record_failure(row: usize, e: &RecordError) -> String {
    format!("record {row} failed to decode ({e}) and SUPERDECODE_ON_ERROR=fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The response is written without a JSON tree, byte for byte as serde_json writes the
    /// tree (compact, keys sorted).
    #[test]
    fn responses_serialize_as_their_json_tree() {
        let rows: Vec<Option<&str>> = vec![
            Some(r#"{"a":"x\"y","b":[1,2]}"#),
            None,
            Some(""),
            Some("\u{1} \u{7f} é 日本 \n\t"),
            Some("{\"_decode_error\":{\"code\":\"invalid_hex\"}}"),
        ];
        let response = Response::Success(Results::from_rows(rows.iter().copied()));
        let tree = serde_json::json!({"success": true, "num_records": rows.len(), "results": rows});
        assert_eq!(response.to_json(), tree.to_string());
        // Any serializer sees the same JSON: the runtime's copies it, a tree parses it.
        assert_eq!(serde_json::to_string(&response).unwrap(), tree.to_string());
        assert_eq!(serde_json::to_value(&response).unwrap(), tree);
        let tree = serde_json::json!({"success": false, "error_msg": "bad \"event\"\n"});
        assert_eq!(
            Response::failure("bad \"event\"\n").to_json(),
            tree.to_string()
        );
        assert_eq!(
            Response::Success(Results::default()).to_json(),
            r#"{"num_records":0,"results":[],"success":true}"#
        );
        // Closing the buffer in place gives the same text, and so does a copy of it.
        let json = response.to_json();
        assert_eq!(response.clone().into_json(), json);
        assert_eq!(response.into_raw_json().get(), json);
    }

    /// Results opened for more rows than were pushed still count the rows they hold.
    #[test]
    fn a_response_counts_the_rows_it_holds() {
        let mut results = Results::with_capacity(3, 0);
        results.push(Some("a"));
        let len = results.push_escaped("\"b\"");
        results.pop(len);
        results.push(None);
        let expected = r#"{"num_records":2,"results":["a",null],"success":true}"#;
        assert_eq!(Response::Success(results.clone()).to_json(), expected);
        assert_eq!(Response::Success(results).into_json(), expected);
    }
}
