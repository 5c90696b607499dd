//! JSON → Avro binary, over the same compiled node tree the decoder walks, for the
//! `encode` command. It accepts what the decoder writes (so `encode` then `decode` gives
//! the input back), with either option value where the options differ: numbers or ISO text
//! for dates and times, numbers or strings for decimals, and tagged or plain unions.
//!
//! A missing record field is written as `null` when its type is a union with `null`;
//! otherwise it is an error. Numbers are read from their exact text ([`ExactJson`]), so
//! decimals of any length round-trip. `null` for a float or double is read as NaN, the
//! inverse of the default mapping of non-finite values.
//!
//! [`ExactJson`]: crate::json_text::ExactJson

use num_bigint::BigInt;

use super::super::time;
use super::tree::{Node, NodeId, Tree};
use crate::decode::JsonOptions;
use crate::json_text::{BytesEncoding, ExactJson as Value, str_literal};
use crate::varint;

pub fn encode(tree: &Tree, options: &JsonOptions, value: &Value) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    Encoder { tree, options }.value(tree.root, value, "$", &mut out)?;
    Ok(out)
}

struct Encoder<'a> {
    tree: &'a Tree,
    options: &'a JsonOptions,
}

fn long(out: &mut Vec<u8>, v: i64) {
    varint::write(out, varint::zigzag_encode(v));
}

fn bytes(out: &mut Vec<u8>, data: &[u8]) {
    long(out, data.len() as i64);
    out.extend_from_slice(data);
}

fn expected(path: &str, what: &str, value: &Value) -> String {
    format!("at {path}: expected {what}, got {value}")
}

impl Encoder<'_> {
    fn value(&self, id: NodeId, v: &Value, path: &str, out: &mut Vec<u8>) -> Result<(), String> {
        match &self.tree.nodes[id] {
            Node::Null => v
                .is_null()
                .then_some(())
                .ok_or_else(|| expected(path, "null", v))?,
            Node::Boolean => out.push(u8::from(
                v.as_bool().ok_or_else(|| expected(path, "a boolean", v))?,
            )),
            Node::Int => {
                let n = v.as_i64().and_then(|n| i32::try_from(n).ok());
                long(
                    out,
                    i64::from(n.ok_or_else(|| expected(path, "a 32-bit integer", v))?),
                );
            }
            Node::Long => long(
                out,
                v.as_i64()
                    .ok_or_else(|| expected(path, "a 64-bit integer", v))?,
            ),
            Node::Float => out.extend_from_slice(&(self.float(v, path)? as f32).to_le_bytes()),
            Node::Double => out.extend_from_slice(&self.float(v, path)?.to_le_bytes()),
            Node::Bytes => bytes(out, &self.binary(v, path)?),
            Node::String | Node::UuidString => {
                bytes(
                    out,
                    v.as_str()
                        .ok_or_else(|| expected(path, "a string", v))?
                        .as_bytes(),
                );
            }
            Node::Fixed(size) => {
                let data = self.binary(v, path)?;
                if data.len() != *size {
                    return Err(format!(
                        "at {path}: fixed needs {size} bytes, got {}",
                        data.len()
                    ));
                }
                out.extend_from_slice(&data);
            }
            Node::Enum(symbols) => {
                let symbol = v
                    .as_str()
                    .ok_or_else(|| expected(path, "an enum symbol", v))?;
                let literal = str_literal(symbol);
                let index = symbols
                    .iter()
                    .position(|s| **s == *literal)
                    .ok_or_else(|| format!("at {path}: {symbol:?} is not a symbol of the enum"))?;
                long(out, index as i64);
            }
            Node::Array(items) => {
                let list = v.as_array().ok_or_else(|| expected(path, "an array", v))?;
                if !list.is_empty() {
                    long(out, list.len() as i64);
                    for (i, item) in list.iter().enumerate() {
                        self.value(*items, item, &format!("{path}[{i}]"), out)?;
                    }
                }
                out.push(0);
            }
            Node::Map(values) => {
                let map = v
                    .as_object()
                    .ok_or_else(|| expected(path, "an object", v))?;
                if !map.is_empty() {
                    long(out, map.len() as i64);
                    for (key, item) in map {
                        bytes(out, key.as_bytes());
                        self.value(*values, item, &format!("{path}[{key:?}]"), out)?;
                    }
                }
                out.push(0);
            }
            Node::Record(fields) => {
                if v.as_object().is_none() {
                    return Err(expected(path, "an object", v));
                }
                for field in fields.iter() {
                    let field_path = format!("{path}.{}", field.name);
                    match v.get(&field.name) {
                        Some(item) => self.value(field.node, item, &field_path, out)?,
                        None => self
                            .value(field.node, &Value::Null, &field_path, out)
                            .map_err(|_| {
                                format!("at {field_path}: missing, and the field is not nullable")
                            })?,
                    }
                }
            }
            Node::Union(branches) => {
                // Tagged form first: {"<branch>": value}.
                if let Some((tag, inner)) = v
                    .as_object()
                    .filter(|o| o.len() == 1)
                    .and_then(|o| o.iter().next())
                {
                    let prefix = format!("{{{}:", str_literal(tag));
                    if let Some(i) = branches
                        .iter()
                        .position(|b| b.tagged_prefix.as_deref() == Some(&prefix))
                    {
                        long(out, i as i64);
                        return self.value(branches[i].node, inner, path, out);
                    }
                }
                let mut first_error = None;
                for (i, branch) in branches.iter().enumerate() {
                    let mut scratch = Vec::new();
                    match self.value(branch.node, v, path, &mut scratch) {
                        Ok(()) => {
                            long(out, i as i64);
                            out.extend_from_slice(&scratch);
                            return Ok(());
                        }
                        Err(e) => {
                            first_error.get_or_insert(e);
                        }
                    }
                }
                return Err(format!(
                    "at {path}: no union branch accepts {v} ({})",
                    first_error.unwrap_or_default()
                ));
            }
            Node::Decimal { scale, fixed_size } => {
                let scale =
                    i64::try_from(*scale).map_err(|_| format!("at {path}: scale out of range"))?;
                let unscaled = decimal_unscaled(v, scale, path)?;
                let mut data = unscaled.to_signed_bytes_be();
                match fixed_size {
                    Some(size) => {
                        if data.len() > *size {
                            return Err(format!("at {path}: {v} does not fit in {size} bytes"));
                        }
                        let fill = if unscaled.sign() == num_bigint::Sign::Minus {
                            0xff
                        } else {
                            0
                        };
                        let mut padded = vec![fill; size - data.len()];
                        padded.append(&mut data);
                        out.extend_from_slice(&padded);
                    }
                    None => bytes(out, &data),
                }
            }
            Node::BigDecimal => {
                let (digits, scale) = parse_decimal(&decimal_text(v, path)?)
                    .ok_or_else(|| expected(path, "a decimal number", v))?;
                let mut inner = Vec::new();
                bytes(&mut inner, &digits.to_signed_bytes_be());
                long(&mut inner, scale);
                bytes(out, &inner);
            }
            Node::UuidBinary { fixed } => {
                let text = v
                    .as_str()
                    .ok_or_else(|| expected(path, "a UUID string", v))?;
                let uuid: uuid::Uuid = text.parse().map_err(|_| expected(path, "a UUID", v))?;
                if *fixed {
                    out.extend_from_slice(uuid.as_bytes());
                } else {
                    bytes(out, uuid.as_bytes());
                }
            }
            Node::Date => {
                let days = match v {
                    Value::String(s) => time::parse_date(s),
                    _ => v.as_i64(),
                };
                let days = days.and_then(|d| i32::try_from(d).ok());
                long(
                    out,
                    i64::from(days.ok_or_else(|| expected(path, "a date (YYYY-MM-DD)", v))?),
                );
            }
            Node::Time(unit) => {
                let value = match v {
                    Value::String(s) => time::parse_time_of_day(s, *unit),
                    _ => v.as_i64(),
                };
                long(
                    out,
                    value.ok_or_else(|| expected(path, "a time of day (HH:MM:SS.fff)", v))?,
                );
            }
            Node::Timestamp { unit, .. } => {
                let value = match v {
                    Value::String(s) => time::parse_timestamp(s, *unit),
                    _ => v.as_i64(),
                };
                long(
                    out,
                    value.ok_or_else(|| expected(path, "an ISO-8601 timestamp", v))?,
                );
            }
            Node::Duration => {
                let part = |name: &str| {
                    v.get(name)
                        .and_then(Value::as_u64)
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| expected(path, "{\"months\",\"days\",\"millis\"}", v))
                };
                for name in ["months", "days", "millis"] {
                    out.extend_from_slice(&part(name)?.to_le_bytes());
                }
            }
            Node::Pending => {
                return Err(format!(
                    "at {path}: internal: schema node was never compiled"
                ));
            }
            Node::Resolved(_) => {
                return Err(format!(
                    "at {path}: a decoder that resolves one schema to another does not encode"
                ));
            }
        }
        Ok(())
    }

    fn float(&self, v: &Value, path: &str) -> Result<f64, String> {
        match v {
            Value::Number(n) => n.parse().map_err(|_| expected(path, "a number", v)),
            // The default mapping writes NaN and ±Infinity as null: read null back as NaN.
            Value::Null => Ok(f64::NAN),
            Value::String(s) if s == "NaN" => Ok(f64::NAN),
            Value::String(s) if s == "Infinity" => Ok(f64::INFINITY),
            Value::String(s) if s == "-Infinity" => Ok(f64::NEG_INFINITY),
            _ => Err(expected(path, "a number", v)),
        }
    }

    fn binary(&self, v: &Value, path: &str) -> Result<Vec<u8>, String> {
        use base64::Engine as _;
        let text = v
            .as_str()
            .ok_or_else(|| expected(path, "a base64 or hex string", v))?;
        match self.options.bytes {
            BytesEncoding::Base64 => base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| format!("at {path}: not base64: {e}")),
            BytesEncoding::Hex => hex::decode(text).map_err(|e| format!("at {path}: not hex: {e}")),
        }
    }
}

/// The exact text of a decimal, given as a JSON number (kept verbatim) or a string.
fn decimal_text(v: &Value, path: &str) -> Result<String, String> {
    match v {
        Value::String(s) | Value::Number(s) => Ok(s.clone()),
        _ => Err(expected(path, "a decimal number or string", v)),
    }
}

/// `-12.30e1` → (digits as an integer, number of decimal places).
fn parse_decimal(text: &str) -> Option<(BigInt, i64)> {
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().ok()?),
        None => (text, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int_part}{frac_part}");
    let unsigned = digits.strip_prefix(['-', '+']).unwrap_or(&digits);
    if unsigned.is_empty()
        || !unsigned.bytes().all(|b| b.is_ascii_digit())
        || frac_part.contains(['-', '+'])
    {
        return None;
    }
    let places = i64::try_from(frac_part.len()).ok()?.checked_sub(exponent)?;
    Some((digits.parse().ok()?, places))
}

/// The unscaled integer of `v` at `scale`, refusing values that need more places.
fn decimal_unscaled(v: &Value, scale: i64, path: &str) -> Result<BigInt, String> {
    let (digits, places) = parse_decimal(&decimal_text(v, path)?)
        .ok_or_else(|| expected(path, "a decimal number", v))?;
    let shift = scale - places;
    if shift < 0 {
        let divisor = BigInt::from(10u32)
            .pow(u32::try_from(-shift).map_err(|_| format!("at {path}: out of range"))?);
        if &digits % &divisor != BigInt::from(0) {
            return Err(format!(
                "at {path}: {v} has more than {scale} decimal places"
            ));
        }
        return Ok(digits / divisor);
    }
    if shift > 1000 {
        return Err(format!("at {path}: {v} is out of range"));
    }
    Ok(digits * BigInt::from(10u32).pow(shift as u32))
}
