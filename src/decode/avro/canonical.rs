//! Avro's Parsing Canonical Form and its CRC-64-AVRO fingerprint, the ID in Avro
//! single-object encoding (`C3 01` + 8-byte little-endian fingerprint).
//!
//! Written from the spec's rules rather than taken from `apache-avro`, so that it matches
//! the Java implementation exactly: only `name`, `type`, `fields`, `symbols`, `items`,
//! `values` and `size` are kept, in that order; logical-type attributes are dropped (a
//! `timestamp-millis` is just `"long"`); names are fully qualified; a named type is written
//! in full once and by name afterwards.

use std::collections::HashSet;

use apache_avro::Schema;
use apache_avro::schema::{DecimalSchema, InnerDecimalSchema, Name, UuidSchema};

/// The Parsing Canonical Form of a parsed schema.
pub fn canonical_form(schema: &Schema) -> String {
    let mut out = String::new();
    write_canonical(schema, &mut HashSet::new(), &mut out);
    out
}

/// CRC-64-AVRO (the Rabin fingerprint of the Avro spec) of `data`.
pub fn crc64_avro(data: &[u8]) -> u64 {
    const EMPTY: u64 = 0xc15d_213a_a4d7_a795;
    static TABLE: std::sync::LazyLock<[u64; 256]> = std::sync::LazyLock::new(|| {
        let mut table = [0u64; 256];
        for (i, slot) in table.iter_mut().enumerate() {
            let mut fp = i as u64;
            for _ in 0..8 {
                fp = (fp >> 1) ^ (EMPTY & (0u64.wrapping_sub(fp & 1)));
            }
            *slot = fp;
        }
        table
    });
    data.iter().fold(EMPTY, |fp, &b| {
        (fp >> 8) ^ TABLE[((fp ^ u64::from(b)) & 0xff) as usize]
    })
}

/// The single-object-encoding fingerprint of a schema given as JSON text.
pub fn fingerprint(schema_json: &str) -> Result<u64, super::SchemaError> {
    let schema = super::parse_schema(schema_json)?;
    Ok(crc64_avro(canonical_form(&schema).as_bytes()))
}

fn quoted(out: &mut String, s: &str) {
    out.push('"');
    out.push_str(s);
    out.push('"');
}

/// Writes `{"name":"<full>","type":"<kind>"` and returns false if the name was already
/// defined, in which case only the quoted name has been written.
fn open_named(name: &Name, kind: &str, defined: &mut HashSet<String>, out: &mut String) -> bool {
    let full = name.fullname(None);
    if !defined.insert(full.clone()) {
        quoted(out, &full);
        return false;
    }
    out.push_str("{\"name\":");
    quoted(out, &full);
    out.push_str(",\"type\":");
    quoted(out, kind);
    true
}

fn fixed(name: &Name, size: usize, defined: &mut HashSet<String>, out: &mut String) {
    if open_named(name, "fixed", defined, out) {
        out.push_str(",\"size\":");
        out.push_str(&size.to_string());
        out.push('}');
    }
}

/// The primitive type a schema is encoded as, for primitives and logical types on them
/// (`timestamp-millis` is a `long`); `None` for named and complex types.
pub(super) fn primitive_name(schema: &Schema) -> Option<&'static str> {
    Some(match schema {
        Schema::Null => "null",
        Schema::Boolean => "boolean",
        Schema::Int | Schema::Date | Schema::TimeMillis => "int",
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => "long",
        Schema::Float => "float",
        Schema::Double => "double",
        Schema::Bytes | Schema::BigDecimal | Schema::Uuid(UuidSchema::Bytes) => "bytes",
        Schema::String | Schema::Uuid(UuidSchema::String) => "string",
        Schema::Decimal(d) if matches!(d.inner, InnerDecimalSchema::Bytes) => "bytes",
        _ => return None,
    })
}

fn write_canonical(schema: &Schema, defined: &mut HashSet<String>, out: &mut String) {
    if let Some(primitive) = primitive_name(schema) {
        return quoted(out, primitive);
    }
    match schema {
        Schema::Decimal(DecimalSchema {
            inner: InnerDecimalSchema::Fixed(f),
            ..
        })
        | Schema::Fixed(f)
        | Schema::Duration(f)
        | Schema::Uuid(UuidSchema::Fixed(f)) => fixed(&f.name, f.size, defined, out),
        Schema::Ref { name } => quoted(out, &name.fullname(None)),
        Schema::Array(a) => {
            out.push_str("{\"type\":\"array\",\"items\":");
            write_canonical(&a.items, defined, out);
            out.push('}');
        }
        Schema::Map(m) => {
            out.push_str("{\"type\":\"map\",\"values\":");
            write_canonical(&m.types, defined, out);
            out.push('}');
        }
        Schema::Union(u) => {
            out.push('[');
            for (i, variant) in u.variants().iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(variant, defined, out);
            }
            out.push(']');
        }
        // `open_named` writes just the name when the type was already defined; the arm
        // then has nothing more to add and falls through to `_`.
        Schema::Enum(e) if open_named(&e.name, "enum", defined, out) => {
            out.push_str(",\"symbols\":[");
            for (i, symbol) in e.symbols.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                quoted(out, symbol);
            }
            out.push_str("]}");
        }
        Schema::Record(r) if open_named(&r.name, "record", defined, out) => {
            out.push_str(",\"fields\":[");
            for (i, field) in r.fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"name\":");
                quoted(out, &field.name);
                out.push_str(",\"type\":");
                write_canonical(&field.schema, defined, out);
                out.push('}');
            }
            out.push_str("]}");
        }
        // Primitives were written above; already-defined names by `open_named`.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcf(json: &str) -> String {
        canonical_form(&Schema::parse_str(json).unwrap())
    }

    #[test]
    fn spec_examples() {
        // Fingerprints from the Avro spec's test vectors (Java `SchemaNormalization`).
        assert_eq!(crc64_avro(b"\"int\""), 0x7275d51a3f395c8f);
        assert_eq!(crc64_avro(b"\"null\""), 0x63dd24e7cc258f8a);
        assert_eq!(
            pcf(r#"{"type":"long","logicalType":"timestamp-millis"}"#),
            "\"long\""
        );
        assert_eq!(
            pcf(
                r#"{"type":"record","name":"R","namespace":"a.b","doc":"d","fields":[
                {"name":"x","type":{"type":"fixed","name":"F","size":4},"default":"abcd"},
                {"name":"y","type":["null","F"]},
                {"name":"z","type":{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}}]}"#
            ),
            r#"{"name":"a.b.R","type":"record","fields":[{"name":"x","type":{"name":"a.b.F","type":"fixed","size":4}},{"name":"y","type":["null","a.b.F"]},{"name":"z","type":"bytes"}]}"#
        );
    }
}
