//! The reference writer (tests only, see [`super::ProtobufDecoder::decode_reference`]): a
//! `prost-reflect` `DynamicMessage` → JSON text: the ProtoJSON mapping with analytics
//! defaults, each with its option:
//!
//! * fields are named by their proto name (option: `json_name`);
//! * fields without presence are emitted at their default value (option: omitted); fields
//!   with explicit presence (oneof members, `optional`, messages) are emitted when set,
//!   even to their default, and omitted when not; a oneof emits only its set member;
//! * enums are their names (option: numbers); a value the enum does not define is its
//!   number; `google.protobuf.NullValue` is `null`;
//! * 64-bit integers are JSON numbers (option: strings, as ProtoJSON does);
//! * bytes are base64 (option: hex); NaN and ±Infinity follow the float option;
//! * maps are objects with their keys in sorted order, so output is deterministic;
//! * well-known types: Timestamp (RFC 3339, `Z`, 0/3/6/9 fraction digits), Duration
//!   (`"1.5s"`), wrappers unwrapped, Struct/Value/ListValue as plain JSON, FieldMask as a
//!   comma-separated string, Any as `{"@type": url, ...fields}` (or `"value"` for a
//!   well-known type) when the type is in the schema, else `{"@type": url, "value": base64}`;
//! * unknown fields are dropped and counted.

use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MapKey, ReflectMessage, Value,
};

use super::{EnumEncoding, FieldNames, PresenceDefaults};
use crate::decode::time;
use crate::decode::{JsonOptions, NumberOrString};
use crate::error::{ErrorCode, RecordError};
use crate::json_text::{self, push_int};

pub struct Writer<'a> {
    options: &'a JsonOptions,
    pool: &'a DescriptorPool,
    out: &'a mut String,
    max_len: usize,
    unknown_fields: u64,
}

fn invalid(message: impl Into<String>) -> RecordError {
    RecordError::new(ErrorCode::DecodeFailed, message)
}

impl<'a> Writer<'a> {
    pub fn new(
        options: &'a JsonOptions,
        pool: &'a DescriptorPool,
        out: &'a mut String,
        max_len: usize,
    ) -> Self {
        Writer {
            options,
            pool,
            out,
            max_len,
            unknown_fields: 0,
        }
    }

    pub fn unknown_fields(&self) -> u64 {
        self.unknown_fields
    }

    fn check_size(&self) -> Result<(), RecordError> {
        crate::decode::check_result_size(self.out.len(), self.max_len)
    }

    pub fn message(&mut self, message: &DynamicMessage) -> Result<(), RecordError> {
        if let Some(done) = self.well_known(message) {
            return done;
        }
        self.out.push('{');
        let mut first = true;
        self.fields(message, &mut first)?;
        self.out.push('}');
        Ok(())
    }

    /// Writes `message`'s fields as object members (no braces).
    fn fields(&mut self, message: &DynamicMessage, first: &mut bool) -> Result<(), RecordError> {
        self.unknown_fields += message.unknown_fields().count() as u64;
        for field in message.descriptor().fields() {
            let set = message.has_field(&field);
            let emit = set
                || (!field.supports_presence()
                    && self.options.protobuf.defaults == PresenceDefaults::Emit);
            if !emit {
                continue;
            }
            if !std::mem::take(first) {
                self.out.push(',');
            }
            let name = match self.options.protobuf.field_names {
                FieldNames::Proto => field.name(),
                FieldNames::Json => field.json_name(),
            };
            json_text::push_str_literal(self.out, name);
            self.out.push(':');
            self.field_value(&field, &message.get_field(&field))?;
            self.check_size()?;
        }
        Ok(())
    }

    fn field_value(&mut self, field: &FieldDescriptor, value: &Value) -> Result<(), RecordError> {
        match value {
            Value::List(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.value(&field.kind(), item)?;
                    self.check_size()?;
                }
                self.out.push(']');
            }
            Value::Map(entries) => {
                let value_kind = match field.kind() {
                    Kind::Message(entry) => entry.map_entry_value_field().kind(),
                    other => other,
                };
                let mut sorted: Vec<(&MapKey, &Value)> = entries.iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(b.0));
                self.out.push('{');
                for (i, (key, value)) in sorted.into_iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.map_key(key);
                    self.out.push(':');
                    self.value(&value_kind, value)?;
                    self.check_size()?;
                }
                self.out.push('}');
            }
            single => self.value(&field.kind(), single)?,
        }
        Ok(())
    }

    fn map_key(&mut self, key: &MapKey) {
        match key {
            MapKey::String(s) => json_text::push_str_literal(self.out, s),
            MapKey::Bool(b) => self.out.push_str(if *b { "\"true\"" } else { "\"false\"" }),
            MapKey::I32(v) => self.quoted_int(*v),
            MapKey::I64(v) => self.quoted_int(*v),
            MapKey::U32(v) => self.quoted_int(*v),
            MapKey::U64(v) => self.quoted_int(*v),
        }
    }

    fn quoted_int(&mut self, v: impl itoa::Integer) {
        self.out.push('"');
        push_int(self.out, v);
        self.out.push('"');
    }

    fn int64(&mut self, v: impl itoa::Integer) {
        match self.options.protobuf.int64 {
            NumberOrString::Number => push_int(self.out, v),
            NumberOrString::String => self.quoted_int(v),
        }
    }

    fn value(&mut self, kind: &Kind, value: &Value) -> Result<(), RecordError> {
        match value {
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::I32(v) => push_int(self.out, *v),
            Value::U32(v) => push_int(self.out, *v),
            Value::I64(v) => self.int64(*v),
            Value::U64(v) => self.int64(*v),
            Value::F32(v) => json_text::push_f32(self.out, *v, self.options.non_finite),
            Value::F64(v) => json_text::push_f64(self.out, *v, self.options.non_finite),
            Value::String(s) => json_text::push_str_literal(self.out, s),
            Value::Bytes(b) => json_text::push_bytes(self.out, b, self.options.bytes),
            Value::EnumNumber(number) => {
                let Kind::Enum(enum_type) = kind else {
                    return Err(invalid("an enum value for a field that is not an enum"));
                };
                if enum_type.full_name() == "google.protobuf.NullValue" {
                    self.out.push_str("null");
                    return Ok(());
                }
                match (self.options.protobuf.enums, enum_type.get_value(*number)) {
                    (EnumEncoding::Name, Some(known)) => {
                        json_text::push_str_literal(self.out, known.name())
                    }
                    _ => push_int(self.out, *number),
                }
            }
            Value::Message(message) => self.message(message)?,
            Value::List(_) | Value::Map(_) => {
                return Err(invalid("a repeated value where a single value belongs"));
            }
        }
        Ok(())
    }

    /// The ProtoJSON form of a well-known type; `None` for any other message.
    fn well_known(&mut self, message: &DynamicMessage) -> Option<Result<(), RecordError>> {
        let descriptor = message.descriptor();
        let name = descriptor.full_name().strip_prefix("google.protobuf.")?;
        let field = |number: u32| message.get_field_by_number(number);
        Some(match name {
            // Both are (seconds, nanos) written as one quoted string.
            "Timestamp" | "Duration" => {
                let seconds = field(1).and_then(|v| v.as_i64()).unwrap_or(0);
                let nanos = field(2).and_then(|v| v.as_i32()).unwrap_or(0);
                let push = if name == "Timestamp" {
                    time::push_rfc3339
                } else {
                    time::push_duration
                };
                self.out.push('"');
                let ok = push(self.out, seconds, nanos);
                self.out.push('"');
                if ok {
                    Ok(())
                } else {
                    Err(invalid(format!(
                        "{name} {seconds}s {nanos}ns is out of range"
                    )))
                }
            }
            "DoubleValue" | "FloatValue" | "Int64Value" | "UInt64Value" | "Int32Value"
            | "UInt32Value" | "BoolValue" | "StringValue" | "BytesValue" => {
                let Some(inner) = descriptor.get_field(1) else {
                    return Some(Err(invalid(format!("{name} has no value field"))));
                };
                self.value(&inner.kind(), &message.get_field(&inner))
            }
            "Struct" => match descriptor.get_field(1) {
                Some(fields) => self.field_value(&fields, &message.get_field(&fields)),
                None => Err(invalid("Struct has no fields field")),
            },
            "ListValue" => match descriptor.get_field(1) {
                Some(values) => self.field_value(&values, &message.get_field(&values)),
                None => Err(invalid("ListValue has no values field")),
            },
            "Value" => self.struct_value(message),
            "FieldMask" => {
                let paths = field(1);
                let paths: Vec<String> = match paths.as_deref() {
                    Some(Value::List(items)) => items
                        .iter()
                        .filter_map(|p| p.as_str())
                        .map(lower_camel)
                        .collect(),
                    _ => Vec::new(),
                };
                json_text::push_str_literal(self.out, &paths.join(","));
                Ok(())
            }
            "Any" => self.any(message),
            _ => return None,
        })
    }

    /// `google.protobuf.Value`: whichever kind is set, as plain JSON.
    fn struct_value(&mut self, message: &DynamicMessage) -> Result<(), RecordError> {
        let set = message.fields().next();
        match set {
            None => self.out.push_str("null"),
            Some((field, value)) => self.field_value(&field, value)?,
        }
        Ok(())
    }

    fn any(&mut self, message: &DynamicMessage) -> Result<(), RecordError> {
        let type_url = message
            .get_field_by_number(1)
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let bytes = message
            .get_field_by_number(2)
            .and_then(|v| v.as_bytes().cloned())
            .unwrap_or_default();
        self.out.push_str("{\"@type\":");
        json_text::push_str_literal(self.out, &type_url);
        let type_name = type_url.rsplit('/').next().unwrap_or_default();
        match self.pool.get_message_by_name(type_name) {
            Some(inner_type) => {
                let inner = DynamicMessage::decode(inner_type, bytes.as_ref())
                    .map_err(|e| invalid(format!("Any of type {type_url} does not decode: {e}")))?;
                if super::wkt::Wkt::of(inner.descriptor().full_name()).is_some() {
                    self.out.push_str(",\"value\":");
                    self.message(&inner)?;
                } else {
                    let mut first = false;
                    self.fields(&inner, &mut first)?;
                }
            }
            None => {
                self.out.push_str(",\"value\":");
                json_text::push_bytes(self.out, &bytes, self.options.bytes);
            }
        }
        self.out.push('}');
        Ok(())
    }
}

/// `foo_bar.baz_qux` → `fooBar.bazQux`, as FieldMask's JSON form names paths.
fn lower_camel(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut upper = false;
    for c in path.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}
