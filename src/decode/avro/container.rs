//! Avro object container files as payloads: the record carries its own schema.
//!
//! A file is `Obj\x01`, a metadata map (`avro.schema` holds the writer schema, `avro.codec`
//! the block codec), a 16-byte sync marker, then blocks: a record count, a byte size, that
//! many bytes of records (compressed by the codec), and the sync marker again. The result
//! is a JSON array of the file's records, in order.
//!
//! Codecs: `null` and `deflate` (raw RFC 1951, as the specification says). Every length is
//! checked against the bytes present before anything is sliced; an inflated block may not
//! pass the configured inflation cap; the result may not pass the result-size cap, checked
//! after every record (so a block claiming billions of empty records stops early).

use std::borrow::Cow;

use super::AvroDecoder;
use super::reader::{ReadError, Reader};
use crate::decode::DecodeContext;
use crate::error::{ErrorCode, RecordError};

/// The first four bytes of every container file.
pub const MAGIC: [u8; 4] = *b"Obj\x01";

const SYNC_LEN: usize = 16;

/// A container file's header: what the blocks need.
#[derive(Debug)]
pub struct ContainerHeader<'a> {
    /// The writer schema's JSON text.
    pub schema: &'a str,
    codec: Codec,
    sync: [u8; SYNC_LEN],
    /// Where the first block starts.
    blocks: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    Null,
    Deflate,
}

fn invalid(detail: impl std::fmt::Display) -> RecordError {
    RecordError::new(
        ErrorCode::DecodeFailed,
        format!("not an Avro container file: {detail}"),
    )
}

fn read_error(e: ReadError) -> RecordError {
    RecordError::new(e.code, format!("Avro container file: {}", e.detail))
}

impl<'a> ContainerHeader<'a> {
    /// Reads the header of the container file `file`.
    pub fn read(file: &'a [u8]) -> Result<Self, RecordError> {
        if !file.starts_with(&MAGIC) {
            return Err(invalid("it does not start with Obj\\x01"));
        }
        let mut reader = Reader::new(&file[MAGIC.len()..]);
        let mut schema = None;
        let mut codec = Codec::Null;
        loop {
            let count = reader.block_count().map_err(read_error)?;
            if count == 0 {
                break;
            }
            for _ in 0..count {
                let key = reader.bytes().map_err(read_error)?;
                let value = reader.bytes().map_err(read_error)?;
                match key {
                    b"avro.schema" => {
                        schema = Some(std::str::from_utf8(value).map_err(|e| {
                            RecordError::new(
                                ErrorCode::InvalidUtf8,
                                format!("Avro container file: avro.schema is not UTF-8: {e}"),
                            )
                        })?);
                    }
                    b"avro.codec" => {
                        codec = match value {
                            b"null" => Codec::Null,
                            b"deflate" => Codec::Deflate,
                            other => {
                                return Err(RecordError::new(
                                    ErrorCode::UnsupportedCompression,
                                    format!(
                                        "Avro container file codec {:?} is not supported (null and deflate are)",
                                        String::from_utf8_lossy(other)
                                    ),
                                ));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        let sync = reader.take_array::<SYNC_LEN>().map_err(read_error)?;
        let schema = schema.ok_or_else(|| invalid("its header has no avro.schema"))?;
        Ok(ContainerHeader {
            schema,
            codec,
            sync,
            blocks: MAGIC.len() + reader.position(),
        })
    }

    /// Decodes every record of `file` (whose header this is) with `decoder` (compiled from
    /// the header's schema, or resolving it to a reader), as one JSON array into `out`.
    pub fn decode(
        &self,
        file: &[u8],
        decoder: &AvroDecoder,
        ctx: &DecodeContext,
        max_inflated_bytes: usize,
        out: &mut String,
    ) -> Result<(), RecordError> {
        let mut reader = Reader::new(file.get(self.blocks..).unwrap_or_default());
        let mut index = 0usize;
        let mut inflated_total = 0usize;
        out.push('[');
        while reader.remaining() > 0 {
            let block_start = self.blocks + reader.position();
            let count = reader.long().map_err(read_error)?;
            let size = reader.len().map_err(read_error)?;
            let count = u64::try_from(count).map_err(|_| {
                invalid(format_args!(
                    "block at offset {block_start} has a negative record count {count}"
                ))
            })?;
            let data = reader.take(size).map_err(read_error)?;
            let sync = reader.take_array::<SYNC_LEN>().map_err(read_error)?;
            if sync != self.sync {
                return Err(invalid(format_args!(
                    "the block at offset {block_start} does not end with the file's sync marker"
                )));
            }
            let data = match self.codec {
                Codec::Null => Cow::Borrowed(data),
                Codec::Deflate => {
                    let cap = max_inflated_bytes.saturating_sub(inflated_total);
                    let inflated = inflate(data, cap, max_inflated_bytes)?;
                    inflated_total += inflated.len();
                    Cow::Owned(inflated)
                }
            };
            let mut rest: &[u8] = &data;
            for _ in 0..count {
                if index > 0 {
                    out.push(',');
                }
                let used = decoder.decode_prefix(rest, ctx, out).map_err(|e| {
                    RecordError::new(e.code, format!("record {index}: {}", e.message))
                })?;
                rest = &rest[used..];
                index += 1;
                if out.len() > ctx.max_result_bytes {
                    return Err(RecordError::new(
                        ErrorCode::ResultTooLarge,
                        format!(
                            "JSON result exceeds {} bytes at record {index} of the container file",
                            ctx.max_result_bytes
                        ),
                    ));
                }
            }
            if !rest.is_empty() {
                return Err(RecordError::new(
                    ErrorCode::TrailingBytes,
                    format!(
                        "{} byte(s) left in the block at offset {block_start} after its {count} record(s)",
                        rest.len()
                    ),
                ));
            }
        }
        out.push(']');
        Ok(())
    }
}

/// Inflates one raw-deflate block, refusing to pass `cap` (what is left of the file's
/// inflation budget `total_cap`).
fn inflate(data: &[u8], cap: usize, total_cap: usize) -> Result<Vec<u8>, RecordError> {
    use std::io::Read;
    let mut out = Vec::new();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::DeflateDecoder::new(data)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| {
            RecordError::new(
                ErrorCode::DecompressionFailed,
                format!("Avro container block does not inflate: {e}"),
            )
        })?;
    if out.len() > cap {
        return Err(RecordError::new(
            ErrorCode::DecompressedTooLarge,
            format!("Avro container blocks inflate past the {total_cap}-byte cap"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::JsonOptions;

    /// A container file of `schema` with one block of `count` records in `data`.
    fn file(schema: &str, codec: &str, count: i64, data: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        let zigzag =
            |out: &mut Vec<u8>, v: i64| crate::varint::write(out, crate::varint::zigzag_encode(v));
        zigzag(&mut out, 2);
        for (key, value) in [("avro.schema", schema), ("avro.codec", codec)] {
            zigzag(&mut out, key.len() as i64);
            out.extend_from_slice(key.as_bytes());
            zigzag(&mut out, value.len() as i64);
            out.extend_from_slice(value.as_bytes());
        }
        zigzag(&mut out, 0);
        out.extend_from_slice(&[7; SYNC_LEN]);
        zigzag(&mut out, count);
        zigzag(&mut out, data.len() as i64);
        out.extend_from_slice(data);
        out.extend_from_slice(&[7; SYNC_LEN]);
        out
    }

    fn decode(
        file: &[u8],
        max_result_bytes: usize,
        max_inflated: usize,
    ) -> Result<String, RecordError> {
        let header = ContainerHeader::read(file)?;
        let decoder = AvroDecoder::new(header.schema, &JsonOptions::default()).unwrap();
        let ctx = DecodeContext {
            max_result_bytes,
            ..DecodeContext::default()
        };
        let mut out = String::new();
        header.decode(file, &decoder, &ctx, max_inflated, &mut out)?;
        Ok(out)
    }

    #[test]
    fn a_block_of_billions_of_empty_records_stops_at_the_result_cap() {
        let bomb = file(r#""null""#, "null", 1 << 40, &[]);
        let err = decode(&bomb, 1000, 1 << 20).unwrap_err();
        assert_eq!(err.code, ErrorCode::ResultTooLarge, "{}", err.message);
        assert_eq!(
            decode(&file(r#""null""#, "null", 2, &[]), 1000, 1 << 20).unwrap(),
            "[null,null]"
        );
    }

    #[test]
    fn deflate_blocks_obey_the_inflation_cap() {
        use std::io::Write;
        let zeros = vec![0u8; 1 << 20];
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&zeros).unwrap();
        let compressed = encoder.finish().unwrap();
        // 2^20 `int` zeros: one byte each.
        let file = file(r#""int""#, "deflate", 1 << 20, &compressed);
        let err = decode(&file, usize::MAX, 1 << 16).unwrap_err();
        assert_eq!(err.code, ErrorCode::DecompressedTooLarge, "{}", err.message);
        assert!(decode(&file, usize::MAX, 2 << 20).is_ok());
    }

    #[test]
    fn a_wrong_sync_marker_or_codec_is_an_error() {
        let mut bad = file(r#""int""#, "null", 1, &[2]);
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(
            decode(&bad, 1000, 1000)
                .unwrap_err()
                .message
                .contains("sync marker")
        );
        let snappy = file(r#""int""#, "snappy", 1, &[2]);
        assert_eq!(
            decode(&snappy, 1000, 1000).unwrap_err().code,
            ErrorCode::UnsupportedCompression
        );
        // Records left over in a block: the count and the bytes disagree.
        let extra = file(r#""int""#, "null", 1, &[2, 4]);
        assert_eq!(
            decode(&extra, 1000, 1000).unwrap_err().code,
            ErrorCode::TrailingBytes
        );
    }
}
