//! Wire formats: which framing a payload uses, which schema ID it carries, and where the
//! record body starts.
//!
//! | format | bytes | schema ID |
//! |---|---|---|
//! | Glue | `03`, compression (`00` none, `05` zlib), 16-byte version UUID, body | UUID |
//! | Confluent | `00`, 4-byte big-endian ID, body (Protobuf: message indexes first) | integer |
//! | Avro single-object | `C3 01`, 8-byte little-endian CRC-64-AVRO fingerprint, body | fingerprint |
//! | raw | body | none: the schema is assumed from the stream |
//!
//! Each format is a small module implementing [`Unframe`]. Auto-detection is used only for
//! `(hex)` calls and `--framing auto`: raw Avro often begins with `00` (a null union branch,
//! a zero), so a stream configured as raw is never sniffed.

pub mod confluent;
pub mod glue;
pub mod soe;

use std::borrow::Cow;

use crate::error::{ErrorCode, RecordError};

pub use confluent::Confluent;
pub use glue::Glue;
pub use soe::SingleObject;

/// The framing a caller expects (`--framing`, a stream's configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Framing {
    /// Detect Glue, Confluent or single-object framing from the first bytes.
    #[default]
    Auto,
    /// No header: the schema comes from the stream.
    Raw,
    /// AWS Glue Schema Registry header.
    Glue,
    /// Confluent Schema Registry framing.
    Confluent,
    /// Avro single-object encoding.
    Soe,
}

/// The framing a payload turned out to have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireFormat {
    Raw,
    Glue,
    Confluent,
    SingleObject,
}

/// A schema ID carried in a frame. IDs are global: they resolve across every registry a
/// schema source knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SchemaId {
    /// A Glue schema version ID.
    Glue(uuid::Uuid),
    /// A Confluent schema ID.
    Confluent(u32),
    /// A CRC-64-AVRO fingerprint of the schema's Parsing Canonical Form.
    AvroFingerprint(u64),
}

impl std::fmt::Display for SchemaId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SchemaId::Glue(id) => write!(f, "Glue schema version {id}"),
            SchemaId::Confluent(id) => write!(f, "Confluent schema ID {id}"),
            SchemaId::AvroFingerprint(fp) => write!(f, "Avro fingerprint {fp:016x}"),
        }
    }
}

/// A payload with its frame removed.
#[derive(Debug)]
pub struct Frame<'a> {
    pub wire: WireFormat,
    /// `None` for raw payloads.
    pub schema_id: Option<SchemaId>,
    /// The record body; owned only when it had to be decompressed.
    pub body: Cow<'a, [u8]>,
}

/// Limits that protect unframing from hostile input.
#[derive(Debug, Clone, Copy)]
pub struct FrameLimits {
    /// Largest body a compressed Glue payload may inflate to.
    pub max_inflated_bytes: usize,
}

/// One wire format.
pub trait Unframe {
    /// Whether `bytes` start with this format's magic bytes (for auto-detection).
    fn sniff(bytes: &[u8]) -> bool;
    /// Splits a payload of this format into schema ID and body.
    fn unframe<'a>(bytes: &'a [u8], limits: &FrameLimits) -> Result<Frame<'a>, RecordError>;
}

/// Removes the frame the caller expects, or detects it when `framing` is `Auto`.
pub fn unframe<'a>(
    bytes: &'a [u8],
    framing: Framing,
    limits: &FrameLimits,
) -> Result<Frame<'a>, RecordError> {
    match framing {
        Framing::Raw => Ok(Frame {
            wire: WireFormat::Raw,
            schema_id: None,
            body: Cow::Borrowed(bytes),
        }),
        Framing::Glue => Glue::unframe(bytes, limits),
        Framing::Confluent => Confluent::unframe(bytes, limits),
        Framing::Soe => SingleObject::unframe(bytes, limits),
        Framing::Auto if Glue::sniff(bytes) => Glue::unframe(bytes, limits),
        Framing::Auto if Confluent::sniff(bytes) => Confluent::unframe(bytes, limits),
        Framing::Auto if SingleObject::sniff(bytes) => SingleObject::unframe(bytes, limits),
        Framing::Auto => Err(RecordError::new(
            ErrorCode::UnknownHeader,
            format!(
                "no Glue (03), Confluent (00) or Avro single-object (c301) header; payload starts {}: \
                 for raw records call the function with a stream name",
                preview(bytes)
            ),
        )),
    }
}

/// Decodes `to_hex()` text (either case) to bytes.
pub fn decode_hex(text: &str) -> Result<Vec<u8>, RecordError> {
    hex::decode(text).map_err(|e| {
        let detail = match e {
            hex::FromHexError::OddLength => format!("odd number of hex digits ({})", text.len()),
            hex::FromHexError::InvalidHexCharacter { c, index } => {
                format!("invalid hex character {c:?} at position {index}")
            }
            hex::FromHexError::InvalidStringLength => "invalid length".to_owned(),
        };
        RecordError::new(ErrorCode::InvalidHex, detail)
    })
}

/// The first bytes of a payload in hex, for error messages.
fn preview(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "(empty)".to_owned();
    }
    let shown = &bytes[..bytes.len().min(8)];
    let more = if bytes.len() > shown.len() { "…" } else { "" };
    format!("{}{more}", hex::encode(shown))
}

fn short_header(format: &str, needed: usize, got: usize) -> RecordError {
    RecordError::new(
        ErrorCode::ShortHeader,
        format!("{format} header needs {needed} bytes but the payload has {got}"),
    )
}

#[cfg(test)]
mod tests;
