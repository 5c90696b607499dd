//! A bounds-checked cursor over Avro binary data. Every length read from the input is
//! checked against the bytes that remain before anything is sliced or allocated.

use crate::error::ErrorCode;
use crate::varint::{self, VarintError};

/// Why a read failed, before the field path is attached.
#[derive(Debug)]
pub struct ReadError {
    pub code: ErrorCode,
    pub detail: String,
}

impl ReadError {
    pub fn invalid(detail: impl Into<String>) -> Self {
        ReadError {
            code: ErrorCode::DecodeFailed,
            detail: detail.into(),
        }
    }
}

pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn truncated(&self, wanted: usize) -> ReadError {
        ReadError::invalid(format!(
            "truncated: needed {wanted} byte(s) at offset {} but only {} remain",
            self.pos,
            self.remaining()
        ))
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], ReadError> {
        if n > self.remaining() {
            return Err(self.truncated(n));
        }
        let slice = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    pub fn take_array<const N: usize>(&mut self) -> Result<[u8; N], ReadError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// A zig-zag varint `long` (at most 10 bytes).
    pub fn long(&mut self) -> Result<i64, ReadError> {
        let start = self.pos;
        match varint::read(&self.buf[self.pos..]) {
            Ok((value, len)) => {
                self.pos += len;
                Ok(varint::zigzag_decode(value))
            }
            Err(VarintError::Truncated) => {
                self.pos = self.buf.len();
                Err(self.truncated(1))
            }
            Err(VarintError::TooLong) => {
                self.pos = (start + varint::MAX_LEN).min(self.buf.len());
                Err(ReadError::invalid(format!(
                    "varint at offset {start} is longer than 64 bits"
                )))
            }
        }
    }

    /// A zig-zag varint `int`: a `long` that must fit in 32 bits.
    pub fn int(&mut self) -> Result<i32, ReadError> {
        let start = self.pos;
        let v = self.long()?;
        i32::try_from(v)
            .map_err(|_| ReadError::invalid(format!("int at offset {start} is out of range: {v}")))
    }

    /// A length or count: a `long` that must be non-negative.
    pub fn len(&mut self) -> Result<usize, ReadError> {
        let start = self.pos;
        let v = self.long()?;
        usize::try_from(v)
            .map_err(|_| ReadError::invalid(format!("negative length {v} at offset {start}")))
    }

    /// Length-prefixed `bytes` or `string` contents.
    pub fn bytes(&mut self) -> Result<&'a [u8], ReadError> {
        let n = self.len()?;
        self.take(n)
    }

    pub fn boolean(&mut self) -> Result<bool, ReadError> {
        let start = self.pos;
        match self.take(1)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(ReadError::invalid(format!(
                "boolean at offset {start} is {b}, not 0 or 1"
            ))),
        }
    }

    pub fn float(&mut self) -> Result<f32, ReadError> {
        Ok(f32::from_le_bytes(self.take_array()?))
    }

    pub fn double(&mut self) -> Result<f64, ReadError> {
        Ok(f64::from_le_bytes(self.take_array()?))
    }

    /// The item count of the next array or map block; 0 ends the sequence. A negative count
    /// is followed by the block's size in bytes, which we read and ignore.
    pub fn block_count(&mut self) -> Result<usize, ReadError> {
        let start = self.pos;
        let count = self.long()?;
        if count >= 0 {
            return usize::try_from(count)
                .map_err(|_| ReadError::invalid(format!("block count {count} at offset {start}")));
        }
        let _byte_size = self.len()?;
        count
            .checked_neg()
            .and_then(|c| usize::try_from(c).ok())
            .ok_or_else(|| ReadError::invalid(format!("block count {count} at offset {start}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_varints() {
        let mut r = Reader::new(&[0x00, 0x01, 0x02, 0x7f, 0x80, 0x01]);
        assert_eq!(r.long().unwrap(), 0);
        assert_eq!(r.long().unwrap(), -1);
        assert_eq!(r.long().unwrap(), 1);
        assert_eq!(r.long().unwrap(), -64);
        assert_eq!(r.long().unwrap(), 64);
        assert_eq!(r.remaining(), 0);
        let max = [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(Reader::new(&max).long().unwrap(), i64::MAX);
        let min = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(Reader::new(&min).long().unwrap(), i64::MIN);
    }

    #[test]
    fn overlong_and_truncated_varints_fail() {
        assert!(Reader::new(&[0xff; 11]).long().is_err());
        assert!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02])
                .long()
                .is_err()
        );
        assert!(Reader::new(&[0x80]).long().is_err());
        assert!(Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x10]).int().is_err());
    }

    #[test]
    fn lengths_are_checked_before_slicing() {
        // Claims 2^62 bytes with only one present.
        let mut r = Reader::new(&[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00]);
        let err = r.bytes().unwrap_err();
        assert!(err.detail.contains("truncated"), "{}", err.detail);
        assert!(
            Reader::new(&[0x01])
                .bytes()
                .unwrap_err()
                .detail
                .contains("negative")
        );
    }

    #[test]
    fn negative_block_counts_skip_the_size() {
        let mut r = Reader::new(&[0x03, 0x08]);
        assert_eq!(r.block_count().unwrap(), 2);
        assert_eq!(r.remaining(), 0);
        let min = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00,
        ];
        assert!(Reader::new(&min).block_count().is_err());
    }
}
