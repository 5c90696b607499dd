//! Avro single-object encoding: `C3 01`, the schema's 8-byte little-endian CRC-64-AVRO
//! fingerprint, then the body.

use super::{Compression, Header, SchemaId, Unframe, WireFormat, short_header};
use crate::error::{ErrorCode, RecordError};

/// Avro single-object encoding: `C3 01`, an 8-byte little-endian fingerprint.
pub struct SingleObject;

const MAGIC: [u8; 2] = [0xc3, 0x01];
const HEADER_LEN: usize = 10;

impl Unframe for SingleObject {
    fn sniff(bytes: &[u8]) -> bool {
        bytes.starts_with(&MAGIC)
    }

    fn header(bytes: &[u8]) -> Result<Header, RecordError> {
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
}

/// Frames `body` with the single-object header for a schema `fingerprint`.
pub fn frame(fingerprint: u64, body: &[u8]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&fingerprint.to_le_bytes());
    out.extend_from_slice(body);
    out
}
