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
//! Each format is a small module implementing [`Unframe`], which reads the header alone:
//! the body of a compressed payload is inflated later, by [`Header::body`], when the row is
//! decoded, so that a batch holds at most one inflated body at a time. Auto-detection is used only for
//! `(hex)` calls and `--framing auto`: raw Avro often begins with `00` (a null union branch,
//! a zero), so a stream configured as raw is never sniffed.

pub(crate) mod confluent;
pub(crate) mod glue;
pub(crate) mod soe;

use std::borrow::Cow;

use crate::decode::MessageSelector;
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
    /// No header.
    Raw,
    /// The AWS Glue Schema Registry header.
    Glue,
    /// Confluent Schema Registry framing.
    Confluent,
    /// Avro single-object encoding.
    SingleObject,
}

impl WireFormat {
    /// Where a record of this wire format says which message of a multi-message schema
    /// (Protobuf) it is: Glue and Confluent frames put a message index in front of the body.
    pub fn message_selector(self) -> MessageSelector {
        match self {
            WireFormat::Glue => MessageSelector::GlueIndex,
            WireFormat::Confluent => MessageSelector::ConfluentPath,
            WireFormat::Raw | WireFormat::SingleObject => MessageSelector::Configured,
        }
    }
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

/// How the body after a header is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Not compressed.
    None,
    /// zlib (Glue compression byte `05`).
    Zlib,
}

/// What a payload's header says: its wire format, schema ID, and where the body starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The wire format the header belongs to.
    pub wire: WireFormat,
    /// `None` for raw payloads.
    pub schema_id: Option<SchemaId>,
    /// Header length: the body starts at this offset.
    pub len: usize,
    /// How the body is compressed.
    pub compression: Compression,
}

impl Header {
    fn raw() -> Self {
        Header {
            wire: WireFormat::Raw,
            schema_id: None,
            len: 0,
            compression: Compression::None,
        }
    }

    /// The record body of `payload` (whose header this is), inflated when compressed.
    pub fn body<'a>(
        &self,
        payload: &'a [u8],
        limits: &FrameLimits,
    ) -> Result<Cow<'a, [u8]>, RecordError> {
        let rest = payload.get(self.len..).unwrap_or_default();
        match self.compression {
            Compression::None => Ok(Cow::Borrowed(rest)),
            Compression::Zlib => Ok(Cow::Owned(inflate(rest, limits.max_inflated_bytes)?)),
        }
    }
}

/// A payload with its frame removed.
#[derive(Debug)]
pub struct Frame<'a> {
    /// The wire format the payload had.
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
    /// Reads the header of a payload of this format.
    fn header(bytes: &[u8]) -> Result<Header, RecordError>;
}

/// Removes the frame the caller expects, or detects it when `framing` is `Auto`.
pub fn unframe<'a>(
    bytes: &'a [u8],
    framing: Framing,
    limits: &FrameLimits,
) -> Result<Frame<'a>, RecordError> {
    let header = read_header(bytes, framing)?;
    Ok(Frame {
        wire: header.wire,
        schema_id: header.schema_id,
        body: header.body(bytes, limits)?,
    })
}

/// Reads the header the caller expects, or detects it when `framing` is `Auto`. The body
/// is not touched: [`Header::body`] inflates it when needed.
pub fn read_header(bytes: &[u8], framing: Framing) -> Result<Header, RecordError> {
    match framing {
        Framing::Raw => Ok(Header::raw()),
        Framing::Glue => Glue::header(bytes),
        Framing::Confluent => Confluent::header(bytes),
        Framing::Soe => SingleObject::header(bytes),
        Framing::Auto if Glue::sniff(bytes) => Glue::header(bytes),
        Framing::Auto if Confluent::sniff(bytes) => Confluent::header(bytes),
        Framing::Auto if SingleObject::sniff(bytes) => SingleObject::header(bytes),
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
    let mut out = Vec::new();
    decode_hex_into(text, &mut out)?;
    Ok(out)
}

/// Decodes `to_hex()` text (either case) into `out`, replacing its contents and reusing
/// its allocation.
pub fn decode_hex_into(text: &str, out: &mut Vec<u8>) -> Result<(), RecordError> {
    out.clear();
    if !text.len().is_multiple_of(2) {
        return Err(hex_error(text, hex::FromHexError::OddLength));
    }
    out.resize(text.len() / 2, 0);
    hex::decode_to_slice(text, out).map_err(|e| {
        out.clear();
        hex_error(text, e)
    })
}

fn hex_error(text: &str, e: hex::FromHexError) -> RecordError {
    let detail = match e {
        hex::FromHexError::OddLength => format!("odd number of hex digits ({})", text.len()),
        hex::FromHexError::InvalidHexCharacter { c, index } => {
            format!("invalid hex character {c:?} at position {index}")
        }
        hex::FromHexError::InvalidStringLength => "invalid length".to_owned(),
    };
    RecordError::new(ErrorCode::InvalidHex, detail)
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

/// Inflates a zlib stream, reading at most one byte past `cap` so that a decompression
/// bomb costs no more than the cap.
fn inflate(data: &[u8], cap: usize) -> Result<Vec<u8>, RecordError> {
    use std::io::Read;
    let mut out = Vec::new();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    let mut decoder = flate2::read::ZlibDecoder::new(data).take(limit);
    decoder.read_to_end(&mut out).map_err(|e| {
        RecordError::new(
            ErrorCode::DecompressionFailed,
            format!("zlib body does not inflate: {e}"),
        )
    })?;
    if out.len() > cap {
        return Err(RecordError::new(
            ErrorCode::DecompressedTooLarge,
            format!("zlib body inflates past the {cap}-byte cap"),
        ));
    }
    Ok(out)
}

fn short_header(format: &str, needed: usize, got: usize) -> RecordError {
    RecordError::new(
        ErrorCode::ShortHeader,
        format!("{format} header needs {needed} bytes but the payload has {got}"),
    )
}

#[cfg(test)]
mod tests;
