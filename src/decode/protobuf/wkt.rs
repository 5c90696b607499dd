//! The well-known types: one table that says which `google.protobuf` messages have a
//! special ProtoJSON form, and the checks those forms impose. Both writers (the wire
//! decoder and the `DynamicMessage` reference) take their decisions from here.

use crate::decode::time;
use crate::error::{ErrorCode, RecordError};
use crate::json_text::JsonSink;

/// A `google.protobuf` message with its own JSON form. Every other message, `Empty`
/// included, is written as an ordinary object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wkt {
    Timestamp,
    Duration,
    /// `DoubleValue`, `Int64Value`, ...: the wrapped value alone.
    Wrapper,
    Struct,
    Value,
    ListValue,
    FieldMask,
    Any,
}

impl Wkt {
    /// The special form of a message, by full name; `None` for ordinary messages.
    /// In an `Any`, exactly these types are written as `{"@type":…,"value":…}`.
    pub fn of(full_name: &str) -> Option<Wkt> {
        Some(match full_name.strip_prefix("google.protobuf.")? {
            "Timestamp" => Wkt::Timestamp,
            "Duration" => Wkt::Duration,
            "DoubleValue" | "FloatValue" | "Int64Value" | "UInt64Value" | "Int32Value"
            | "UInt32Value" | "BoolValue" | "StringValue" | "BytesValue" => Wkt::Wrapper,
            "Struct" => Wkt::Struct,
            "Value" => Wkt::Value,
            "ListValue" => Wkt::ListValue,
            "FieldMask" => Wkt::FieldMask,
            "Any" => Wkt::Any,
            _ => return None,
        })
    }
}

fn invalid(message: String) -> RecordError {
    RecordError::new(ErrorCode::DecodeFailed, message)
}

/// ProtoJSON's Duration range: ±10,000 years in seconds.
pub const MAX_DURATION_SECS: i64 = 315_576_000_000;

/// Appends a Timestamp or Duration as its quoted ProtoJSON string, or fails when
/// ProtoJSON cannot represent the value (Timestamp outside 0001..9999, Duration beyond
/// ±315,576,000,000 s, nanos out of range or of the wrong sign).
pub fn push_time(
    out: &mut impl JsonSink,
    wkt: Wkt,
    seconds: i64,
    nanos: i32,
) -> Result<(), RecordError> {
    let start = out.mark();
    out.push('"');
    let ok = match wkt {
        Wkt::Timestamp => time::push_rfc3339(out, seconds, nanos),
        _ => {
            (-MAX_DURATION_SECS..=MAX_DURATION_SECS).contains(&seconds)
                && time::push_duration(out, seconds, nanos)
        }
    };
    out.push('"');
    if ok {
        return Ok(());
    }
    out.truncate(start);
    let name = if wkt == Wkt::Timestamp {
        "Timestamp"
    } else {
        "Duration"
    };
    Err(invalid(format!(
        "{name} {seconds}s {nanos}ns has no ProtoJSON form: it is out of range"
    )))
}

/// `foo_bar.baz_qux` → `fooBar.bazQux`, as FieldMask's JSON form names paths. A path
/// that would not come back unchanged from camelCase (an upper-case letter, or `_` not
/// followed by a lower-case letter) cannot be written: ProtoJSON refuses it.
pub fn field_mask_path(path: &str, out: &mut String) -> Result<(), RecordError> {
    let mut upper = false;
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            return Err(unrepresentable(path, "it has an upper-case letter"));
        }
        if upper {
            if !c.is_ascii_lowercase() {
                return Err(unrepresentable(
                    path,
                    "an underscore is not followed by a lower-case letter",
                ));
            }
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else if c == '_' {
            upper = true;
        } else {
            out.push(c);
        }
    }
    if upper {
        return Err(unrepresentable(path, "it ends with an underscore"));
    }
    Ok(())
}

fn unrepresentable(path: &str, why: &str) -> RecordError {
    invalid(format!(
        "FieldMask path {path:?} has no ProtoJSON form: {why}, so it would not round-trip through camelCase"
    ))
}

/// The JSON string of a FieldMask's paths, comma-separated.
pub fn push_field_mask<'p>(
    out: &mut impl JsonSink,
    paths: impl IntoIterator<Item = &'p str>,
) -> Result<(), RecordError> {
    let mut joined = String::new();
    for (i, path) in paths.into_iter().enumerate() {
        if i > 0 {
            joined.push(',');
        }
        field_mask_path(path, &mut joined)?;
    }
    out.push_string(&joined);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_mask_paths_must_round_trip() {
        let mut out = String::new();
        push_field_mask(&mut out, ["foo_bar.baz_qux", "a"]).unwrap();
        assert_eq!(out, r#""fooBar.bazQux,a""#);
        for bad in ["fooBar", "foo_3_bar", "foo__bar", "foo_", "Foo"] {
            let err = push_field_mask(&mut String::new(), [bad]).unwrap_err();
            assert_eq!(err.code, ErrorCode::DecodeFailed, "{bad}");
        }
    }

    #[test]
    fn durations_are_bounded() {
        let mut out = String::new();
        push_time(&mut out, Wkt::Duration, MAX_DURATION_SECS, 0).unwrap();
        push_time(&mut out, Wkt::Duration, -MAX_DURATION_SECS, -999_999_999).unwrap();
        assert_eq!(out, r#""315576000000s""-315576000000.999999999s""#);
        for (s, n) in [
            (MAX_DURATION_SECS + 1, 0),
            (-MAX_DURATION_SECS - 1, 0),
            (1, -1),
            (-1, 1),
            (0, 1_000_000_000),
        ] {
            let mut out = String::from("x");
            assert!(push_time(&mut out, Wkt::Duration, s, n).is_err(), "{s} {n}");
            assert_eq!(out, "x");
        }
    }
}
