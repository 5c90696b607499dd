//! JSON → framed binary, for crafting test payloads: `superdecode encode`.
//!
//! The body is encoded with the schema's own format (Avro over the decoder's compiled
//! tree, Protobuf through prost-reflect's ProtoJSON reader, JSON as given), then framed as
//! asked: raw, Glue (optionally zlib), Confluent, or Avro single-object. Whatever
//! `superdecode decode` writes, `encode` reads back, so a round trip returns the input.

use crate::decode::{CompileError, JsonOptions, RecordEncoder, SchemaText, compile_encoder};
use crate::frame::{Compression, FrameError, Framer, WireFormat};
use crate::schema::SchemaDefinition;

/// Why a document cannot be encoded, or an encoder built.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The schema does not compile.
    #[error(transparent)]
    Schema(#[from] CompileError),
    /// `--zlib` with a framing other than Glue.
    #[error("--zlib applies only to --framing glue")]
    ZlibNeedsGlue,
    /// The wire format cannot frame this schema version's records.
    #[error("{schema} {source}")]
    Frame {
        /// The schema version.
        schema: String,
        /// What the wire format lacks.
        #[source]
        source: FrameError,
    },
    /// The document does not encode under the schema.
    #[error(transparent)]
    Document(#[from] crate::decode::EncodeError),
}

/// Encodes JSON documents for one schema version and wire format.
pub struct Encoder {
    body: Box<dyn RecordEncoder>,
    wire: WireFormat,
    framer: Framer,
    message: Option<String>,
}

impl Encoder {
    /// An encoder for `definition`'s records, framed as `wire` (zlib-compressed when
    /// `zlib`, Glue only); `message` picks a Protobuf message.
    pub fn new(
        definition: &SchemaDefinition,
        wire: WireFormat,
        zlib: bool,
        message: Option<String>,
        options: &JsonOptions,
    ) -> Result<Self, EncodeError> {
        let schema = SchemaText {
            text: &definition.text,
            imports: &definition.imports,
        };
        let body = compile_encoder(definition.format, schema, options)?;
        let compression = if zlib {
            Compression::Zlib
        } else {
            Compression::None
        };
        let framer = wire
            .framer(&definition.known_ids(), compression)
            .map_err(|e| match e {
                FrameError::Compression(_) => EncodeError::ZlibNeedsGlue,
                source => EncodeError::Frame {
                    schema: definition.to_string(),
                    source,
                },
            })?;
        Ok(Encoder {
            body,
            wire,
            framer,
            message,
        })
    }

    /// Encodes one JSON document into a framed payload.
    pub fn encode(&self, json: &str) -> Result<Vec<u8>, EncodeError> {
        let body = self
            .body
            .encode(json, self.message.as_deref(), self.wire.message_selector())?;
        Ok(self.framer.frame(&body))
    }
}
