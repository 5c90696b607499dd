//! AWS Glue Schema Registry framing: `03`, a compression byte, the 16-byte schema version
//! UUID (big-endian), then the body, zlib-compressed when the compression byte is `05`.

use super::{Compression, Header, SchemaId, Unframe, WireFormat, short_header};
use crate::error::{ErrorCode, RecordError};

/// The Glue header: `03`, a compression byte, a 16-byte schema version UUID.
pub struct Glue;

const MAGIC: u8 = 0x03;
const NO_COMPRESSION: u8 = 0x00;
const ZLIB: u8 = 0x05;
const HEADER_LEN: usize = 18;

impl Unframe for Glue {
    fn sniff(bytes: &[u8]) -> bool {
        bytes.first() == Some(&MAGIC)
    }

    fn header(bytes: &[u8]) -> Result<Header, RecordError> {
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
}

/// Frames `body` with a Glue header for schema version `version`, zlib-compressed when
/// `zlib` (the `encode` command).
pub fn frame(version: uuid::Uuid, body: &[u8], zlib: bool) -> Vec<u8> {
    let mut out = vec![MAGIC, if zlib { ZLIB } else { NO_COMPRESSION }];
    out.extend_from_slice(version.as_bytes());
    if zlib {
        let mut encoder = flate2::write::ZlibEncoder::new(out, flate2::Compression::default());
        // Writing to a Vec cannot fail.
        let _ = std::io::Write::write_all(&mut encoder, body);
        return encoder.finish().unwrap_or_default();
    }
    out.extend_from_slice(body);
    out
}
