//! JSON → framed binary, for crafting test payloads: `superdecode encode`.
//!
//! The body is encoded with the schema's own format (Avro over the decoder's compiled
//! tree, Protobuf through prost-reflect's ProtoJSON reader, JSON as given), then framed as
//! asked: raw, Glue (optionally zlib), Confluent, or Avro single-object. Whatever
//! `superdecode decode` writes, `encode` reads back, so a round trip returns the input.

use crate::decode::avro::{AvroDecoder, canonical};
use crate::decode::protobuf::ProtobufDecoder;
use crate::decode::{DataFormat, JsonOptions};
use crate::frame::{Framing, WireFormat, confluent, glue, soe};
use crate::schema::SchemaDefinition;

/// Why a document cannot be encoded, or an encoder built.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The schema does not compile.
    #[error(transparent)]
    Schema(#[from] crate::decode::CompileError),
    /// `--zlib` with a framing other than Glue.
    #[error("--zlib applies only to --framing glue")]
    ZlibNeedsGlue,
    /// Glue framing for a schema version whose Glue ID is unknown.
    #[error("{0} has no Glue version ID (ids.json \"glue\")")]
    NoGlueId(String),
    /// Confluent framing for a schema version whose Confluent ID is unknown.
    #[error("{0} has no Confluent ID (ids.json \"confluent\")")]
    NoConfluentId(String),
    /// Single-object encoding for a schema that is not Avro.
    #[error("single-object encoding is for Avro schemas only")]
    SingleObjectNeedsAvro,
    /// `--framing auto`.
    #[error("choose a framing to encode: raw, glue, confluent or soe")]
    NoFraming,
    /// The document is not JSON.
    #[error("not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// The document does not fit the Avro schema.
    #[error(transparent)]
    Avro(#[from] crate::decode::avro::EncodeError),
    /// The document does not fit the Protobuf message.
    #[error(transparent)]
    Protobuf(#[from] crate::decode::protobuf::EncodeError),
}

enum Body {
    Avro(AvroDecoder),
    Protobuf(ProtobufDecoder),
    Json,
}

/// Encodes JSON documents for one schema version and framing.
pub struct Encoder {
    body: Body,
    wire: WireFormat,
    header: Header,
    message: Option<String>,
}

enum Header {
    None,
    Glue { version: uuid::Uuid, zlib: bool },
    Confluent(u32),
    SingleObject(u64),
}

impl Encoder {
    /// An encoder for `definition`'s records, framed as `framing` (optionally zlib-compressed, Glue only); `message` picks a Protobuf message.
    pub fn new(
        definition: &SchemaDefinition,
        framing: Framing,
        zlib: bool,
        message: Option<String>,
        options: &JsonOptions,
    ) -> Result<Self, EncodeError> {
        let body = match definition.format {
            DataFormat::Avro => Body::Avro(
                AvroDecoder::new(&definition.text, options)
                    .map_err(crate::decode::CompileError::from)?,
            ),
            DataFormat::Protobuf => Body::Protobuf(
                ProtobufDecoder::new(&definition.text, options)
                    .map_err(crate::decode::CompileError::from)?,
            ),
            DataFormat::Json => Body::Json,
        };
        if zlib && framing != Framing::Glue {
            return Err(EncodeError::ZlibNeedsGlue);
        }
        let (wire, header) = match framing {
            Framing::Raw => (WireFormat::Raw, Header::None),
            Framing::Glue => {
                let version = definition
                    .glue_id
                    .ok_or_else(|| EncodeError::NoGlueId(definition.to_string()))?;
                (WireFormat::Glue, Header::Glue { version, zlib })
            }
            Framing::Confluent => {
                let id = definition
                    .confluent_id
                    .ok_or_else(|| EncodeError::NoConfluentId(definition.to_string()))?;
                (WireFormat::Confluent, Header::Confluent(id))
            }
            Framing::Soe => {
                if definition.format != DataFormat::Avro {
                    return Err(EncodeError::SingleObjectNeedsAvro);
                }
                let fingerprint = canonical::fingerprint(&definition.text)
                    .map_err(crate::decode::CompileError::from)?;
                (WireFormat::SingleObject, Header::SingleObject(fingerprint))
            }
            Framing::Auto => {
                return Err(EncodeError::NoFraming);
            }
        };
        Ok(Encoder {
            body,
            wire,
            header,
            message,
        })
    }

    /// Encodes one JSON document into a framed payload.
    pub fn encode(&self, json: &str) -> Result<Vec<u8>, EncodeError> {
        let body = match &self.body {
            Body::Avro(avro) => {
                let value =
                    crate::json_text::ExactJson::parse(json).map_err(EncodeError::NotJson)?;
                avro.encode(&value)?
            }
            Body::Protobuf(protobuf) => {
                protobuf.encode(json, self.message.as_deref(), self.wire.message_selector())?
            }
            Body::Json => {
                serde_json::from_str::<serde::de::IgnoredAny>(json)
                    .map_err(EncodeError::NotJson)?;
                json.trim().as_bytes().to_vec()
            }
        };
        Ok(match self.header {
            Header::None => body,
            Header::Glue { version, zlib } => glue::frame(version, &body, zlib),
            Header::Confluent(id) => confluent::frame(id, &body),
            Header::SingleObject(fingerprint) => soe::frame(fingerprint, &body),
        })
    }
}
