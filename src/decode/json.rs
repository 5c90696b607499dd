//! The Glue JSON data format: the record is already a JSON document. We check that it
//! parses and pass it through byte for byte (numbers keep every digit), minus insignificant
//! whitespace so that it stays one line.

use super::{DecodeContext, EncodeError, MessageSelector, RecordDecoder, RecordEncoder};
use crate::error::{ErrorCode, RecordError};

/// Passes JSON-format records through, checked and compacted.
pub struct JsonDecoder;

impl RecordDecoder for JsonDecoder {
    fn decode(
        &self,
        body: &[u8],
        _ctx: &DecodeContext,
        out: &mut String,
    ) -> Result<(), RecordError> {
        let text = std::str::from_utf8(body).map_err(|e| {
            RecordError::new(
                ErrorCode::InvalidUtf8,
                format!("JSON record is not valid UTF-8: {e}"),
            )
        })?;
        serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| {
            RecordError::new(
                ErrorCode::InvalidJson,
                format!("JSON record does not parse: {e}"),
            )
        })?;
        minify_into(text, out);
        Ok(())
    }
}

/// A JSON document is its own body: checked, and passed through trimmed.
impl RecordEncoder for JsonDecoder {
    fn encode(
        &self,
        json: &str,
        _message: Option<&str>,
        _selector: MessageSelector,
    ) -> Result<Vec<u8>, EncodeError> {
        serde_json::from_str::<serde::de::IgnoredAny>(json).map_err(EncodeError::NotJson)?;
        Ok(json.trim().as_bytes().to_vec())
    }
}

/// Drops whitespace outside strings from a document already known to be valid JSON.
fn minify_into(text: &str, out: &mut String) {
    out.reserve(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
            in_string = c == '"';
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(body: &[u8]) -> Result<String, RecordError> {
        let mut out = String::new();
        JsonDecoder.decode(body, &DecodeContext::default(), &mut out)?;
        Ok(out)
    }

    #[test]
    fn passes_through_compactly_and_exactly() {
        let doc = "{ \"a\" : 12345678901234567890.10 ,\n \"s\": \" x \\\" y \" }";
        assert_eq!(
            decode(doc.as_bytes()).unwrap(),
            "{\"a\":12345678901234567890.10,\"s\":\" x \\\" y \"}"
        );
    }

    #[test]
    fn rejects_invalid_documents() {
        assert_eq!(decode(b"{\"a\":").unwrap_err().code, ErrorCode::InvalidJson);
        assert_eq!(decode(b"{} {}").unwrap_err().code, ErrorCode::InvalidJson);
        assert_eq!(
            decode(b"\"\xff\"").unwrap_err().code,
            ErrorCode::InvalidUtf8
        );
    }
}
