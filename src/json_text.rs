//! Small helpers that append JSON text to a `String`. Decoders write JSON directly instead
//! of building a `serde_json::Value`, so the hot loop allocates nothing per value.

use base64::Engine as _;

/// Appends `s` as a JSON string literal, quotes included.
pub(crate) fn push_str_literal(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(hex_digit(b >> 4));
            out.push(hex_digit(b & 0xf));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// The JSON string literal for `s`, quotes included; used for keys compiled ahead of time.
pub(crate) fn str_literal(s: &str) -> Box<str> {
    let mut out = String::with_capacity(s.len() + 2);
    push_str_literal(&mut out, s);
    out.into_boxed_str()
}

fn hex_digit(n: u8) -> char {
    char::from(b"0123456789abcdef"[usize::from(n & 0xf)])
}

/// How `bytes`-like values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum BytesEncoding {
    /// Standard base64 with padding.
    #[default]
    Base64,
    /// Lower-case hex.
    Hex,
}

/// Appends binary data as a JSON string in the chosen encoding.
pub(crate) fn push_bytes(out: &mut String, data: &[u8], encoding: BytesEncoding) {
    out.push('"');
    match encoding {
        BytesEncoding::Base64 => base64::engine::general_purpose::STANDARD.encode_string(data, out),
        BytesEncoding::Hex => {
            out.reserve(data.len() * 2);
            for &b in data {
                out.push(hex_digit(b >> 4));
                out.push(hex_digit(b & 0xf));
            }
        }
    }
    out.push('"');
}

/// How NaN and ±Infinity are written: JSON has no literal for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum NonFinite {
    /// `null`.
    #[default]
    Null,
    /// The strings `"NaN"`, `"Infinity"` and `"-Infinity"`.
    String,
}

/// Appends a double as the shortest JSON number that reads back to the same value.
pub(crate) fn push_f64(out: &mut String, v: f64, non_finite: NonFinite) {
    if v.is_finite() {
        out.push_str(ryu::Buffer::new().format_finite(v));
    } else {
        push_non_finite(out, v.is_nan(), v > 0.0, non_finite);
    }
}

/// Appends a float as the shortest JSON number that reads back to the same `f32`
/// (so `1.1f32` is `1.1`, not `1.100000023841858`).
pub(crate) fn push_f32(out: &mut String, v: f32, non_finite: NonFinite) {
    if v.is_finite() {
        out.push_str(ryu::Buffer::new().format_finite(v));
    } else {
        push_non_finite(out, v.is_nan(), v > 0.0, non_finite);
    }
}

fn push_non_finite(out: &mut String, nan: bool, positive: bool, non_finite: NonFinite) {
    out.push_str(match (non_finite, nan, positive) {
        (NonFinite::Null, _, _) => "null",
        (NonFinite::String, true, _) => "\"NaN\"",
        (NonFinite::String, false, true) => "\"Infinity\"",
        (NonFinite::String, false, false) => "\"-Infinity\"",
    });
}

/// Appends an integer.
pub(crate) fn push_int(out: &mut String, v: impl itoa::Integer) {
    out.push_str(itoa::Buffer::new().format(v));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_serde_json() {
        for s in [
            "plain",
            "quote\"back\\slash",
            "ctl\u{0}\u{1f}\n\r\t\u{8}\u{c}",
            "ünï€😀",
            "",
        ] {
            let mut out = String::new();
            push_str_literal(&mut out, s);
            let back: String = serde_json::from_str(&out).unwrap();
            assert_eq!(back, s);
        }
        assert_eq!(&*str_literal("a\u{1}"), "\"a\\u0001\"");
    }

    #[test]
    fn floats_are_shortest_and_non_finite_follows_option() {
        let mut out = String::new();
        push_f32(&mut out, 1.1, NonFinite::Null);
        assert_eq!(out, "1.1");
        out.clear();
        push_f64(&mut out, f64::NAN, NonFinite::Null);
        push_f64(&mut out, f64::NEG_INFINITY, NonFinite::String);
        push_f32(&mut out, f32::INFINITY, NonFinite::String);
        assert_eq!(out, "null\"-Infinity\"\"Infinity\"");
    }

    #[test]
    fn bytes_encodings() {
        let mut out = String::new();
        push_bytes(&mut out, &[0, 0xff, 0x10], BytesEncoding::Base64);
        push_bytes(&mut out, &[0, 0xff, 0x10], BytesEncoding::Hex);
        assert_eq!(out, "\"AP8Q\"\"00ff10\"");
    }
}

/// A parsed JSON document whose numbers keep their exact text, for reading input back
/// (the `encode` command): `serde_json::Value` would round `12345678901234567890.10`
/// through a float. Object members keep their order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ExactJson {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<ExactJson>),
    Object(Vec<(String, ExactJson)>),
}

/// An object's members as raw JSON, in document order.
struct RawMembers(Vec<(String, Box<serde_json::value::RawValue>)>);

impl<'de> serde::Deserialize<'de> for RawMembers {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = RawMembers;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawMembers, A::Error> {
                let mut members = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    members.push(entry);
                }
                Ok(RawMembers(members))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

impl ExactJson {
    pub(crate) fn parse(text: &str) -> Result<Self, serde_json::Error> {
        let raw: Box<serde_json::value::RawValue> = serde_json::from_str(text)?;
        Self::from_raw(raw.get())
    }

    fn from_raw(text: &str) -> Result<Self, serde_json::Error> {
        Ok(match text.as_bytes().first() {
            Some(b'{') => ExactJson::Object(
                serde_json::from_str::<RawMembers>(text)?
                    .0
                    .into_iter()
                    .map(|(k, v)| Ok((k, Self::from_raw(v.get())?)))
                    .collect::<Result<_, serde_json::Error>>()?,
            ),
            Some(b'[') => ExactJson::Array(
                serde_json::from_str::<Vec<Box<serde_json::value::RawValue>>>(text)?
                    .iter()
                    .map(|v| Self::from_raw(v.get()))
                    .collect::<Result<_, _>>()?,
            ),
            Some(b'"') => ExactJson::String(serde_json::from_str(text)?),
            Some(b't' | b'f') => ExactJson::Bool(serde_json::from_str(text)?),
            Some(b'n') => ExactJson::Null,
            _ => ExactJson::Number(text.to_owned()),
        })
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, ExactJson::Null)
    }

    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            ExactJson::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            ExactJson::String(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_i64(&self) -> Option<i64> {
        match self {
            ExactJson::Number(n) => n.parse().ok(),
            _ => None,
        }
    }

    pub(crate) fn as_u64(&self) -> Option<u64> {
        match self {
            ExactJson::Number(n) => n.parse().ok(),
            _ => None,
        }
    }

    pub(crate) fn as_array(&self) -> Option<&[ExactJson]> {
        match self {
            ExactJson::Array(items) => Some(items),
            _ => None,
        }
    }

    pub(crate) fn as_object(&self) -> Option<&[(String, ExactJson)]> {
        match self {
            ExactJson::Object(members) => Some(members),
            _ => None,
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&ExactJson> {
        self.as_object()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

impl std::fmt::Display for ExactJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExactJson::Null => f.write_str("null"),
            ExactJson::Bool(b) => write!(f, "{b}"),
            ExactJson::Number(n) => f.write_str(n),
            ExactJson::String(s) => f.write_str(&str_literal(s)),
            ExactJson::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            ExactJson::Object(members) => {
                f.write_str("{")?;
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{}:{value}", str_literal(key))?;
                }
                f.write_str("}")
            }
        }
    }
}

#[cfg(test)]
mod exact_tests {
    use super::ExactJson;

    #[test]
    fn numbers_keep_their_text_and_members_their_order() {
        let doc = ExactJson::parse(r#"{"z": -1234567890123456789012345678901234.000001, "a": [1, 2.50, "x\u0041", null, true]}"#)
            .unwrap();
        assert_eq!(
            doc.to_string(),
            r#"{"z":-1234567890123456789012345678901234.000001,"a":[1,2.50,"xA",null,true]}"#
        );
        assert_eq!(
            doc.get("a").unwrap().as_array().unwrap()[1],
            ExactJson::Number("2.50".into())
        );
        assert!(ExactJson::parse("{").is_err());
    }
}
