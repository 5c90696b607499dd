//! Base-128 varints and zig-zag integers, as both Avro and Protobuf encode them.
//!
//! One rule for every reader: a varint is at most 10 bytes, and its 10th byte may only
//! carry the 64th bit (`0x00` or `0x01`); anything longer or larger is rejected, as
//! Avro's specification and Protobuf's reference decoders require.

/// The most bytes a 64-bit varint takes.
pub(crate) const MAX_LEN: usize = 10;

/// Why a varint could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VarintError {
    /// The data ends before the varint does.
    Truncated,
    /// The varint is longer than 10 bytes, or its value longer than 64 bits.
    TooLong,
}

/// Reads the varint at the start of `data`: its value and how many bytes it took.
#[inline]
pub(crate) fn read(data: &[u8]) -> Result<(u64, usize), VarintError> {
    let mut value = 0u64;
    for (i, &byte) in data.iter().enumerate().take(MAX_LEN) {
        if i == MAX_LEN - 1 && byte > 1 {
            return Err(VarintError::TooLong);
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err(if data.len() < MAX_LEN {
        VarintError::Truncated
    } else {
        VarintError::TooLong
    })
}

/// Appends `n` as a varint.
#[inline]
pub(crate) fn write(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Zig-zag: maps signed to unsigned so that small magnitudes stay short (0, -1, 1, -2 →
/// 0, 1, 2, 3).
#[inline]
pub(crate) fn zigzag_encode(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// The inverse of [`zigzag_encode`].
#[inline]
pub(crate) fn zigzag_decode(v: u64) -> i64 {
    (v >> 1) as i64 ^ -((v & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for v in [
            0,
            1,
            -1,
            63,
            -64,
            64,
            i64::from(i32::MAX),
            i64::MAX,
            i64::MIN,
        ] {
            let mut out = Vec::new();
            write(&mut out, zigzag_encode(v));
            assert!(out.len() <= MAX_LEN);
            assert_eq!(read(&out), Ok((zigzag_encode(v), out.len())));
            assert_eq!(zigzag_decode(zigzag_encode(v)), v);
        }
        let mut out = Vec::new();
        write(&mut out, u64::MAX);
        assert_eq!(out.len(), MAX_LEN);
        assert_eq!(read(&out), Ok((u64::MAX, MAX_LEN)));
    }

    #[test]
    fn the_tenth_byte_carries_only_the_64th_bit() {
        let mut ten = [0xff; MAX_LEN];
        ten[9] = 0x01;
        assert_eq!(read(&ten), Ok((u64::MAX, MAX_LEN)));
        // An overlong 10th byte: more than 64 bits, rejected even without a continuation.
        for last in [0x02, 0x7f, 0x81] {
            ten[9] = last;
            assert_eq!(read(&ten), Err(VarintError::TooLong), "{last:#x}");
        }
        assert_eq!(read(&[0xff; 11]), Err(VarintError::TooLong));
        assert_eq!(read(&[0x80, 0x80]), Err(VarintError::Truncated));
        assert_eq!(read(&[]), Err(VarintError::Truncated));
    }
}
