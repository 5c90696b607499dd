//! MessagePack → JSON text, with no schema (the `msgpack` stream format).
//!
//! `rmp` names each marker byte; lengths and values are read here through a bounded
//! cursor. The mapping, beyond what every schemaless format shares (see `document`):
//!
//! | MessagePack | JSON |
//! |---|---|
//! | nil, bool, int (all widths), float 32/64 | null, bool, exact integer, shortest round-trip number |
//! | str | string (must be UTF-8) |
//! | bin | base64 (or hex) |
//! | array, map | array, object |
//! | timestamp (ext −1: 32, 64 or 96 bit) | ISO-8601 UTC with `Z`, nanosecond digits |
//! | other ext types | `{"type": N, "data": "<base64>"}` |

use rmp::Marker;

use super::document::{Cursor, Writer, trailing};
use super::{DecodeContext, JsonOptions, RecordDecoder};
use crate::error::{ErrorCode, RecordError};

/// Decodes MessagePack records.
pub struct MsgPackDecoder {
    options: JsonOptions,
}

impl MsgPackDecoder {
    /// A decoder writing JSON under `options`.
    pub fn new(options: &JsonOptions) -> Self {
        MsgPackDecoder {
            options: options.clone(),
        }
    }
}

impl RecordDecoder for MsgPackDecoder {
    fn decode(
        &self,
        body: &[u8],
        ctx: &DecodeContext,
        out: &mut String,
    ) -> Result<(), RecordError> {
        let mut cursor = Cursor::new(body);
        let mut writer = Writer::new(out, &self.options, ctx);
        value(&mut cursor, &mut writer)?;
        if cursor.remaining() > 0 {
            return Err(trailing("MessagePack", &cursor));
        }
        // The last container's closing bracket comes after its last size check.
        writer.check_size()
    }
}

fn invalid(detail: String) -> RecordError {
    RecordError::new(ErrorCode::DecodeFailed, detail)
}

fn value(c: &mut Cursor<'_>, w: &mut Writer<'_>) -> Result<(), RecordError> {
    let start = c.position();
    let marker = Marker::from_u8(c.u8()?);
    use crate::json_text::push_int;
    match marker {
        Marker::FixPos(n) => push_int(w.out, n),
        Marker::FixNeg(n) => push_int(w.out, n),
        Marker::Null => w.out.push_str("null"),
        Marker::True => w.out.push_str("true"),
        Marker::False => w.out.push_str("false"),
        Marker::U8 => push_int(w.out, c.u8()?),
        Marker::U16 => push_int(w.out, c.u16()?),
        Marker::U32 => push_int(w.out, c.u32()?),
        Marker::U64 => push_int(w.out, c.u64()?),
        Marker::I8 => push_int(w.out, c.u8()? as i8),
        Marker::I16 => push_int(w.out, c.u16()? as i16),
        Marker::I32 => push_int(w.out, c.u32()? as i32),
        Marker::I64 => push_int(w.out, c.u64()? as i64),
        Marker::F32 => w.f32(f32::from_bits(c.u32()?)),
        Marker::F64 => w.f64(f64::from_bits(c.u64()?)),
        Marker::FixStr(n) => w.string(c.take(usize::from(n))?)?,
        Marker::Str8 => {
            let n = c.u8()?;
            w.string(c.take(usize::from(n))?)?
        }
        Marker::Str16 => {
            let n = c.u16()?;
            w.string(c.take(usize::from(n))?)?
        }
        Marker::Str32 => {
            let n = c.u32()?;
            w.string(c.take(n as usize)?)?
        }
        Marker::Bin8 => {
            let n = c.u8()?;
            w.bytes(c.take(usize::from(n))?)?
        }
        Marker::Bin16 => {
            let n = c.u16()?;
            w.bytes(c.take(usize::from(n))?)?
        }
        Marker::Bin32 => {
            let n = c.u32()?;
            w.bytes(c.take(n as usize)?)?
        }
        Marker::FixArray(n) => array(c, w, u64::from(n))?,
        Marker::Array16 => {
            let n = c.u16()?;
            array(c, w, u64::from(n))?
        }
        Marker::Array32 => {
            let n = c.u32()?;
            array(c, w, u64::from(n))?
        }
        Marker::FixMap(n) => map(c, w, u64::from(n))?,
        Marker::Map16 => {
            let n = c.u16()?;
            map(c, w, u64::from(n))?
        }
        Marker::Map32 => {
            let n = c.u32()?;
            map(c, w, u64::from(n))?
        }
        Marker::FixExt1 => ext(c, w, 1)?,
        Marker::FixExt2 => ext(c, w, 2)?,
        Marker::FixExt4 => ext(c, w, 4)?,
        Marker::FixExt8 => ext(c, w, 8)?,
        Marker::FixExt16 => ext(c, w, 16)?,
        Marker::Ext8 => {
            let n = c.u8()?;
            ext(c, w, usize::from(n))?
        }
        Marker::Ext16 => {
            let n = c.u16()?;
            ext(c, w, usize::from(n))?
        }
        Marker::Ext32 => {
            let n = c.u32()?;
            ext(c, w, n as usize)?
        }
        Marker::Reserved => {
            return Err(invalid(format!(
                "byte c1 at offset {start} is never used in MessagePack"
            )));
        }
    }
    Ok(())
}

fn array(c: &mut Cursor<'_>, w: &mut Writer<'_>, count: u64) -> Result<(), RecordError> {
    let count = c.count(count, 1, "an array")?;
    w.enter()?;
    w.out.push('[');
    for i in 0..count {
        if i > 0 {
            w.out.push(',');
        }
        value(c, w)?;
        w.check_size()?;
    }
    w.out.push(']');
    w.leave();
    Ok(())
}

fn map(c: &mut Cursor<'_>, w: &mut Writer<'_>, count: u64) -> Result<(), RecordError> {
    let count = c.count(count, 2, "a map")?;
    w.enter()?;
    w.out.push('{');
    for i in 0..count {
        if i > 0 {
            w.out.push(',');
        }
        let mark = w.out.len();
        value(c, w)?;
        w.key_from(mark);
        w.out.push(':');
        value(c, w)?;
        w.check_size()?;
    }
    w.out.push('}');
    w.leave();
    Ok(())
}

fn ext(c: &mut Cursor<'_>, w: &mut Writer<'_>, len: usize) -> Result<(), RecordError> {
    let kind = c.u8()? as i8;
    let start = c.position();
    let data = c.take(len)?;
    if kind == -1 {
        let (secs, nanos) = match data.len() {
            4 => (
                i64::from(u32::from_be_bytes([data[0], data[1], data[2], data[3]])),
                0,
            ),
            8 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(data);
                let v = u64::from_be_bytes(b);
                ((v & 0x3_ffff_ffff) as i64, (v >> 34) as u32)
            }
            12 => {
                let nanos = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[4..]);
                (i64::from_be_bytes(b), nanos)
            }
            n => {
                return Err(invalid(format!(
                    "a timestamp at offset {start} has {n} bytes, not 4, 8 or 12"
                )));
            }
        };
        if nanos >= 1_000_000_000 {
            return Err(invalid(format!(
                "a timestamp at offset {start} has {nanos} nanoseconds"
            )));
        }
        return w.timestamp(secs, nanos);
    }
    w.out.push_str("{\"type\":");
    crate::json_text::push_int(w.out, kind);
    w.out.push_str(",\"data\":");
    w.bytes(data)?;
    w.out.push('}');
    Ok(())
}
