//! CBOR → JSON text, with no schema (the `cbor` stream format).
//!
//! `ciborium-ll` reads each item's head (major type, argument); contents are read here
//! through a bounded cursor. The mapping, beyond what every schemaless format shares (see
//! `document`):
//!
//! | CBOR | JSON |
//! |---|---|
//! | unsigned and negative integers | exact integers (to −2^64) |
//! | half, single, double floats | shortest round-trip number |
//! | byte strings (definite or chunked) | base64 (or hex) |
//! | text strings (definite or chunked) | string (each chunk UTF-8) |
//! | arrays, maps (definite or indefinite) | array, object |
//! | false, true, null, undefined | false, true, null, null |
//! | other simple values | `{"simple": N}` |
//! | tag 0 (date/time text) | the text |
//! | tag 1 (epoch seconds, integer or float) | ISO-8601 UTC with `Z` |
//! | tags 2, 3 (bignums) | exact integers (at most 256 bytes) |
//! | tag 4 (decimal fraction `[e, m]`) | the exact number m × 10^e (\|e\| ≤ 1000) |
//! | any other tag | the tagged item, the tag dropped |

use ciborium_ll::{Decoder, Header};
use num_bigint::{BigInt, Sign};

use super::document::{Cursor, Writer, trailing};
use super::{DecodeContext, JsonOptions, RecordDecoder};
use crate::error::{ErrorCode, RecordError};

/// Longest bignum (in bytes) decoded, as for Avro decimals.
const MAX_BIGNUM_BYTES: usize = 256;
/// Largest decimal-fraction exponent, as for Avro decimal scales.
const MAX_EXPONENT: u64 = 1000;

/// Decodes CBOR records.
pub struct CborDecoder {
    options: JsonOptions,
}

impl CborDecoder {
    /// A decoder writing JSON under `options`.
    pub fn new(options: &JsonOptions) -> Self {
        CborDecoder {
            options: options.clone(),
        }
    }
}

impl RecordDecoder for CborDecoder {
    fn decode(
        &self,
        body: &[u8],
        ctx: &DecodeContext,
        out: &mut String,
    ) -> Result<(), RecordError> {
        let mut cursor = Cursor::new(body);
        let mut writer = Writer::new(out, &self.options, ctx);
        let head = pull(&mut cursor)?;
        value(&mut cursor, &mut writer, head)?;
        if cursor.remaining() > 0 {
            return Err(trailing("CBOR", &cursor));
        }
        // The last container's closing bracket comes after its last size check.
        writer.check_size()
    }
}

fn invalid(detail: impl Into<String>) -> RecordError {
    RecordError::new(ErrorCode::DecodeFailed, detail)
}

/// The next item's head.
fn pull(c: &mut Cursor<'_>) -> Result<Header, RecordError> {
    let start = c.position();
    let mut decoder = Decoder::from(c.rest());
    let header = decoder.pull().map_err(|_| {
        invalid(format!(
            "a CBOR item head at offset {start} is truncated or invalid"
        ))
    })?;
    let used = decoder.offset();
    c.advance(used)?;
    Ok(header)
}

/// A definite length, checked against the bytes left.
fn length(c: &Cursor<'_>, len: usize, what: &str) -> Result<usize, RecordError> {
    c.count(len as u64, 1, what)
}

/// The contents of a byte or text string, its chunks joined when it is chunked.
fn string_bytes<'a>(
    c: &mut Cursor<'a>,
    len: Option<usize>,
    text: bool,
) -> Result<std::borrow::Cow<'a, [u8]>, RecordError> {
    if let Some(len) = len {
        let len = length(c, len, "a string")?;
        return Ok(std::borrow::Cow::Borrowed(c.take(len)?));
    }
    let mut joined = Vec::new();
    loop {
        match pull(c)? {
            Header::Break => return Ok(std::borrow::Cow::Owned(joined)),
            Header::Bytes(Some(n)) if !text => {
                let n = length(c, n, "a chunk")?;
                joined.extend_from_slice(c.take(n)?);
            }
            Header::Text(Some(n)) if text => {
                let n = length(c, n, "a chunk")?;
                let chunk = c.take(n)?;
                std::str::from_utf8(chunk).map_err(|e| {
                    RecordError::new(
                        ErrorCode::InvalidUtf8,
                        format!("a text chunk is not UTF-8: {e}"),
                    )
                })?;
                joined.extend_from_slice(chunk);
            }
            other => {
                return Err(invalid(format!(
                    "a chunked string holds {other:?}, not a chunk of its own type"
                )));
            }
        }
    }
}

fn value(c: &mut Cursor<'_>, w: &mut Writer<'_>, head: Header) -> Result<(), RecordError> {
    use crate::json_text::push_int;
    match head {
        Header::Positive(n) => push_int(w.out, n),
        Header::Negative(n) => push_int(w.out, -1 - i128::from(n)),
        Header::Float(f) => w.f64(f),
        Header::Simple(20) => w.out.push_str("false"),
        Header::Simple(21) => w.out.push_str("true"),
        Header::Simple(22 | 23) => w.out.push_str("null"),
        Header::Simple(n) => {
            w.out.push_str("{\"simple\":");
            push_int(w.out, n);
            w.out.push('}');
        }
        Header::Break => {
            return Err(invalid(format!(
                "a break at offset {} ends nothing",
                c.position()
            )));
        }
        Header::Bytes(len) => {
            let data = string_bytes(c, len, false)?;
            w.bytes(&data)?;
        }
        Header::Text(len) => {
            let data = string_bytes(c, len, true)?;
            w.string(&data)?;
        }
        Header::Array(len) => {
            w.enter()?;
            w.out.push('[');
            let count = match len {
                Some(n) => Some(length(c, n, "an array")?),
                None => None,
            };
            let mut i = 0usize;
            loop {
                if count == Some(i) {
                    break;
                }
                let item = pull(c)?;
                if count.is_none() && item == Header::Break {
                    break;
                }
                if i > 0 {
                    w.out.push(',');
                }
                value(c, w, item)?;
                w.check_size()?;
                i += 1;
            }
            w.out.push(']');
            w.leave();
        }
        Header::Map(len) => {
            w.enter()?;
            w.out.push('{');
            let count = match len {
                Some(n) => Some(c.count(n as u64, 2, "a map")?),
                None => None,
            };
            let mut i = 0usize;
            loop {
                if count == Some(i) {
                    break;
                }
                let key = pull(c)?;
                if count.is_none() && key == Header::Break {
                    break;
                }
                if i > 0 {
                    w.out.push(',');
                }
                let mark = w.out.len();
                value(c, w, key)?;
                w.key_from(mark);
                w.out.push(':');
                let item = pull(c)?;
                value(c, w, item)?;
                w.check_size()?;
                i += 1;
            }
            w.out.push('}');
            w.leave();
        }
        Header::Tag(tag) => {
            // Tags nest (a tag on a tag); only the one next to the item matters here, and
            // reading them in a loop keeps a long chain from deepening the stack.
            let mut tag = tag;
            let mut item = pull(c)?;
            while let Header::Tag(inner) = item {
                tag = inner;
                item = pull(c)?;
            }
            tagged(c, w, tag, item)?;
        }
    }
    Ok(())
}

fn tagged(
    c: &mut Cursor<'_>,
    w: &mut Writer<'_>,
    tag: u64,
    item: Header,
) -> Result<(), RecordError> {
    match (tag, item) {
        (1, Header::Positive(secs)) => {
            let secs = i64::try_from(secs).map_err(|_| invalid("an epoch time is out of range"))?;
            w.timestamp(secs, 0)
        }
        (1, Header::Negative(n)) => {
            let secs = i64::try_from(-1 - i128::from(n))
                .map_err(|_| invalid("an epoch time is out of range"))?;
            w.timestamp(secs, 0)
        }
        (1, Header::Float(f)) if f.is_finite() => {
            let secs = f.floor();
            let nanos = ((f - secs) * 1e9).round().min(999_999_999.0) as u32;
            if secs.abs() > 1e15 {
                return Err(invalid("an epoch time is out of range"));
            }
            w.timestamp(secs as i64, nanos)
        }
        (2 | 3, Header::Bytes(len)) => {
            let data = string_bytes(c, len, false)?;
            let n = bignum(&data, tag == 3)?;
            w.out.push_str(&n.to_string());
            Ok(())
        }
        (4, Header::Array(Some(2))) => decimal_fraction(c, w),
        (_, item) => value(c, w, item),
    }
}

fn bignum(data: &[u8], negative: bool) -> Result<BigInt, RecordError> {
    if data.len() > MAX_BIGNUM_BYTES {
        return Err(invalid(format!(
            "a bignum of {} bytes exceeds {MAX_BIGNUM_BYTES}",
            data.len()
        )));
    }
    let n = BigInt::from_bytes_be(Sign::Plus, data);
    Ok(if negative { -1 - n } else { n })
}

/// An integer item (or bignum) as a big integer, for decimal fractions.
fn integer(c: &mut Cursor<'_>) -> Result<BigInt, RecordError> {
    match pull(c)? {
        Header::Positive(n) => Ok(BigInt::from(n)),
        Header::Negative(n) => Ok(BigInt::from(-1 - i128::from(n))),
        Header::Tag(tag @ (2 | 3)) => match pull(c)? {
            Header::Bytes(len) => {
                let data = string_bytes(c, len, false)?;
                bignum(&data, tag == 3)
            }
            other => Err(invalid(format!("a bignum tag on {other:?}"))),
        },
        other => Err(invalid(format!(
            "a decimal fraction holds {other:?}, not an integer"
        ))),
    }
}

fn decimal_fraction(c: &mut Cursor<'_>, w: &mut Writer<'_>) -> Result<(), RecordError> {
    let exponent = integer(c)?;
    let mantissa = integer(c)?;
    let exponent = i64::try_from(&exponent)
        .ok()
        .filter(|e| e.unsigned_abs() <= MAX_EXPONENT)
        .ok_or_else(|| {
            invalid(format!(
                "a decimal fraction's exponent {exponent} is out of range (±{MAX_EXPONENT})"
            ))
        })?;
    super::avro::push_scaled(w.out, &mantissa.to_string(), -exponent);
    Ok(())
}
