//! AWS Glue Schema Registry framing: `03`, a compression byte, the 16-byte schema version
//! UUID (big-endian), then the body, zlib-compressed when the compression byte is `05`.

use super::{
    Compression, Envelope, FrameError, Framer, Header, KnownIds, SchemaId, WireFormat, short_header,
};
use crate::decode::MessageSelector;
use crate::error::{ErrorCode, RecordError};

/// The Glue header: `03`, a compression byte, a 16-byte schema version UUID.
pub struct Glue;

const MAGIC: u8 = 0x03;
const NO_COMPRESSION: u8 = 0x00;
const ZLIB: u8 = 0x05;
const HEADER_LEN: usize = 18;

impl Envelope for Glue {
    fn sniff(&self, bytes: &[u8]) -> bool {
        bytes.first() == Some(&MAGIC)
    }

    fn header(&self, bytes: &[u8]) -> Result<Header, RecordError> {
        if bytes.len() < HEADER_LEN {
            return Err(short_header("Glue", HEADER_LEN, bytes.len()));
        }
        if bytes[0] != MAGIC {
            return Err(RecordError::new(
                ErrorCode::UnknownHeader,
                format!("Glue header must start with 03, found {:02x}", bytes[0]),
            ));
        }
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(&bytes[2..HEADER_LEN]);
        let compression = match bytes[1] {
            NO_COMPRESSION => Compression::None,
            ZLIB => Compression::Zlib,
            other => {
                return Err(RecordError::new(
                    ErrorCode::UnsupportedCompression,
                    format!("Glue compression byte {other:02x} is neither 00 (none) nor 05 (zlib)"),
                ));
            }
        };
        Ok(Header {
            wire: WireFormat::Glue,
            schema_id: Some(SchemaId::Glue(uuid::Uuid::from_bytes(uuid))),
            len: HEADER_LEN,
            compression,
        })
    }

    fn message_selector(&self) -> MessageSelector {
        MessageSelector::GlueIndex
    }

    fn framer(&self, ids: &KnownIds, compression: Compression) -> Result<Framer, FrameError> {
        let version = ids
            .glue
            .ok_or(FrameError::MissingId("Glue version ID (ids.json \"glue\")"))?;
        let mut header = vec![
            MAGIC,
            match compression {
                Compression::None => NO_COMPRESSION,
                Compression::Zlib => ZLIB,
            },
        ];
        header.extend_from_slice(version.as_bytes());
        Ok(Framer {
            header,
            compression,
        })
    }
}
