//! Small helpers that append JSON text. Decoders write JSON directly instead of building a
//! `serde_json::Value`, so the hot loop allocates nothing per value. They write through
//! `JsonSink`: into a `String` as JSON text, or into a `LiteralSink` already escaped
//! as the JSON string literal that holds it (a Redshift response's result), with the JSON
//! text's own length kept for the size limits.

use base64::Engine as _;

/// Appends `s` as a JSON string literal, quotes included, escaped exactly as `serde_json`
/// escapes it: `\"`, `\\`, the short forms `\b \f \n \r \t`, and `\u00XX` for the other
/// control characters; everything else, non-ASCII included, is copied as it is.
///
/// For the decoders' string values, where escapes are rare: eight bytes are checked at a
/// time, and the text between escapes is copied in one piece. (The response, where they
/// are not, has [`LiteralBuffer`].)
pub(crate) fn push_str_literal(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    push_escaped(out, s);
    out.push('"');
}

/// The position of the first byte at or after `from` that a JSON string must escape.
fn next_special(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(word) = bytes.get(at..at + 8) {
        let flags = special_bytes(word_of(word));
        if flags != 0 {
            return Some(at + (flags.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    bytes
        .get(at..)?
        .iter()
        .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
        .map(|i| at + i)
}

/// Appends the escape of `b`, a byte [`next_special`] found.
fn push_escape(out: &mut String, b: u8) {
    let (escape, len) = escape_of(b);
    for &c in &escape[..len] {
        out.push(char::from(c));
    }
}

/// The escape of a byte a JSON string must escape, as `serde_json` writes it: `\"`, `\\`,
/// the short forms `\b \f \n \r \t`, else `\u00XX`; and its length.
fn escape_of(b: u8) -> ([u8; 6], usize) {
    let short = match b {
        b'"' => b'"',
        b'\\' => b'\\',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        0x08 => b'b',
        0x0c => b'f',
        _ => {
            let (high, low) = (hex_digit(b >> 4) as u8, hex_digit(b & 0xf) as u8);
            return ([b'\\', b'u', b'0', b'0', high, low], 6);
        }
    };
    ([b'\\', short, 0, 0, 0, 0], 2)
}

/// JSON string literals and raw JSON text written end to end into one byte buffer, for
/// the response: each result is JSON text written again inside a string, about one byte in
/// seven a quote. `push_str_literal` copies the text between escapes piece by piece,
/// which at that density costs more than the escaping; here each eight-byte word is stored
/// whole, once per quote or backslash in it, each store shifted past the backslash before,
/// into zeroed room kept ahead of the text. Same escapes, byte for byte.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiteralBuffer {
    /// The text, then zeroes: room for the next literal's worst case.
    bytes: Vec<u8>,
    len: usize,
}

impl LiteralBuffer {
    /// Room for `capacity` bytes, reserved, not touched.
    pub fn with_capacity(capacity: usize) -> Self {
        LiteralBuffer {
            bytes: Vec::with_capacity(capacity),
            len: 0,
        }
    }

    /// Bytes of text written.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The text, which is UTF-8 because it was copied from `str`s with ASCII escapes put
    /// between their characters (the check costs a tenth of writing it).
    pub fn as_str(&self) -> Result<&str, std::str::Utf8Error> {
        std::str::from_utf8(self.bytes.get(..self.len).unwrap_or_default())
    }

    /// The text, without a copy (checked as [`LiteralBuffer::as_str`] checks it).
    pub fn into_string(mut self) -> Result<String, std::string::FromUtf8Error> {
        self.bytes.truncate(self.len);
        String::from_utf8(self.bytes)
    }

    /// Forgets the text after `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Appends `text` as it is.
    pub fn push_raw(&mut self, text: &str) {
        self.room(text.len());
        self.bytes[self.len..self.len + text.len()].copy_from_slice(text.as_bytes());
        self.len += text.len();
    }

    /// Appends `s` as a JSON string literal, quotes included, escaped as
    /// `push_str_literal` escapes it.
    pub fn push_literal(&mut self, s: &str) {
        let bytes = s.as_bytes();
        // Every byte doubled, the quotes, and a word of slack for the last store; a control
        // character, which can take six bytes, makes more room when it comes.
        self.room(2 * bytes.len() + 12);
        let out = &mut self.bytes;
        let mut p = self.len;
        out[p] = b'"';
        p += 1;
        let mut words = bytes.chunks_exact(8);
        let mut left = bytes.len();
        for word in words.by_ref() {
            let w = word_of(word);
            left -= 8;
            if exact_control_bytes(w) != 0 {
                for &b in word {
                    p = escape_byte(out, p, b);
                }
                // Six-byte escapes ate into the room kept for the rest.
                if out.len() < p + 2 * left + 10 {
                    out.resize(p + 2 * left + 10, 0);
                }
                continue;
            }
            let mut specials = quote_and_backslash_bytes(w);
            // Each store writes the word from byte `from` on, and the next escape's
            // backslash goes where that store's byte `from`-to-be would have landed.
            let mut from = 0;
            while specials != 0 {
                let k = specials.trailing_zeros() / 8;
                out[p..p + 8].copy_from_slice(&(w >> (8 * from)).to_le_bytes());
                p += (k - from) as usize;
                out[p] = b'\\';
                p += 1;
                from = k;
                specials &= specials - 1;
            }
            out[p..p + 8].copy_from_slice(&(w >> (8 * from)).to_le_bytes());
            p += (8 - from) as usize;
        }
        for &b in words.remainder() {
            p = escape_byte(out, p, b);
        }
        out[p] = b'"';
        self.len = p + 1;
    }

    /// Zeroed room for `n` more bytes after the text.
    fn room(&mut self, n: usize) {
        if self.bytes.len() < self.len + n {
            self.bytes.resize(self.len + n, 0);
        }
    }
}

/// Writes byte `b` of a string at `p` in `out`, escaped if it must be, growing `out` to
/// keep at least two bytes of room after it. Returns the next `p`.
fn escape_byte(out: &mut Vec<u8>, p: usize, b: u8) -> usize {
    if out.len() < p + 8 {
        out.resize(p + 8, 0);
    }
    if b >= 0x20 && b != b'"' && b != b'\\' {
        out[p] = b;
        return p + 1;
    }
    let (escape, len) = escape_of(b);
    out[p..p + len].copy_from_slice(&escape[..len]);
    p + len
}

/// Eight bytes of a string as one word, first byte lowest.
fn word_of(word: &[u8]) -> u64 {
    let mut chunk = [0; 8];
    chunk.copy_from_slice(word.get(..8).unwrap_or(&[0; 8]));
    u64::from_le_bytes(chunk)
}

const LOW7: u64 = u64::from_ne_bytes([0x7f; 8]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
const ONES: u64 = u64::from_ne_bytes([0x01; 8]);

/// A high bit in exactly the bytes of `w` a JSON string must escape.
fn special_bytes(w: u64) -> u64 {
    exact_control_bytes(w) | quote_and_backslash_bytes(w)
}

/// A high bit in exactly the bytes of `w` that are `"` (0x22) or `\\` (0x5c).
fn quote_and_backslash_bytes(w: u64) -> u64 {
    exact_zero_bytes(w ^ (ONES * 0x22)) | exact_zero_bytes(w ^ (ONES * 0x5c))
}

/// A high bit in exactly the zero bytes of `x` (no carry crosses a byte).
fn exact_zero_bytes(x: u64) -> u64 {
    !(((x & LOW7) + LOW7) | x) & HIGHS
}

/// A high bit in exactly the bytes of `w` below 0x20.
fn exact_control_bytes(w: u64) -> u64 {
    !(((w & LOW7) + ONES * 0x60) | w) & HIGHS
}

/// The JSON string literal for `s`, quotes included; used for keys compiled ahead of time.
pub(crate) fn str_literal(s: &str) -> Box<str> {
    let mut out = String::with_capacity(s.len() + 2);
    push_str_literal(&mut out, s);
    out.into_boxed_str()
}

/// JSON text compiled ahead of time (a record key, an enum symbol's literal, a default
/// value), kept both as it is and as it reads inside a JSON string literal, so that a
/// [`JsonSink`] of either kind copies it without escaping anything per record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonText {
    plain: Box<str>,
    escaped: Box<str>,
}

impl JsonText {
    /// `text`, which must be JSON text (or a fragment of it, like `"key"` or `{"tag":`).
    pub(crate) fn new(text: impl Into<Box<str>>) -> Self {
        let plain = text.into();
        let mut escaped = String::with_capacity(plain.len() + 8);
        push_escaped(&mut escaped, &plain);
        JsonText {
            plain,
            escaped: escaped.into_boxed_str(),
        }
    }

    /// The JSON string literal of `s`, quotes included.
    pub(crate) fn literal(s: &str) -> Self {
        JsonText::new(str_literal(s))
    }
}

impl std::ops::Deref for JsonText {
    type Target = str;

    /// The text as it is.
    fn deref(&self) -> &str {
        &self.plain
    }
}

/// Appends `s` escaped as the inside of a JSON string literal (no quotes around it).
fn push_escaped(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    // Where the text not yet written starts.
    let mut copied = 0;
    while let Some(special) = next_special(bytes, copied) {
        // `special` is an ASCII byte, so both slices end on character boundaries.
        out.push_str(&s[copied..special]);
        push_escape(out, bytes[special]);
        copied = special + 1;
    }
    out.push_str(&s[copied..]);
}

/// A string value's bytes as [`JsonSink::utf8`] passed them.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Utf8<'b> {
    /// Checked to be UTF-8.
    Checked(&'b str),
    /// To be checked with the whole text they are written into.
    Deferred(&'b [u8]),
}

impl<'b> Utf8<'b> {
    /// The bytes.
    pub(crate) fn as_bytes(&self) -> &'b [u8] {
        match self {
            Utf8::Checked(s) => s.as_bytes(),
            Utf8::Deferred(bytes) => bytes,
        }
    }
}

/// Where a [`JsonSink`] stood, to cut it back to or copy from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mark {
    /// Bytes stored.
    bytes: usize,
    /// Of those, the bytes that escaping added.
    extra: usize,
}

/// Where decoders write JSON text: a `String` holds it as it is; a [`LiteralSink`] holds it
/// already escaped as the inside of a JSON string literal, the form the Redshift response
/// carries, so that a result is not escaped a second time after it is decoded. Lengths
/// and size limits count the JSON text, whatever the sink stores.
pub(crate) trait JsonSink {
    /// Appends one character of JSON text.
    fn push(&mut self, c: char);
    /// Appends JSON text.
    fn push_str(&mut self, text: &str);
    /// Appends text that holds nothing a JSON string escapes (digits, base64, `null`):
    /// stored as it is by either sink.
    fn push_unescaped(&mut self, text: &str);
    /// A string value's bytes, which must be UTF-8, checked for [`JsonSink::push_utf8`]. A
    /// `String` checks them here; a [`LiteralSink`] leaves the check to whoever reads its
    /// whole text, which is valid UTF-8 exactly when every string in it is (escapes are
    /// ASCII and go before ASCII bytes only).
    fn utf8<'b>(&self, bytes: &'b [u8]) -> Result<Utf8<'b>, std::str::Utf8Error>;
    /// Appends a string value that [`JsonSink::utf8`] passed as a JSON string literal.
    fn push_utf8(&mut self, s: Utf8<'_>);
    /// Appends `s` as a JSON string literal, quotes included.
    fn push_string(&mut self, s: &str) {
        self.push_utf8(Utf8::Checked(s));
    }
    /// Appends JSON text compiled ahead of time.
    fn push_text(&mut self, text: &JsonText);
    /// Bytes of JSON text written.
    fn len(&self) -> usize;
    /// Where the sink stands now.
    fn mark(&self) -> Mark;
    /// Forgets what was written after `mark`.
    fn truncate(&mut self, mark: Mark);
    /// Appends a copy of what was written between `from` and `to`.
    fn copy_within(&mut self, from: Mark, to: Mark);
    /// Removes what was written between `from` and `to`; later text moves up.
    fn remove(&mut self, from: Mark, to: Mark);
}

impl JsonSink for String {
    #[inline]
    fn push(&mut self, c: char) {
        String::push(self, c);
    }

    #[inline]
    fn push_str(&mut self, text: &str) {
        String::push_str(self, text);
    }

    #[inline]
    fn push_unescaped(&mut self, text: &str) {
        String::push_str(self, text);
    }

    #[inline]
    fn utf8<'b>(&self, bytes: &'b [u8]) -> Result<Utf8<'b>, std::str::Utf8Error> {
        std::str::from_utf8(bytes).map(Utf8::Checked)
    }

    #[inline]
    fn push_utf8(&mut self, s: Utf8<'_>) {
        match s {
            Utf8::Checked(s) => push_str_literal(self, s),
            Utf8::Deferred(bytes) => push_str_literal(self, &String::from_utf8_lossy(bytes)),
        }
    }

    #[inline]
    fn push_text(&mut self, text: &JsonText) {
        String::push_str(self, &text.plain);
    }

    #[inline]
    fn len(&self) -> usize {
        String::len(self)
    }

    #[inline]
    fn mark(&self) -> Mark {
        Mark {
            bytes: String::len(self),
            extra: 0,
        }
    }

    fn truncate(&mut self, mark: Mark) {
        String::truncate(self, mark.bytes);
    }

    fn copy_within(&mut self, from: Mark, to: Mark) {
        self.extend_from_within(from.bytes..to.bytes);
    }

    fn remove(&mut self, from: Mark, to: Mark) {
        self.drain(from.bytes..to.bytes);
    }
}

/// A [`JsonSink`] that writes a result as the Redshift response carries it: a JSON string
/// literal whose content is the result's JSON text. Structural quotes come out as `\"`,
/// and a string value's own escapes are escaped again (`\\\"` for a quote in it).
///
/// ```text
/// JSON text:        {"note":"say \"hi\""}
/// literal (stored): "{\"note\":\"say \\\"hi\\\"\"}"
/// ```
pub(crate) struct LiteralSink<'a> {
    out: &'a mut Vec<u8>,
    /// Where the JSON text starts (after the opening quote).
    start: usize,
    /// Bytes that escaping added.
    extra: usize,
}

impl<'a> LiteralSink<'a> {
    /// Opens a literal at the end of `out`.
    pub(crate) fn open(out: &'a mut Vec<u8>) -> Self {
        out.push(b'"');
        let start = out.len();
        LiteralSink {
            out,
            start,
            extra: 0,
        }
    }

    /// Closes the literal and returns its JSON text's length. Its UTF-8 is not checked:
    /// strings were written unchecked.
    pub(crate) fn close(self) -> usize {
        let len = JsonSink::len(&self);
        self.out.push(b'"');
        len
    }

    /// Appends `bytes`, the content of a JSON string value, escaped twice.
    fn push_content_twice(&mut self, bytes: &[u8]) {
        let mut copied = 0;
        while let Some(special) = next_special(bytes, copied) {
            self.out.extend_from_slice(&bytes[copied..special]);
            let (once, once_len) = escape_of(bytes[special]);
            // The text holds `once`; its own escapes are what this literal adds.
            for &b in &once[..once_len] {
                self.push_byte_escaped(b);
            }
            copied = special + 1;
        }
        self.out.extend_from_slice(&bytes[copied..]);
    }

    /// Appends `bytes`, JSON text, escaped once.
    fn push_text_once(&mut self, bytes: &[u8]) {
        let mut copied = 0;
        while let Some(special) = next_special(bytes, copied) {
            self.out.extend_from_slice(&bytes[copied..special]);
            self.push_byte_escaped(bytes[special]);
            copied = special + 1;
        }
        self.out.extend_from_slice(&bytes[copied..]);
    }

    /// Appends one byte of JSON text, escaped if a JSON string must escape it.
    #[inline]
    fn push_byte_escaped(&mut self, b: u8) {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            self.out.push(b);
            return;
        }
        let (escape, len) = escape_of(b);
        self.out.extend_from_slice(&escape[..len]);
        self.extra += len - 1;
    }
}

impl JsonSink for LiteralSink<'_> {
    #[inline]
    fn push(&mut self, c: char) {
        if c.is_ascii() {
            self.push_byte_escaped(c as u8);
        } else {
            let mut utf8 = [0; 4];
            self.out
                .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        }
    }

    fn push_str(&mut self, text: &str) {
        self.push_text_once(text.as_bytes());
    }

    #[inline]
    fn push_unescaped(&mut self, text: &str) {
        debug_assert!(next_special(text.as_bytes(), 0).is_none(), "{text:?}");
        self.out.extend_from_slice(text.as_bytes());
    }

    #[inline]
    fn utf8<'b>(&self, bytes: &'b [u8]) -> Result<Utf8<'b>, std::str::Utf8Error> {
        Ok(Utf8::Deferred(bytes))
    }

    #[inline]
    fn push_utf8(&mut self, s: Utf8<'_>) {
        let bytes = s.as_bytes();
        self.out.reserve(bytes.len() + 4);
        self.out.extend_from_slice(br#"\""#);
        self.push_content_twice(bytes);
        self.out.extend_from_slice(br#"\""#);
        self.extra += 2;
    }

    #[inline]
    fn push_text(&mut self, text: &JsonText) {
        self.out.extend_from_slice(text.escaped.as_bytes());
        self.extra += text.escaped.len() - text.plain.len();
    }

    #[inline]
    fn len(&self) -> usize {
        self.out.len() - self.start - self.extra
    }

    #[inline]
    fn mark(&self) -> Mark {
        Mark {
            bytes: self.out.len(),
            extra: self.extra,
        }
    }

    fn truncate(&mut self, mark: Mark) {
        self.out.truncate(mark.bytes);
        self.extra = mark.extra;
    }

    fn copy_within(&mut self, from: Mark, to: Mark) {
        self.out.extend_from_within(from.bytes..to.bytes);
        self.extra += to.extra - from.extra;
    }

    fn remove(&mut self, from: Mark, to: Mark) {
        self.out.drain(from.bytes..to.bytes);
        self.extra -= to.extra - from.extra;
    }
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
pub(crate) fn push_bytes(out: &mut impl JsonSink, data: &[u8], encoding: BytesEncoding) {
    out.push('"');
    match encoding {
        BytesEncoding::Base64 => {
            // Whole groups of three bytes until the last chunk, so only the end is padded.
            let mut text = [0; 1024];
            for chunk in data.chunks(768) {
                let written = base64::engine::general_purpose::STANDARD
                    .encode_slice(chunk, &mut text)
                    .unwrap_or(0);
                out.push_unescaped(std::str::from_utf8(&text[..written]).unwrap_or_default());
            }
        }
        BytesEncoding::Hex => {
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
pub(crate) fn push_f64(out: &mut impl JsonSink, v: f64, non_finite: NonFinite) {
    if v.is_finite() {
        out.push_unescaped(ryu::Buffer::new().format_finite(v));
    } else {
        push_non_finite(out, v.is_nan(), v > 0.0, non_finite);
    }
}

/// Appends a float as the shortest JSON number that reads back to the same `f32`
/// (so `1.1f32` is `1.1`, not `1.100000023841858`).
pub(crate) fn push_f32(out: &mut impl JsonSink, v: f32, non_finite: NonFinite) {
    if v.is_finite() {
        out.push_unescaped(ryu::Buffer::new().format_finite(v));
    } else {
        push_non_finite(out, v.is_nan(), v > 0.0, non_finite);
    }
}

fn push_non_finite(out: &mut impl JsonSink, nan: bool, positive: bool, non_finite: NonFinite) {
    out.push_str(match (non_finite, nan, positive) {
        (NonFinite::Null, _, _) => "null",
        (NonFinite::String, true, _) => "\"NaN\"",
        (NonFinite::String, false, true) => "\"Infinity\"",
        (NonFinite::String, false, false) => "\"-Infinity\"",
    });
}

/// Appends an integer.
pub(crate) fn push_int(out: &mut impl JsonSink, v: impl itoa::Integer) {
    out.push_unescaped(itoa::Buffer::new().format(v));
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

    proptest::proptest! {
        // Strings dense in every byte that needs escaping, at every offset against the
        // eight-byte words, must come out exactly as serde_json writes them.
        #[test]
        fn escapes_every_string_as_serde_json_does(
            s in "[\\x00-\\x1f\"\\\\a-z\\x7fü€😀]{0,40}",
            skip in 0usize..8,
        ) {
            let s: String = s.chars().skip(skip).collect();
            let mut out = String::new();
            push_str_literal(&mut out, &s);
            proptest::prop_assert_eq!(out, serde_json::to_string(&s).unwrap());
        }
    }

    proptest::proptest! {
        // The response's writer: the same escapes for every string, several literals in
        // one buffer, and text after a truncation overwritten cleanly.
        #[test]
        fn literal_buffer_writes_what_serde_json_writes(
            strings in proptest::collection::vec("[\\x00-\\x1f\"\\\\a-z#\\] \\x7fü€😀]{0,40}", 1..6),
        ) {
            let mut buffer = LiteralBuffer::default();
            let mut expected = String::new();
            for s in &strings {
                let before = buffer.len();
                buffer.push_literal("dropped \"\u{1}\"");
                buffer.truncate(before);
                buffer.push_literal(s);
                buffer.push_raw(",");
                expected.push_str(&serde_json::to_string(s).unwrap());
                expected.push(',');
            }
            proptest::prop_assert_eq!(buffer.as_str().unwrap(), expected.as_str());
        }
    }

    /// One write to a [`JsonSink`], for the property test below.
    #[derive(Debug, Clone)]
    enum Op {
        Push(char),
        PushStr(String),
        PushUtf8(String),
        PushText(String),
        /// Back to the mark this many marks ago.
        Truncate(usize),
        /// Copy the text between two earlier marks to the end, then remove it.
        Move(usize, usize),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        let text = "[\\x00-\\x1f\"\\\\a-z:{}\\x7fü€😀]{0,12}";
        prop_oneof![
            proptest::sample::select(vec!['"', '\\', '\n', '\u{1}', 'a', '{', 'ü'])
                .prop_map(Op::Push),
            text.prop_map(Op::PushStr),
            text.prop_map(Op::PushUtf8),
            text.prop_map(Op::PushText),
            (0usize..4).prop_map(Op::Truncate),
            (0usize..4, 0usize..4).prop_map(|(a, b)| Op::Move(a, b)),
        ]
    }

    fn apply(sink: &mut impl JsonSink, op: &Op, marks: &mut Vec<Mark>) {
        match op {
            Op::Push(c) => sink.push(*c),
            Op::PushStr(s) => sink.push_str(s),
            Op::PushUtf8(s) => {
                let checked = sink.utf8(s.as_bytes()).unwrap();
                sink.push_utf8(checked);
            }
            Op::PushText(s) => sink.push_text(&JsonText::new(s.as_str())),
            Op::Truncate(back) => {
                let keep = marks.len().saturating_sub(back + 1);
                sink.truncate(marks[keep]);
                marks.truncate(keep + 1);
                return;
            }
            Op::Move(a, b) => {
                let (i, j) = (
                    marks.len().saturating_sub(a + 1),
                    marks.len().saturating_sub(b + 1),
                );
                let (from, to) = (marks[i.min(j)], marks[i.max(j)]);
                sink.copy_within(from, to);
                sink.remove(from, to);
                marks.truncate(i.min(j) + 1);
            }
        }
        marks.push(sink.mark());
    }

    proptest::proptest! {
        // Whatever is written, a literal sink holds what a `String` does, escaped as
        // serde_json escapes a string, and counts the same length.
        #[test]
        fn literal_sink_holds_the_text_escaped(ops in proptest::collection::vec(op(), 0..24)) {
            let mut text = String::new();
            let mut text_marks = vec![JsonSink::mark(&text)];
            let mut literal = b"kept".to_vec();
            let mut sink = LiteralSink::open(&mut literal);
            let mut literal_marks = vec![sink.mark()];
            for op in &ops {
                apply(&mut text, op, &mut text_marks);
                apply(&mut sink, op, &mut literal_marks);
                proptest::prop_assert_eq!(JsonSink::len(&sink), text.len());
            }
            let len = sink.close();
            proptest::prop_assert_eq!(len, text.len());
            let expected = format!("kept{}", serde_json::to_string(&text).unwrap());
            proptest::prop_assert_eq!(String::from_utf8(literal).unwrap(), expected);
        }
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
