//! The two classes of failure, and how each reaches Redshift.
//!
//! * A [`RecordError`] comes from the bytes of one record. It never fails a batch on its
//!   own: the error policy turns it into an error object, a SQL NULL, or (only when asked)
//!   a batch failure.
//! * A [`BatchError`] means the environment cannot be trusted (registry unreachable, schema
//!   missing, deadline passed, ...). It always fails the batch, so that nothing wrong is
//!   materialized and the refresh can be retried.
//!
//! Each layer has its own typed error for what can go wrong in it (a schema that does not
//! compile, a malformed event, a document that does not encode); where such an error fails
//! a batch it becomes the [`source`](std::error::Error::source) of a [`BatchError`].

use std::fmt;
use std::sync::Arc;

/// Stable machine-readable codes for record errors. They appear in
/// `{"_decode_error":{"code":...}}` and are a contract: SQL dead-letter views match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorCode {
    /// The argument is not hex text, or has an odd number of digits.
    InvalidHex,
    /// The argument is not base64 text (payloads read as base64).
    InvalidBase64,
    /// Auto-detection found no Glue, Confluent or Avro single-object header.
    UnknownHeader,
    /// The payload ends inside its header.
    ShortHeader,
    /// A Glue header names a compression other than none (0x00) or zlib (0x05).
    UnsupportedCompression,
    /// The zlib stream is corrupt or truncated.
    DecompressionFailed,
    /// The zlib stream inflates past the configured cap.
    DecompressedTooLarge,
    /// The schema ID in the header is not known to the registry.
    SchemaNotFound,
    /// The body does not match its schema (truncated, bad varint, out-of-range index, ...).
    DecodeFailed,
    /// The record decoded, but bytes are left over after it.
    TrailingBytes,
    /// A `string` holds invalid UTF-8.
    InvalidUtf8,
    /// A Protobuf message index (from a header or the stream config) names no message.
    InvalidMessageIndex,
    /// A JSON-format record is not valid JSON.
    InvalidJson,
    /// The JSON result is larger than the configured maximum.
    ResultTooLarge,
    /// A stream, registry or schema argument is NULL while the payload is not.
    InvalidArgument,
    /// The record nests deeper than the configured maximum depth.
    NestingTooDeep,
    /// The row's result did not fit in the response under Lambda's response-size limit.
    ResponseTooLarge,
    /// The record's writer schema does not resolve to the configured reader schema (a
    /// field without a default, a type that does not promote, an enum symbol or union
    /// branch the reader lacks).
    SchemaIncompatible,
}

impl ErrorCode {
    /// The code as it appears in error objects (`decode_failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidHex => "invalid_hex",
            ErrorCode::InvalidBase64 => "invalid_base64",
            ErrorCode::UnknownHeader => "unknown_header",
            ErrorCode::ShortHeader => "short_header",
            ErrorCode::UnsupportedCompression => "unsupported_compression",
            ErrorCode::DecompressionFailed => "decompression_failed",
            ErrorCode::DecompressedTooLarge => "decompressed_too_large",
            ErrorCode::SchemaNotFound => "schema_not_found",
            ErrorCode::DecodeFailed => "decode_failed",
            ErrorCode::TrailingBytes => "trailing_bytes",
            ErrorCode::InvalidUtf8 => "invalid_utf8",
            ErrorCode::InvalidMessageIndex => "invalid_message_index",
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::ResultTooLarge => "result_too_large",
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::NestingTooDeep => "nesting_too_deep",
            ErrorCode::ResponseTooLarge => "response_too_large",
            ErrorCode::SchemaIncompatible => "schema_incompatible",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure caused by the bytes of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// What exactly failed, for people.
    pub message: String,
}

impl RecordError {
    /// A record error of kind `code`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        RecordError {
            code,
            message: message.into(),
        }
    }

    /// The error object that stands in for the record: `{"_decode_error":{"code","message"}}`.
    pub fn to_json_object(&self) -> String {
        serde_json::json!({
            "_decode_error": {"code": self.code.as_str(), "message": self.message}
        })
        .to_string()
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for RecordError {}

/// A failure of the environment (registry, configuration, deadline): fails the batch.
///
/// Its text is the whole message (the `error_msg` of a failed response), cause included;
/// [`source`](std::error::Error::source) gives the typed cause, when there is one.
#[derive(Debug, Clone)]
pub struct BatchError {
    message: String,
    transient: bool,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl BatchError {
    /// A batch failure described by `message`.
    pub fn new(message: impl Into<String>) -> Self {
        BatchError {
            message: message.into(),
            transient: false,
            source: None,
        }
    }

    /// A batch failure caused by `source`: the message is `"{context}: {source}"`.
    pub fn caused_by(
        context: impl fmt::Display,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        BatchError {
            message: format!("{context}: {source}"),
            transient: false,
            source: Some(Arc::new(source)),
        }
    }

    /// A failure that may pass if the call is made again: throttling, a 5xx answer, a
    /// timeout, a dropped connection. Registry lookups retry these with backoff.
    pub fn transient(message: impl Into<String>) -> Self {
        BatchError {
            transient: true,
            ..BatchError::new(message)
        }
    }

    /// Whether asking again may succeed (see [`BatchError::transient`]).
    pub fn is_transient(&self) -> bool {
        self.transient
    }
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BatchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl PartialEq for BatchError {
    fn eq(&self, other: &Self) -> bool {
        self.message == other.message && self.transient == other.transient
    }
}

impl Eq for BatchError {}
