//! Avro object container files as payloads (`Obj\x01`): the payload is a whole file that
//! carries its writer schema, so there is no schema ID and no registry call. The header
//! here only recognises the file; `decode::avro::container` reads it.

use super::{Compression, Envelope, FrameError, Framer, Header, KnownIds, WireFormat};
use crate::decode::MessageSelector;
use crate::decode::avro::container::MAGIC;
use crate::error::{ErrorCode, RecordError};

/// An Avro object container file.
pub struct ObjectContainer;

impl Envelope for ObjectContainer {
    fn sniff(&self, bytes: &[u8]) -> bool {
        bytes.starts_with(&MAGIC)
    }

    fn header(&self, bytes: &[u8]) -> Result<Header, RecordError> {
        if !bytes.starts_with(&MAGIC) {
            return Err(RecordError::new(
                ErrorCode::UnknownHeader,
                format!(
                    "an Avro container file starts with 4f626a01 (Obj\\x01), found {}",
                    hex::encode(&bytes[..bytes.len().min(4)])
                ),
            ));
        }
        Ok(Header {
            wire: WireFormat::Ocf,
            schema_id: None,
            len: 0,
            compression: Compression::None,
        })
    }

    fn message_selector(&self) -> MessageSelector {
        MessageSelector::Configured
    }

    fn framer(&self, _ids: &KnownIds, _compression: Compression) -> Result<Framer, FrameError> {
        Err(FrameError::NotEncodable(
            "Avro container files (write them with an Avro library)",
        ))
    }
}
