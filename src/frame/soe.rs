//! Avro single-object encoding: `C3 01`, the schema's 8-byte little-endian CRC-64-AVRO
//! fingerprint, then the body.

use super::{
    Compression, Envelope, FrameError, Framer, Header, KnownIds, SchemaId, WireFormat, short_header,
};
use crate::decode::MessageSelector;
use crate::error::{ErrorCode, RecordError};

/// Avro single-object encoding: `C3 01`, an 8-byte little-endian fingerprint.
pub struct SingleObject;

const MAGIC: [u8; 2] = [0xc3, 0x01];
const HEADER_LEN: usize = 10;

impl Envelope for SingleObject {
    fn sniff(&self, bytes: &[u8]) -> bool {
        bytes.starts_with(&MAGIC)
    }

    fn header(&self, bytes: &[u8]) -> Result<Header, RecordError> {
        if !bytes.starts_with(&MAGIC) && bytes.len() >= MAGIC.len() {
            return Err(RecordError::new(
                ErrorCode::UnknownHeader,
                format!(
                    "Avro single-object encoding must start with c301, found {}",
                    hex::encode(&bytes[..2])
                ),
            ));
        }
        if bytes.len() < HEADER_LEN {
            return Err(short_header("Avro single-object", HEADER_LEN, bytes.len()));
        }
        let mut fingerprint = [0u8; 8];
        fingerprint.copy_from_slice(&bytes[2..HEADER_LEN]);
        Ok(Header {
            wire: WireFormat::SingleObject,
            schema_id: Some(SchemaId::AvroFingerprint(u64::from_le_bytes(fingerprint))),
            len: HEADER_LEN,
            compression: Compression::None,
        })
    }

    fn message_selector(&self) -> MessageSelector {
        MessageSelector::Configured
    }

    fn framer(&self, ids: &KnownIds, compression: Compression) -> Result<Framer, FrameError> {
        if compression != Compression::None {
            return Err(FrameError::Compression("Avro single-object"));
        }
        let fingerprint = ids.avro_fingerprint.ok_or(FrameError::MissingId(
            "Avro fingerprint: single-object encoding is for Avro schemas only",
        ))?;
        let mut header = MAGIC.to_vec();
        header.extend_from_slice(&fingerprint.to_le_bytes());
        Ok(Framer {
            header,
            compression,
        })
    }
}
