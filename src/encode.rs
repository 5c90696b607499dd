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
    pub fn new(
        definition: &SchemaDefinition,
        framing: Framing,
        zlib: bool,
        message: Option<String>,
        options: &JsonOptions,
    ) -> Result<Self, String> {
        let name = format!(
            "schema '{}' version {} in registry '{}'",
            definition.schema, definition.version, definition.registry
        );
        let body = match definition.format {
            DataFormat::Avro => Body::Avro(AvroDecoder::new(&definition.text, options)?),
            DataFormat::Protobuf => {
                Body::Protobuf(ProtobufDecoder::new(&definition.text, options)?)
            }
            DataFormat::Json => Body::Json,
        };
        if zlib && framing != Framing::Glue {
            return Err("--zlib applies only to --framing glue".into());
        }
        let (wire, header) = match framing {
            Framing::Raw => (WireFormat::Raw, Header::None),
            Framing::Glue => {
                let version = definition
                    .glue_id
                    .ok_or_else(|| format!("{name} has no Glue version ID (ids.json \"glue\")"))?;
                (WireFormat::Glue, Header::Glue { version, zlib })
            }
            Framing::Confluent => {
                let id = definition.confluent_id.ok_or_else(|| {
                    format!("{name} has no Confluent ID (ids.json \"confluent\")")
                })?;
                (WireFormat::Confluent, Header::Confluent(id))
            }
            Framing::Soe => {
                if definition.format != DataFormat::Avro {
                    return Err("single-object encoding is for Avro schemas only".into());
                }
                let fingerprint = canonical::fingerprint(&definition.text)?;
                (WireFormat::SingleObject, Header::SingleObject(fingerprint))
            }
            Framing::Auto => {
                return Err("choose a framing to encode: raw, glue, confluent or soe".into());
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
    pub fn encode(&self, json: &str) -> Result<Vec<u8>, String> {
        let body = match &self.body {
            Body::Avro(avro) => {
                let value = crate::json_text::ExactJson::parse(json)
                    .map_err(|e| format!("not JSON: {e}"))?;
                avro.encode(&value)?
            }
            Body::Protobuf(protobuf) => {
                protobuf.encode(json, self.message.as_deref(), self.wire)?
            }
            Body::Json => {
                serde_json::from_str::<serde::de::IgnoredAny>(json)
                    .map_err(|e| format!("not JSON: {e}"))?;
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
