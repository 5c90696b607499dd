//! Confluent Schema Registry framing: `00`, then the schema ID as a 4-byte big-endian
//! integer, then the body. For Protobuf the body starts with the message-index array,
//! which the Protobuf decoder reads, since only it knows the data format.

use super::{
    Compression, Envelope, FrameError, Framer, Header, KnownIds, SchemaId, WireFormat, short_header,
};
use crate::decode::MessageSelector;
use crate::error::{ErrorCode, RecordError};

/// Confluent framing: `00`, a 4-byte big-endian schema ID.
pub struct Confluent;

const MAGIC: u8 = 0x00;
const HEADER_LEN: usize = 5;

impl Envelope for Confluent {
    fn sniff(&self, bytes: &[u8]) -> bool {
        bytes.first() == Some(&MAGIC)
    }

    fn header(&self, bytes: &[u8]) -> Result<Header, RecordError> {
        if bytes.len() < HEADER_LEN {
            return Err(short_header("Confluent", HEADER_LEN, bytes.len()));
        }
        if bytes[0] != MAGIC {
            return Err(RecordError::new(
                ErrorCode::UnknownHeader,
                format!(
                    "Confluent framing must start with 00, found {:02x}",
                    bytes[0]
                ),
            ));
        }
        let id = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
        Ok(Header {
            wire: WireFormat::Confluent,
            schema_id: Some(SchemaId::Confluent(id)),
            len: HEADER_LEN,
            compression: Compression::None,
        })
    }

    fn message_selector(&self) -> MessageSelector {
        MessageSelector::ConfluentPath
    }

    /// The body, for Protobuf, starts with its message indexes (the encoder writes them).
    fn framer(&self, ids: &KnownIds, compression: Compression) -> Result<Framer, FrameError> {
        if compression != Compression::None {
            return Err(FrameError::Compression("Confluent"));
        }
        let id = ids.confluent.ok_or(FrameError::MissingId(
            "Confluent ID (ids.json \"confluent\")",
        ))?;
        let mut header = vec![MAGIC];
        header.extend_from_slice(&id.to_be_bytes());
        Ok(Framer {
            header,
            compression,
        })
    }
}
