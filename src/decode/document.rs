//! What the schemaless binary formats (MessagePack, CBOR) share: a bounds-checked cursor
//! and a JSON writer that enforces the depth and result-size limits.
//!
//! Choices both formats make where JSON cannot hold a value as it is:
//! * binary strings are base64 (or hex, by `--bytes`);
//! * a map key that is not a string becomes its JSON text (`1` → `"1"`, `[1,2]` →
//!   `"[1,2]"`; a binary key its base64 text); keys are written in order, duplicates kept;
//! * NaN and ±Infinity follow `--non-finite`.

use super::{DecodeContext, JsonOptions};
use crate::error::{ErrorCode, RecordError};

/// A cursor over a record's bytes: every length is checked against what remains before
/// anything is sliced.
pub(crate) struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Cursor { data, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub fn rest(&self) -> &'a [u8] {
        &self.data[self.pos..]
    }

    pub fn advance(&mut self, n: usize) -> Result<(), RecordError> {
        self.take(n).map(|_| ())
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], RecordError> {
        if n > self.remaining() {
            return Err(RecordError::new(
                ErrorCode::DecodeFailed,
                format!(
                    "truncated: needed {n} byte(s) at offset {} but only {} remain",
                    self.pos,
                    self.remaining()
                ),
            ));
        }
        let slice = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], RecordError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8, RecordError> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u16(&mut self) -> Result<u16, RecordError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32, RecordError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64, RecordError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A count of items that each take at least `min_item_bytes`: refused when the bytes
    /// left cannot hold them, before anything is reserved.
    pub fn count(&self, count: u64, min_item_bytes: u64, what: &str) -> Result<usize, RecordError> {
        let need = count.saturating_mul(min_item_bytes);
        if need > self.remaining() as u64 {
            return Err(RecordError::new(
                ErrorCode::DecodeFailed,
                format!(
                    "{what} of {count} item(s) at offset {} cannot fit in the {} byte(s) left",
                    self.pos,
                    self.remaining()
                ),
            ));
        }
        Ok(count as usize)
    }
}

/// The JSON side: output, options and limits.
pub(crate) struct Writer<'a> {
    pub out: &'a mut String,
    pub options: &'a JsonOptions,
    max_len: usize,
    max_depth: usize,
    depth: usize,
}

impl<'a> Writer<'a> {
    pub fn new(out: &'a mut String, options: &'a JsonOptions, ctx: &DecodeContext) -> Self {
        Writer {
            out,
            options,
            max_len: ctx.max_result_bytes,
            max_depth: ctx.max_depth.min(super::MAX_SUPPORTED_DEPTH),
            depth: 0,
        }
    }

    /// Enters a container, refusing to pass the depth limit, and checks the size so far.
    pub fn enter(&mut self) -> Result<(), RecordError> {
        super::check_result_size(self.out.len(), self.max_len)?;
        if self.depth >= self.max_depth {
            return Err(RecordError::new(
                ErrorCode::NestingTooDeep,
                format!("nesting deeper than {} levels", self.max_depth),
            ));
        }
        self.depth += 1;
        Ok(())
    }

    pub fn leave(&mut self) {
        self.depth -= 1;
    }

    pub fn check_size(&self) -> Result<(), RecordError> {
        super::check_result_size(self.out.len(), self.max_len)
    }

    /// Refuses a value of `len` input bytes whose text would pass the result cap.
    pub fn ensure_room(&self, len: usize) -> Result<(), RecordError> {
        if self.out.len().saturating_add(len) > self.max_len {
            return Err(RecordError::new(
                ErrorCode::ResultTooLarge,
                format!("JSON result exceeds {} bytes", self.max_len),
            ));
        }
        Ok(())
    }

    pub fn string(&mut self, bytes: &[u8]) -> Result<(), RecordError> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            RecordError::new(
                ErrorCode::InvalidUtf8,
                format!("a string is not UTF-8: {e}"),
            )
        })?;
        self.ensure_room(text.len())?;
        crate::json_text::push_str_literal(self.out, text);
        Ok(())
    }

    pub fn bytes(&mut self, bytes: &[u8]) -> Result<(), RecordError> {
        self.ensure_room(bytes.len())?;
        crate::json_text::push_bytes(self.out, bytes, self.options.bytes);
        Ok(())
    }

    pub fn f64(&mut self, v: f64) {
        crate::json_text::push_f64(self.out, v, self.options.non_finite);
    }

    pub fn f32(&mut self, v: f32) {
        crate::json_text::push_f32(self.out, v, self.options.non_finite);
    }

    /// Makes the JSON text written since `mark` a map key: a string stays as it is,
    /// anything else becomes a string holding its text.
    pub fn key_from(&mut self, mark: usize) {
        if self.out.as_bytes().get(mark) == Some(&b'"') {
            return;
        }
        let text = self.out.split_off(mark);
        crate::json_text::push_str_literal(self.out, &text);
    }

    /// A UTC timestamp of `secs` and `nanos` (`nanos` < 10^9), as ISO-8601 with `Z`.
    pub fn timestamp(&mut self, secs: i64, nanos: u32) -> Result<(), RecordError> {
        let value =
            i64::try_from(i128::from(secs) * 1_000_000_000 + i128::from(nanos)).map_err(|_| {
                RecordError::new(
                    ErrorCode::DecodeFailed,
                    format!("timestamp {secs} s is outside the years 1678-2262"),
                )
            })?;
        self.out.push('"');
        super::time::push_timestamp(self.out, value, super::time::Unit::Nanos, true);
        self.out.push('"');
        Ok(())
    }
}

/// The error for bytes left after the one top-level value.
pub(crate) fn trailing(format: &str, cursor: &Cursor<'_>) -> RecordError {
    RecordError::new(
        ErrorCode::TrailingBytes,
        format!(
            "{} byte(s) left after the {format} value ended at offset {}",
            cursor.remaining(),
            cursor.position()
        ),
    )
}
