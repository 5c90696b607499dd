//! Raw payloads: no header at all. The schema is assumed from the stream, so a raw payload
//! is never detected: it is only ever what a caller configures.

use super::{Compression, Envelope, FrameError, Framer, Header, KnownIds, WireFormat};
use crate::decode::MessageSelector;
use crate::error::RecordError;

/// No envelope: the payload is the body.
pub struct Raw;

impl Envelope for Raw {
    fn sniff(&self, _bytes: &[u8]) -> bool {
        false
    }

    fn header(&self, _bytes: &[u8]) -> Result<Header, RecordError> {
        Ok(Header {
            wire: WireFormat::Raw,
            schema_id: None,
            len: 0,
            compression: Compression::None,
        })
    }

    fn message_selector(&self) -> MessageSelector {
        MessageSelector::Configured
    }

    fn framer(&self, _ids: &KnownIds, compression: Compression) -> Result<Framer, FrameError> {
        if compression != Compression::None {
            return Err(FrameError::Compression("raw"));
        }
        Ok(Framer {
            header: Vec::new(),
            compression,
        })
    }
}
