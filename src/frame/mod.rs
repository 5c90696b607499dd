//! Wire formats: which envelope a payload has, which schema ID it carries, and where the
//! record body starts.
//!
//! | format | bytes | schema ID |
//! |---|---|---|
//! | Glue | `03`, compression (`00` none, `05` zlib), 16-byte version UUID, body | UUID |
//! | Confluent | `00`, 4-byte big-endian ID, body (Protobuf: message indexes first) | integer |
//! | Avro single-object | `C3 01`, 8-byte little-endian CRC-64-AVRO fingerprint, body | fingerprint |
//! | raw | body | none: the schema is assumed from the stream |
//! | Avro object container file | `Obj\x01`, metadata with the writer schema, blocks of records | none: the file carries its schema |
//!
//! Each format is one module implementing [`Envelope`]: it recognises its magic bytes,
//! reads its header, says where a record names its Protobuf message, and frames bodies
//! for `encode`. A new wire format is that module, a [`WireFormat`] variant and its arm in
//! `WireFormat::envelope`.
//!
//! Headers are read alone: the body of a compressed payload is inflated later, by
//! [`Header::body`], when the row is decoded, so that a batch holds at most one inflated
//! body at a time. Auto-detection is used only for `(hex)` calls and `--framing auto`: raw
//! Avro often begins with `00` (a null union branch, a zero), so a stream configured as
//! raw is never sniffed.

pub(crate) mod confluent;
pub(crate) mod glue;
pub(crate) mod ocf;
pub(crate) mod raw;
pub(crate) mod soe;

use std::borrow::Cow;

use clap::ValueEnum;

use crate::decode::MessageSelector;
use crate::error::{ErrorCode, RecordError};

/// A wire format: the envelope around a record body. Its CLI and JSON names are `raw`,
/// `glue`, `confluent` and `soe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WireFormat {
    /// No header: the schema comes from the stream.
    Raw,
    /// AWS Glue Schema Registry header.
    Glue,
    /// Confluent Schema Registry framing.
    Confluent,
    /// Avro single-object encoding.
    #[value(name = "soe")]
    #[serde(rename = "soe")]
    SingleObject,
    /// Avro object container file: the payload is a whole file, with its own schema.
    Ocf,
}

impl WireFormat {
    /// The module that implements this format.
    fn envelope(self) -> &'static dyn Envelope {
        match self {
            WireFormat::Raw => &raw::Raw,
            WireFormat::Glue => &glue::Glue,
            WireFormat::Confluent => &confluent::Confluent,
            WireFormat::SingleObject => &soe::SingleObject,
            WireFormat::Ocf => &ocf::ObjectContainer,
        }
    }

    /// Reads the header of a payload of this format.
    pub fn header(self, bytes: &[u8]) -> Result<Header, RecordError> {
        self.envelope().header(bytes)
    }

    /// Where a record of this wire format says which message of a multi-message schema
    /// (Protobuf) it is: Glue and Confluent frames put a message index in front of the body.
    pub fn message_selector(self) -> MessageSelector {
        self.envelope().message_selector()
    }

    /// Frames bodies of the schema version known by `ids` in this format, optionally
    /// compressed (the `encode` command).
    pub fn framer(self, ids: &KnownIds, compression: Compression) -> Result<Framer, FrameError> {
        self.envelope().framer(ids, compression)
    }

    /// The format whose magic bytes `bytes` start with, if any.
    fn detect(bytes: &[u8]) -> Option<WireFormat> {
        WireFormat::value_variants()
            .iter()
            .copied()
            .find(|wire| wire.envelope().sniff(bytes))
    }
}

/// The framing a caller expects (`--framing`, a stream's `framing`): one wire format, or
/// detection from the first bytes. Its CLI and JSON names are `auto` and the wire formats'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Framing {
    /// Detect Glue, Confluent or single-object framing from the first bytes.
    #[default]
    Auto,
    /// Payloads have this wire format.
    Fixed(WireFormat),
}

/// JSON configuration uses the CLI names, so the one list of them is `value_variants`.
impl<'de> serde::Deserialize<'de> for Framing {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Framing::from_str(&name, false).map_err(|_| {
            let names: Vec<String> = Framing::value_variants()
                .iter()
                .filter_map(|f| f.to_possible_value())
                .map(|v| format!("`{}`", v.get_name()))
                .collect();
            serde::de::Error::custom(format!(
                "unknown framing `{name}`, expected one of {}",
                names.join(", ")
            ))
        })
    }
}

impl clap::ValueEnum for Framing {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            Framing::Auto,
            Framing::Fixed(WireFormat::Raw),
            Framing::Fixed(WireFormat::Glue),
            Framing::Fixed(WireFormat::Confluent),
            Framing::Fixed(WireFormat::SingleObject),
            Framing::Fixed(WireFormat::Ocf),
        ]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        match self {
            Framing::Auto => Some(
                clap::builder::PossibleValue::new("auto")
                    .help("Detect Glue, Confluent or single-object framing from the first bytes"),
            ),
            Framing::Fixed(wire) => wire.to_possible_value(),
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

/// The IDs one schema version is known by, from which each wire format takes its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KnownIds {
    /// The Glue schema version ID.
    pub glue: Option<uuid::Uuid>,
    /// The Confluent schema ID.
    pub confluent: Option<u32>,
    /// The CRC-64-AVRO fingerprint (Avro schemas only).
    pub avro_fingerprint: Option<u64>,
}

/// Why bodies cannot be framed in a wire format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The schema version has no ID of the kind the format carries.
    #[error("has no {0}")]
    MissingId(&'static str),
    /// The format cannot carry a compressed body.
    #[error("{0} framing cannot carry a compressed body")]
    Compression(&'static str),
    /// `encode` does not write this format.
    #[error("encode does not write {0}")]
    NotEncodable(&'static str),
}

/// Frames record bodies for one schema version and wire format: a fixed header, then the
/// body, compressed when the header says so.
#[derive(Debug, Clone)]
pub struct Framer {
    header: Vec<u8>,
    compression: Compression,
}

impl Framer {
    /// The framed payload of `body`.
    pub fn frame(&self, body: &[u8]) -> Vec<u8> {
        let mut out = self.header.clone();
        match self.compression {
            Compression::None => out.extend_from_slice(body),
            Compression::Zlib => {
                let mut encoder =
                    flate2::write::ZlibEncoder::new(out, flate2::Compression::default());
                // Writing to a Vec cannot fail; `finish` only flushes into it.
                let _ = std::io::Write::write_all(&mut encoder, body);
                out = encoder.finish().unwrap_or_default();
            }
        }
        out
    }
}

/// One wire format's envelope. Each implementation is a unit struct in its own module.
pub trait Envelope: Sync {
    /// Whether `bytes` start with this format's magic bytes (for auto-detection).
    fn sniff(&self, bytes: &[u8]) -> bool;
    /// Reads the header of a payload of this format.
    fn header(&self, bytes: &[u8]) -> Result<Header, RecordError>;
    /// Where a record in this format says which Protobuf message it is.
    fn message_selector(&self) -> MessageSelector;
    /// The framer for a schema version known by `ids`.
    fn framer(&self, ids: &KnownIds, compression: Compression) -> Result<Framer, FrameError>;
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
    let wire = match framing {
        Framing::Fixed(wire) => wire,
        Framing::Auto => WireFormat::detect(bytes).ok_or_else(|| {
            RecordError::new(
                ErrorCode::UnknownHeader,
                format!(
                    "no Glue (03), Confluent (00), Avro single-object (c301) or container-file (Obj\\x01) header; payload starts {}: \
                     for raw records call the function with a stream name",
                    preview(bytes)
                ),
            )
        })?,
    };
    wire.header(bytes)
}

/// How payloads are written as text in a call's arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, clap::ValueEnum)]
pub enum PayloadEncoding {
    /// `to_hex()` text, either case: two characters per byte.
    #[default]
    Hex,
    /// Standard base64 (`+`, `/`; padding optional), as from
    /// `FROM_VARBYTE(data, 'base64')`: four characters per three bytes.
    Base64,
}

/// Standard alphabet; padding optional, since producers differ on it.
const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

impl PayloadEncoding {
    /// Decodes `text` into `out`, replacing its contents and reusing its allocation.
    pub fn decode_into(self, text: &str, out: &mut Vec<u8>) -> Result<(), RecordError> {
        match self {
            PayloadEncoding::Hex => decode_hex_into(text, out),
            PayloadEncoding::Base64 => {
                use base64::Engine as _;
                out.clear();
                BASE64.decode_vec(text, out).map_err(|e| {
                    out.clear();
                    RecordError::new(ErrorCode::InvalidBase64, format!("not base64: {e}"))
                })
            }
        }
    }

    /// Decodes just the start of `text`, enough for `head` (whose length must be a
    /// multiple of 3), and returns the bytes decoded: a header can be read without decoding
    /// the whole payload.
    pub fn decode_prefix<'h>(
        self,
        text: &str,
        head: &'h mut [u8],
    ) -> Result<&'h [u8], RecordError> {
        let chars = match self {
            PayloadEncoding::Hex => 2 * head.len(),
            PayloadEncoding::Base64 => head.len() / 3 * 4,
        };
        // The whole text when it is that short; else whole groups of characters, so that
        // the prefix of valid text is valid text and decodes to exactly `head`.
        let prefix = if text.len() <= chars {
            text
        } else {
            text.get(..chars).unwrap_or_default()
        };
        match self {
            PayloadEncoding::Hex => {
                let head = &mut head[..prefix.len() / 2];
                // Pass 2 decodes the whole text and words its error; here any invalid
                // prefix is enough to fail the row.
                hex_to_slice(prefix, head).map_err(|_| {
                    RecordError::new(ErrorCode::InvalidHex, "invalid hex in the header")
                })?;
                Ok(head)
            }
            PayloadEncoding::Base64 => {
                use base64::Engine as _;
                let n = BASE64.decode_slice(prefix, head).map_err(|e| {
                    RecordError::new(ErrorCode::InvalidBase64, format!("not base64: {e}"))
                })?;
                Ok(&head[..n])
            }
        }
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
    hex_to_slice(text, out).map_err(|e| {
        out.clear();
        hex_error(text, e)
    })
}

/// Decodes hex text into `out`, exactly `text.len() / 2` bytes: the one hex decoder of
/// the crate. The SIMD decoder does the work; on invalid text (or a disagreement, which
/// the tests rule out) the `hex` crate decides and says where the text goes wrong.
fn hex_to_slice(text: &str, out: &mut [u8]) -> Result<(), hex::FromHexError> {
    if faster_hex::hex_decode(text.as_bytes(), out).is_ok() {
        return Ok(());
    }
    hex::decode_to_slice(text, out)
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
