//! The Protobuf decoder: wire format read directly into JSON text.
//!
//! # Design
//!
//! [`Plan::new`] compiles every message of the descriptor pool once per schema version
//! into a [`MessagePlan`]: its fields in declaration order (the order they are written),
//! a field-number lookup, and per field everything the hot loop needs ready-made: the
//! JSON key literal, the value kind, the wire type it must arrive with, presence, oneof
//! membership, and for enums the JSON literal of every value name.
//!
//! A record is then decoded by [`Decoder::message`], one message at a time:
//!
//! 1. **Scan.** The message's bytes are read tag by tag into a list of *occurrences*
//!    (field, position, raw value: a varint, a fixed value, or a borrowed slice of the
//!    input). Nothing is copied and nothing below this level is decoded yet. The wire
//!    type of every tag is checked against the field's before its number is trusted: a
//!    known field arriving with another wire type is dropped and counted like an
//!    unknown field, as the protobuf runtimes do. Oneofs are resolved here: the last
//!    member seen wins, and only its occurrences since it last became the set member
//!    count.
//! 2. **Write.** Fields are written in declaration order from their occurrences:
//!    singular scalars take the last value; a singular message is the merge of all its
//!    occurrences, which protobuf defines as decoding their concatenation, so the child
//!    is decoded from the list of slices; repeated scalars accept packed and unpacked
//!    runs in any mix; maps keep the last value per key and are written in key order;
//!    well-known types take their ProtoJSON form (see [`super::wkt`]); `Any` resolves its
//!    type in the pool and decodes its bytes in place.
//!
//! Each level holds only the occurrences of its own tags, and a child is decoded only
//! while it is being written, so memory is linear in the record (the occurrence lists
//! of the ancestors of the current message, plus the output). Every nested message,
//! group, `Any` payload and `Struct`/`Value`/`ListValue` counts one level against
//! [`DecodeContext::max_depth`](crate::decode::DecodeContext), and skipping an unknown
//! group does too, so the stack is bounded as well: the decoder recurses once per level,
//! so it also caps the depth at [`MAX_SUPPORTED_DEPTH`] whatever the setting says. Lengths are checked against the
//! bytes that remain before they are used; no allocation is sized from the input. The
//! result size is checked after every value, so an oversized result stops at once.

use std::collections::HashMap;

use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor, Syntax};

use super::wkt::{self, Wkt};
use super::{EnumEncoding, FieldNames, PresenceDefaults};
use crate::decode::{JsonOptions, NumberOrString};
use crate::error::{ErrorCode, RecordError};
use crate::json_text::{self, JsonSink, JsonText, push_int};
use crate::varint::{self, VarintError};

/// Index of a message in [`Plan::messages`].
pub type MessageId = u32;

/// Every message and enum of a descriptor pool, compiled for decoding.
pub struct Plan {
    messages: Vec<MessagePlan>,
    enums: Vec<EnumPlan>,
    by_name: HashMap<String, MessageId>,
    options: JsonOptions,
}

struct MessagePlan {
    full_name: Box<str>,
    wkt: Option<Wkt>,
    fields: Vec<FieldPlan>,
    /// Field number → index in `fields`, sorted by number.
    numbers: Vec<(u32, u32)>,
    /// Direct lookup for small field numbers (the common case): `u32::MAX` = none.
    small: Vec<u32>,
    oneofs: usize,
}

struct FieldPlan {
    /// `"name":`, ready to append.
    key: JsonText,
    name: Box<str>,
    kind: ValueKind,
    repeated: bool,
    /// For a map field: the entry message (field 1 key, field 2 value).
    map: Option<MessageId>,
    presence: bool,
    oneof: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueKind {
    Double,
    Float,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Sint32,
    Sint64,
    Fixed32,
    Fixed64,
    Sfixed32,
    Sfixed64,
    Bool,
    String,
    Bytes,
    Enum(u32),
    Message(MessageId),
    Group(MessageId),
}

const WIRE_VARINT: u8 = 0;
const WIRE_FIXED64: u8 = 1;
const WIRE_LEN: u8 = 2;
const WIRE_START_GROUP: u8 = 3;
const WIRE_END_GROUP: u8 = 4;
const WIRE_FIXED32: u8 = 5;

impl ValueKind {
    /// The wire type a single value of this kind arrives with.
    fn wire_type(self) -> u8 {
        match self {
            ValueKind::Int32
            | ValueKind::Int64
            | ValueKind::Uint32
            | ValueKind::Uint64
            | ValueKind::Sint32
            | ValueKind::Sint64
            | ValueKind::Bool
            | ValueKind::Enum(_) => WIRE_VARINT,
            ValueKind::Double | ValueKind::Fixed64 | ValueKind::Sfixed64 => WIRE_FIXED64,
            ValueKind::Float | ValueKind::Fixed32 | ValueKind::Sfixed32 => WIRE_FIXED32,
            ValueKind::String | ValueKind::Bytes | ValueKind::Message(_) => WIRE_LEN,
            ValueKind::Group(_) => WIRE_START_GROUP,
        }
    }

    /// Whether a repeated field of this kind may arrive packed.
    fn packable(self) -> bool {
        matches!(self.wire_type(), WIRE_VARINT | WIRE_FIXED64 | WIRE_FIXED32)
    }
}

struct EnumPlan {
    /// Value number → JSON literal of its name, sorted by number.
    names: Vec<(i32, JsonText)>,
    /// `google.protobuf.NullValue`: always `null`.
    null_value: bool,
    /// A proto2 enum: values it does not define are unknown fields, not values.
    closed: bool,
}

impl EnumPlan {
    fn name(&self, number: i32) -> Option<&JsonText> {
        self.names
            .binary_search_by_key(&number, |(n, _)| *n)
            .ok()
            .map(|i| &self.names[i].1)
    }
}

const SMALL_FIELDS: u32 = 64;

impl Plan {
    pub fn new(pool: &DescriptorPool, options: &JsonOptions) -> Self {
        let by_name: HashMap<String, MessageId> = pool
            .all_messages()
            .enumerate()
            .map(|(i, m)| (m.full_name().to_owned(), i as MessageId))
            .collect();
        let enum_ids: HashMap<String, u32> = pool
            .all_enums()
            .enumerate()
            .map(|(i, e)| (e.full_name().to_owned(), i as u32))
            .collect();
        let enums = pool
            .all_enums()
            .map(|e| {
                let mut numbers: Vec<i32> = e.values().map(|v| v.number()).collect();
                numbers.sort_unstable();
                numbers.dedup();
                // An aliased number is written with the name prost-reflect picks for it
                // (the first declared), as ProtoJSON does.
                let names = numbers
                    .into_iter()
                    .filter_map(|n| e.get_value(n).map(|v| (n, JsonText::literal(v.name()))))
                    .collect();
                EnumPlan {
                    names,
                    null_value: e.full_name() == "google.protobuf.NullValue",
                    closed: e.parent_file().syntax() == Syntax::Proto2,
                }
            })
            .collect();
        let message_id = |m: &MessageDescriptor| by_name.get(m.full_name()).copied().unwrap_or(0);
        let messages = pool
            .all_messages()
            .map(|m| {
                let fields: Vec<FieldPlan> = m
                    .fields()
                    .map(|f| field_plan(&f, options, &message_id, &enum_ids))
                    .collect();
                let mut numbers: Vec<(u32, u32)> = m
                    .fields()
                    .enumerate()
                    .map(|(i, f)| (f.number(), i as u32))
                    .collect();
                numbers.sort_unstable();
                let mut small = vec![u32::MAX; SMALL_FIELDS as usize];
                for &(number, index) in &numbers {
                    if number < SMALL_FIELDS {
                        small[number as usize] = index;
                    }
                }
                MessagePlan {
                    full_name: m.full_name().into(),
                    wkt: Wkt::of(m.full_name()),
                    fields,
                    numbers,
                    small,
                    oneofs: m.oneofs().len(),
                }
            })
            .collect();
        Plan {
            messages,
            enums,
            by_name,
            options: options.clone(),
        }
    }

    pub fn id(&self, full_name: &str) -> Option<MessageId> {
        self.by_name.get(full_name).copied()
    }
}

fn field_plan(
    f: &FieldDescriptor,
    options: &JsonOptions,
    message_id: &impl Fn(&MessageDescriptor) -> MessageId,
    enum_ids: &HashMap<String, u32>,
) -> FieldPlan {
    let kind = match f.kind() {
        Kind::Double => ValueKind::Double,
        Kind::Float => ValueKind::Float,
        Kind::Int32 => ValueKind::Int32,
        Kind::Int64 => ValueKind::Int64,
        Kind::Uint32 => ValueKind::Uint32,
        Kind::Uint64 => ValueKind::Uint64,
        Kind::Sint32 => ValueKind::Sint32,
        Kind::Sint64 => ValueKind::Sint64,
        Kind::Fixed32 => ValueKind::Fixed32,
        Kind::Fixed64 => ValueKind::Fixed64,
        Kind::Sfixed32 => ValueKind::Sfixed32,
        Kind::Sfixed64 => ValueKind::Sfixed64,
        Kind::Bool => ValueKind::Bool,
        Kind::String => ValueKind::String,
        Kind::Bytes => ValueKind::Bytes,
        Kind::Enum(e) => ValueKind::Enum(enum_ids.get(e.full_name()).copied().unwrap_or(0)),
        Kind::Message(m) if f.is_group() => ValueKind::Group(message_id(&m)),
        Kind::Message(m) => ValueKind::Message(message_id(&m)),
    };
    let name = match options.protobuf.field_names {
        FieldNames::Proto => f.name(),
        FieldNames::Json => f.json_name(),
    };
    let mut key = String::from(&*json_text::str_literal(name));
    key.push(':');
    FieldPlan {
        key: JsonText::new(key),
        name: f.name().into(),
        kind,
        repeated: f.is_list() || f.is_map(),
        map: match (f.is_map(), kind) {
            (true, ValueKind::Message(entry)) => Some(entry),
            _ => None,
        },
        presence: f.supports_presence(),
        oneof: f.containing_oneof().and_then(|o| {
            f.parent_message()
                .oneofs()
                .position(|x| x.name() == o.name())
                .map(|i| i as u32)
        }),
    }
}

fn failed(message: impl Into<String>) -> RecordError {
    RecordError::new(ErrorCode::DecodeFailed, message)
}

/// One field's value as it appeared on the wire.
#[derive(Clone, Copy)]
enum Raw<'b> {
    Varint(u64),
    Fixed32(u32),
    Fixed64(u64),
    /// Length-delimited, or a group's content (between its start and end tags).
    Bytes(&'b [u8]),
}

#[derive(Clone, Copy)]
struct Occurrence<'b> {
    field: u32,
    seq: u32,
    /// Length-delimited data for a packable field: a packed run.
    packed: bool,
    raw: Raw<'b>,
}

/// A scanned message: its fields' occurrences grouped by field (declaration order), in
/// wire order within a field, and which member of each oneof is set since when.
struct Scan<'b> {
    occurrences: Vec<Occurrence<'b>>,
    /// Per oneof: (set member's field index, sequence number it became set at).
    oneofs: Vec<(u32, u32)>,
}

impl<'b> Scan<'b> {
    /// The occurrences that count for field `index` of `plan` (for a oneof member that is
    /// not the set one, none).
    fn of(&self, plan: &MessagePlan, index: u32) -> &[Occurrence<'b>] {
        let start = self.occurrences.partition_point(|o| o.field < index);
        let end = self.occurrences.partition_point(|o| o.field <= index);
        self.counted(plan, index, &self.occurrences[start..end])
    }

    /// [`Scan::of`] for fields asked for in increasing index order: `cursor` (from 0)
    /// carries the position from one call to the next, so that writing a message's fields
    /// is one pass over its occurrences rather than two searches per declared field.
    fn of_next(&self, plan: &MessagePlan, index: u32, cursor: &mut usize) -> &[Occurrence<'b>] {
        let rest = self.occurrences.get(*cursor..).unwrap_or_default();
        let skipped = rest.iter().take_while(|o| o.field < index).count();
        let rest = rest.get(skipped..).unwrap_or_default();
        let all = &rest[..rest.iter().take_while(|o| o.field == index).count()];
        *cursor += skipped + all.len();
        self.counted(plan, index, all)
    }

    /// Of `all` the occurrences of field `index`, those that count: all of them, but for a
    /// oneof member only those since it became the set one.
    fn counted<'s>(
        &self,
        plan: &MessagePlan,
        index: u32,
        all: &'s [Occurrence<'b>],
    ) -> &'s [Occurrence<'b>] {
        match plan.fields.get(index as usize).and_then(|f| f.oneof) {
            None => all,
            Some(o) => match self.oneofs.get(o as usize) {
                Some(&(member, since)) if member == index => {
                    let first = all.iter().position(|x| x.seq >= since).unwrap_or(all.len());
                    &all[first..]
                }
                _ => &[],
            },
        }
    }

    /// The last occurrence of field `index` (for the fixed-layout well-known types).
    fn last(&self, plan: &MessagePlan, index: u32) -> Option<Raw<'b>> {
        self.of(plan, index).last().map(|o| o.raw)
    }
}

/// A reader over one slice of wire data.
struct Reader<'b> {
    data: &'b [u8],
}

impl<'b> Reader<'b> {
    #[inline]
    fn varint(&mut self) -> Result<u64, RecordError> {
        match varint::read(self.data) {
            Ok((value, len)) => {
                self.data = &self.data[len..];
                Ok(value)
            }
            Err(VarintError::Truncated) => Err(failed("truncated varint")),
            Err(VarintError::TooLong) => Err(failed("varint longer than 10 bytes")),
        }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'b [u8], RecordError> {
        if n > self.data.len() {
            return Err(failed(format!(
                "truncated {what}: {n} bytes announced, {} left",
                self.data.len()
            )));
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Ok(head)
    }

    fn fixed32(&mut self) -> Result<u32, RecordError> {
        let b = self.take(4, "fixed32")?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn fixed64(&mut self) -> Result<u64, RecordError> {
        let b = self.take(8, "fixed64")?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn length_delimited(&mut self) -> Result<&'b [u8], RecordError> {
        let len = self.varint()?;
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        self.take(len, "length-delimited field")
    }

    /// A tag: (field number, wire type).
    fn tag(&mut self) -> Result<(u32, u8), RecordError> {
        let tag = self.varint()?;
        let number = tag >> 3;
        let wire = (tag & 7) as u8;
        if number == 0 || number > (1 << 29) - 1 {
            return Err(failed(format!("invalid field number {number}")));
        }
        if wire > WIRE_FIXED32 {
            return Err(failed(format!(
                "invalid wire type {wire} for field {number}"
            )));
        }
        Ok((number as u32, wire))
    }

    /// Skips the group started by field `number`; returns its content. Nested groups
    /// count against the depth limit.
    fn group(
        &mut self,
        number: u32,
        depth: usize,
        max_depth: usize,
    ) -> Result<&'b [u8], RecordError> {
        if depth >= max_depth {
            return Err(too_deep(max_depth));
        }
        let start = self.data;
        loop {
            if self.data.is_empty() {
                return Err(failed(format!("group {number} has no end tag")));
            }
            let before = self.data.len();
            let (n, wire) = self.tag()?;
            if wire == WIRE_END_GROUP {
                if n != number {
                    return Err(failed(format!(
                        "group {number} ends with the end tag of field {n}"
                    )));
                }
                let content = start.len() - before;
                return Ok(&start[..content]);
            }
            self.skip(n, wire, depth + 1, max_depth)?;
        }
    }

    fn skip(
        &mut self,
        number: u32,
        wire: u8,
        depth: usize,
        max_depth: usize,
    ) -> Result<(), RecordError> {
        match wire {
            WIRE_VARINT => {
                self.varint()?;
            }
            WIRE_FIXED64 => {
                self.take(8, "fixed64")?;
            }
            WIRE_LEN => {
                self.length_delimited()?;
            }
            WIRE_START_GROUP => {
                self.group(number, depth, max_depth)?;
            }
            WIRE_FIXED32 => {
                self.take(4, "fixed32")?;
            }
            _ => {
                return Err(failed(format!(
                    "unexpected end-group tag for field {number}"
                )));
            }
        }
        Ok(())
    }
}

// The decoder recurses once per level, about 3 KiB of stack per level in a debug build.
pub use crate::decode::MAX_SUPPORTED_DEPTH;

fn too_deep(max_depth: usize) -> RecordError {
    let cap = if max_depth == MAX_SUPPORTED_DEPTH {
        "; the Protobuf decoder allows at most 400 whatever --max-depth says"
    } else {
        ""
    };
    RecordError::new(
        ErrorCode::NestingTooDeep,
        format!(
            "the record nests deeper than {max_depth} levels (messages, groups, Any, Struct and Value all count{cap})"
        ),
    )
}

/// Decodes records with a [`Plan`] into one output: JSON text, or the literal that holds it.
pub struct Decoder<'a, S: JsonSink> {
    plan: &'a Plan,
    out: &'a mut S,
    max_len: usize,
    max_depth: usize,
    unknown_fields: u64,
}

/// A map key, ordered as the keys are written (numbers numerically, strings bytewise).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum MapKey<'b> {
    Bool(bool),
    Signed(i64),
    Unsigned(u64),
    Str(&'b str),
}

impl<'a, S: JsonSink> Decoder<'a, S> {
    /// `max_depth` is capped at [`MAX_SUPPORTED_DEPTH`].
    pub fn new(plan: &'a Plan, out: &'a mut S, max_len: usize, max_depth: usize) -> Self {
        Decoder {
            plan,
            out,
            max_len,
            max_depth: max_depth.min(MAX_SUPPORTED_DEPTH),
            unknown_fields: 0,
        }
    }

    pub fn unknown_fields(&self) -> u64 {
        self.unknown_fields
    }

    fn check_size(&self) -> Result<(), RecordError> {
        crate::decode::check_result_size(self.out.len(), self.max_len)
    }

    fn message_plan(&self, id: MessageId) -> Result<&'a MessagePlan, RecordError> {
        let plan: &'a Plan = self.plan;
        plan.messages
            .get(id as usize)
            .ok_or_else(|| failed("internal: message plan missing"))
    }

    fn enter(&self, depth: usize) -> Result<(), RecordError> {
        if depth >= self.max_depth {
            return Err(too_deep(self.max_depth));
        }
        Ok(())
    }

    /// Writes the message `id` made of the concatenation of `segments`, `depth` levels
    /// below the record (the record itself is depth 0).
    pub fn message(
        &mut self,
        id: MessageId,
        segments: &[&[u8]],
        depth: usize,
    ) -> Result<(), RecordError> {
        self.enter(depth)?;
        let plan = self.message_plan(id)?;
        let scan = self.scan(plan, segments, depth)?;
        match plan.wkt {
            None => {
                self.out.push('{');
                let mut first = true;
                self.fields(plan, &scan, &mut first, depth)?;
                self.out.push('}');
            }
            Some(wkt @ (Wkt::Timestamp | Wkt::Duration)) => {
                let seconds = match scan.last(plan, 0) {
                    Some(Raw::Varint(v)) => v as i64,
                    _ => 0,
                };
                let nanos = match scan.last(plan, 1) {
                    Some(Raw::Varint(v)) => v as i32,
                    _ => 0,
                };
                wkt::push_time(self.out, wkt, seconds, nanos)?;
            }
            Some(Wkt::Wrapper | Wkt::Struct | Wkt::ListValue) => {
                // The one field (`value`, `fields`, `values`) is the whole JSON value.
                let Some(field) = plan.fields.first() else {
                    return Err(failed(format!("{} has no fields", plan.full_name)));
                };
                if field.repeated {
                    self.field_value(field, scan.of(plan, 0), depth)?;
                } else {
                    self.singular(field.kind, scan.of(plan, 0), &field.name, false, depth)?;
                }
            }
            Some(Wkt::Value) => match scan.oneofs.first() {
                Some(&(member, _)) if member != u32::MAX => {
                    let Some(field) = plan.fields.get(member as usize) else {
                        return Err(failed("internal: Value member missing"));
                    };
                    self.singular(field.kind, scan.of(plan, member), &field.name, false, depth)?;
                }
                _ => self.out.push_unescaped("null"),
            },
            Some(Wkt::FieldMask) => {
                let mut paths = Vec::new();
                for o in scan.of(plan, 0) {
                    if let Raw::Bytes(b) = o.raw {
                        paths.push(utf8(b, "FieldMask.paths")?);
                    }
                }
                wkt::push_field_mask(self.out, paths)?;
            }
            Some(Wkt::Any) => self.any(plan, &scan, depth)?,
        }
        Ok(())
    }

    /// `{"@type": url, ...}`: the payload's fields, or `"value"` for a type with a special
    /// JSON form, or its bytes when the type is not in the schema.
    fn any(&mut self, plan: &MessagePlan, scan: &Scan, depth: usize) -> Result<(), RecordError> {
        let type_url = match scan.last(plan, 0) {
            Some(Raw::Bytes(b)) => utf8(b, "Any.type_url")?,
            _ => "",
        };
        let value: &[u8] = match scan.last(plan, 1) {
            Some(Raw::Bytes(b)) => b,
            _ => &[],
        };
        self.out.push_str("{\"@type\":");
        self.out.push_string(type_url);
        let type_name = type_url.rsplit('/').next().unwrap_or_default();
        match self.plan.id(type_name) {
            Some(inner) => {
                let inner_plan = self.message_plan(inner)?;
                if inner_plan.wkt.is_some() {
                    self.out.push_str(",\"value\":");
                    self.message(inner, &[value], depth + 1)?;
                } else {
                    self.enter(depth + 1)?;
                    let inner_scan = self.scan(inner_plan, &[value], depth + 1)?;
                    let mut first = false;
                    self.fields(inner_plan, &inner_scan, &mut first, depth + 1)?;
                }
            }
            None => {
                self.out.push_str(",\"value\":");
                json_text::push_bytes(self.out, value, self.plan.options.bytes);
            }
        }
        self.out.push('}');
        Ok(())
    }

    /// Reads the tags of a message into occurrences, dropping (and counting) unknown
    /// fields and known fields with the wrong wire type.
    fn scan<'b>(
        &mut self,
        plan: &MessagePlan,
        segments: &[&'b [u8]],
        depth: usize,
    ) -> Result<Scan<'b>, RecordError> {
        // Sized from the schema, not the input (and capped): most messages carry each
        // field once, so this is usually the list's one allocation.
        let mut occurrences = Vec::with_capacity(plan.fields.len().min(32));
        let mut oneofs = vec![(u32::MAX, 0u32); plan.oneofs];
        let mut seq = 0u32;
        for segment in segments {
            let mut reader = Reader { data: segment };
            while !reader.data.is_empty() {
                let (number, wire) = reader.tag()?;
                if wire == WIRE_END_GROUP {
                    return Err(failed(format!(
                        "end-group tag for field {number} outside its group in {}",
                        plan.full_name
                    )));
                }
                let known =
                    lookup(plan, number).and_then(|i| plan.fields.get(i as usize).map(|f| (i, f)));
                let packed = match known {
                    Some((_, f)) if f.kind.wire_type() == wire => false,
                    Some((_, f)) if f.repeated && wire == WIRE_LEN && f.kind.packable() => true,
                    _ => {
                        reader.skip(number, wire, depth + 1, self.max_depth)?;
                        self.unknown_fields += 1;
                        continue;
                    }
                };
                let Some((index, field)) = known else {
                    continue;
                };
                let raw = match wire {
                    WIRE_VARINT => Raw::Varint(reader.varint()?),
                    WIRE_FIXED64 => Raw::Fixed64(reader.fixed64()?),
                    WIRE_FIXED32 => Raw::Fixed32(reader.fixed32()?),
                    WIRE_LEN => Raw::Bytes(reader.length_delimited()?),
                    _ => Raw::Bytes(reader.group(number, depth + 1, self.max_depth)?),
                };
                if let Some(o) = field.oneof
                    && let Some(state) = oneofs.get_mut(o as usize)
                    && state.0 != index
                {
                    *state = (index, seq);
                }
                occurrences.push(Occurrence {
                    field: index,
                    seq,
                    packed,
                    raw,
                });
                seq = seq.saturating_add(1);
            }
        }
        // Stable: wire order is kept within each field. Writers emit fields in number
        // order, so the occurrences are usually sorted already (and a stable sort of many
        // would allocate).
        if !occurrences.is_sorted_by_key(|o| o.field) {
            occurrences.sort_by_key(|o| o.field);
        }
        Ok(Scan {
            occurrences,
            oneofs,
        })
    }

    /// Writes `plan`'s fields as object members (no braces).
    fn fields(
        &mut self,
        plan: &MessagePlan,
        scan: &Scan,
        first: &mut bool,
        depth: usize,
    ) -> Result<(), RecordError> {
        let emit_defaults = self.plan.options.protobuf.defaults == PresenceDefaults::Emit;
        let mut cursor = 0;
        for (index, field) in plan.fields.iter().enumerate() {
            let occurrences = scan.of_next(plan, index as u32, &mut cursor);
            if occurrences.is_empty() && (field.presence || !emit_defaults) {
                continue;
            }
            let start = self.out.mark();
            if !*first {
                self.out.push(',');
            }
            self.out.push_text(&field.key);
            let written = self
                .field_value(field, occurrences, depth)
                .map_err(|e| at(e, &field.name))?;
            // Without presence, a default value is "not set": omitted unless asked for.
            let keep = match written {
                Written::Nothing => false,
                Written::Default => field.presence || emit_defaults,
                Written::Value => true,
            };
            if !keep {
                self.out.truncate(start);
                continue;
            }
            *first = false;
            self.check_size()?;
        }
        Ok(())
    }

    /// Writes a field's JSON value from its occurrences (none: the default value).
    fn field_value(
        &mut self,
        field: &FieldPlan,
        occurrences: &[Occurrence],
        depth: usize,
    ) -> Result<Written, RecordError> {
        if let Some(entry) = field.map {
            return self.map(entry, occurrences, depth);
        }
        if !field.repeated {
            return self.singular(field.kind, occurrences, &field.name, field.presence, depth);
        }
        self.out.push('[');
        let mut count = 0usize;
        for o in occurrences {
            match (o.packed, o.raw) {
                (true, Raw::Bytes(run)) => {
                    let mut reader = Reader { data: run };
                    while !reader.data.is_empty() {
                        let raw = match field.kind.wire_type() {
                            WIRE_VARINT => Raw::Varint(reader.varint()?),
                            WIRE_FIXED64 => Raw::Fixed64(reader.fixed64()?),
                            _ => Raw::Fixed32(reader.fixed32()?),
                        };
                        self.element(field, raw, &mut count, depth)?;
                    }
                }
                (_, raw) => self.element(field, raw, &mut count, depth)?,
            }
        }
        self.out.push(']');
        Ok(if count > 0 {
            Written::Value
        } else {
            Written::Default
        })
    }

    /// A singular value: a message merged from all its occurrences, or the last scalar.
    /// Without occurrences it is the default, or nothing for a field with `presence`.
    fn singular(
        &mut self,
        kind: ValueKind,
        occurrences: &[Occurrence],
        name: &str,
        presence: bool,
        depth: usize,
    ) -> Result<Written, RecordError> {
        if let ValueKind::Message(id) | ValueKind::Group(id) = kind {
            if occurrences.is_empty() && presence {
                return Ok(Written::Nothing);
            }
            let segments: Vec<&[u8]> = occurrences
                .iter()
                .filter_map(|o| match o.raw {
                    Raw::Bytes(b) => Some(b),
                    _ => None,
                })
                .collect();
            self.message(id, &segments, depth + 1)?;
            return Ok(Written::Value);
        }
        // Every string occurrence must be valid, even those a later one replaces (the
        // last is checked as it is written).
        if kind == ValueKind::String
            && let Some((_, replaced)) = occurrences.split_last()
        {
            for o in replaced {
                if let Raw::Bytes(b) = o.raw {
                    utf8(b, name)?;
                }
            }
        }
        // Last value wins; a closed enum's undefined values are unknown fields.
        let mut last = None;
        for o in occurrences {
            if self.closed_enum_unknown(kind, o.raw) {
                self.unknown_fields += 1;
            } else {
                last = Some(o.raw);
            }
        }
        if last.is_none() && presence {
            return Ok(Written::Nothing);
        }
        let non_default = self.scalar(kind, last, name)?;
        Ok(if non_default || last.is_some() && presence {
            Written::Value
        } else {
            Written::Default
        })
    }

    fn closed_enum_unknown(&self, kind: ValueKind, raw: Raw) -> bool {
        match (kind, raw) {
            (ValueKind::Enum(e), Raw::Varint(v)) => self
                .plan
                .enums
                .get(e as usize)
                .is_some_and(|e| e.closed && e.name(v as i32).is_none()),
            _ => false,
        }
    }

    fn element(
        &mut self,
        field: &FieldPlan,
        raw: Raw,
        count: &mut usize,
        depth: usize,
    ) -> Result<(), RecordError> {
        if self.closed_enum_unknown(field.kind, raw) {
            self.unknown_fields += 1;
            return Ok(());
        }
        if *count > 0 {
            self.out.push(',');
        }
        *count += 1;
        match (field.kind, raw) {
            (ValueKind::Message(id) | ValueKind::Group(id), Raw::Bytes(b)) => {
                self.message(id, &[b], depth + 1)
                    .map_err(|e| at(e, &format!("[{}]", *count - 1)))?;
            }
            (kind, raw) => {
                self.scalar(kind, Some(raw), &field.name)?;
            }
        }
        self.check_size()
    }

    /// Writes a scalar (`None`: the kind's default). Returns whether it is not the
    /// default (for floats: any value but +0.0, so -0.0 counts as set).
    fn scalar(
        &mut self,
        kind: ValueKind,
        raw: Option<Raw>,
        name: &str,
    ) -> Result<bool, RecordError> {
        let v64 = match raw {
            Some(Raw::Varint(v) | Raw::Fixed64(v)) => v,
            Some(Raw::Fixed32(v)) => u64::from(v),
            Some(Raw::Bytes(_)) | None => 0,
        };
        let bytes: &[u8] = match raw {
            Some(Raw::Bytes(b)) => b,
            _ => &[],
        };
        let plan: &Plan = self.plan;
        let options = &plan.options;
        Ok(match kind {
            ValueKind::Double => {
                json_text::push_f64(self.out, f64::from_bits(v64), options.non_finite);
                v64 != 0
            }
            ValueKind::Float => {
                json_text::push_f32(self.out, f32::from_bits(v64 as u32), options.non_finite);
                v64 as u32 != 0
            }
            ValueKind::Int32 | ValueKind::Sfixed32 => {
                push_int(self.out, v64 as i32);
                v64 as i32 != 0
            }
            ValueKind::Uint32 | ValueKind::Fixed32 => {
                push_int(self.out, v64 as u32);
                v64 as u32 != 0
            }
            ValueKind::Sint32 => {
                let v = v64 as u32;
                let v = (v >> 1) as i32 ^ -((v & 1) as i32);
                push_int(self.out, v);
                v != 0
            }
            ValueKind::Int64 | ValueKind::Sfixed64 => {
                self.int64(v64 as i64);
                v64 != 0
            }
            ValueKind::Uint64 | ValueKind::Fixed64 => {
                self.int64(v64);
                v64 != 0
            }
            ValueKind::Sint64 => {
                let v = (v64 >> 1) as i64 ^ -((v64 & 1) as i64);
                self.int64(v);
                v != 0
            }
            ValueKind::Bool => {
                self.out
                    .push_unescaped(if v64 != 0 { "true" } else { "false" });
                v64 != 0
            }
            ValueKind::String => {
                let text = self.out.utf8(bytes).map_err(|e| utf8_error(&e, name))?;
                self.out.push_utf8(text);
                !bytes.is_empty()
            }
            ValueKind::Bytes => {
                json_text::push_bytes(self.out, bytes, options.bytes);
                !bytes.is_empty()
            }
            ValueKind::Enum(e) => {
                let number = v64 as i32;
                match plan.enums.get(e as usize) {
                    Some(e) if e.null_value => self.out.push_unescaped("null"),
                    Some(e) => match (options.protobuf.enums, e.name(number)) {
                        (EnumEncoding::Name, Some(literal)) => self.out.push_text(literal),
                        _ => push_int(self.out, number),
                    },
                    None => push_int(self.out, number),
                }
                number != 0
            }
            ValueKind::Message(_) | ValueKind::Group(_) => {
                return Err(failed("internal: a message where a scalar belongs"));
            }
        })
    }

    fn int64(&mut self, v: impl itoa::Integer) {
        match self.plan.options.protobuf.int64 {
            NumberOrString::Number => push_int(self.out, v),
            NumberOrString::String => self.quoted(v),
        }
    }

    fn quoted(&mut self, v: impl itoa::Integer) {
        self.out.push('"');
        push_int(self.out, v);
        self.out.push('"');
    }

    /// A map: entries decoded, the last value per key kept, written in key order. An
    /// entry is not a nesting level of its own: its value (if a message) is one below the
    /// map's message, as in the JSON.
    fn map(
        &mut self,
        entry: MessageId,
        occurrences: &[Occurrence],
        depth: usize,
    ) -> Result<Written, RecordError> {
        let plan = self.message_plan(entry)?;
        let (Some(key_index), Some(value_index)) = (lookup(plan, 1), lookup(plan, 2)) else {
            return Err(failed(format!("{} is not a map entry", plan.full_name)));
        };
        let (Some(key_plan), Some(value_plan)) = (
            plan.fields.get(key_index as usize),
            plan.fields.get(value_index as usize),
        ) else {
            return Err(failed(format!("{} is not a map entry", plan.full_name)));
        };
        let mut entries: Vec<(MapKey, Scan)> = Vec::new();
        for o in occurrences {
            let Raw::Bytes(bytes) = o.raw else { continue };
            let scan = self.scan(plan, &[bytes], depth)?;
            // A closed enum value the enum does not define makes the entry unknown.
            if let Some(raw) = scan.last(plan, value_index)
                && self.closed_enum_unknown(value_plan.kind, raw)
            {
                self.unknown_fields += 1;
                continue;
            }
            let key = map_key(key_plan.kind, scan.last(plan, key_index))?;
            entries.push((key, scan));
        }
        // Stable sort, then keep the last entry of each key.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        self.out.push('{');
        let mut written = 0usize;
        for (i, (key, scan)) in entries.iter().enumerate() {
            if entries.get(i + 1).is_some_and(|next| next.0 == *key) {
                continue;
            }
            if written > 0 {
                self.out.push(',');
            }
            written += 1;
            match key {
                MapKey::Str(s) => self.out.push_string(s),
                MapKey::Bool(b) => self.out.push_str(if *b { "\"true\"" } else { "\"false\"" }),
                MapKey::Signed(v) => self.quoted(*v),
                MapKey::Unsigned(v) => self.quoted(*v),
            }
            self.out.push(':');
            self.singular(
                value_plan.kind,
                scan.of(plan, value_index),
                &value_plan.name,
                false,
                depth,
            )?;
            self.check_size()?;
        }
        self.out.push('}');
        Ok(if written > 0 {
            Written::Value
        } else {
            Written::Default
        })
    }
}

/// What a field wrote.
enum Written {
    /// Nothing (a field with presence that is not set after all): drop the key.
    Nothing,
    /// The default value (dropped when defaults are omitted and the field has no presence).
    Default,
    Value,
}

/// Prefixes a decoding error with the field (or `[index]`) it happened in, so that the
/// message reads `at lines[2].sku: …`. Depth and size errors are about the whole record.
fn at(mut e: RecordError, step: &str) -> RecordError {
    if matches!(
        e.code,
        ErrorCode::NestingTooDeep | ErrorCode::ResultTooLarge
    ) {
        return e;
    }
    e.message = match e.message.strip_prefix("at ") {
        Some(rest) if rest.starts_with('[') => format!("at {step}{rest}"),
        Some(rest) => format!("at {step}.{rest}"),
        None => format!("at {step}: {}", e.message),
    };
    e
}

fn lookup(plan: &MessagePlan, number: u32) -> Option<u32> {
    if number < SMALL_FIELDS {
        let index = *plan.small.get(number as usize)?;
        return (index != u32::MAX).then_some(index);
    }
    plan.numbers
        .binary_search_by_key(&number, |(n, _)| *n)
        .ok()
        .map(|i| plan.numbers[i].1)
}

fn utf8<'b>(bytes: &'b [u8], field: &str) -> Result<&'b str, RecordError> {
    std::str::from_utf8(bytes).map_err(|e| utf8_error(&e, field))
}

fn utf8_error(e: &std::str::Utf8Error, field: &str) -> RecordError {
    RecordError::new(
        ErrorCode::InvalidUtf8,
        format!("string field {field} is not valid UTF-8: {e}"),
    )
}

fn map_key<'b>(kind: ValueKind, raw: Option<Raw<'b>>) -> Result<MapKey<'b>, RecordError> {
    let v = match raw {
        Some(Raw::Varint(v) | Raw::Fixed64(v)) => v,
        Some(Raw::Fixed32(v)) => u64::from(v),
        _ => 0,
    };
    Ok(match kind {
        ValueKind::Bool => MapKey::Bool(v != 0),
        ValueKind::Int32 | ValueKind::Sfixed32 => MapKey::Signed(i64::from(v as i32)),
        ValueKind::Sint32 => {
            let v = v as u32;
            MapKey::Signed(i64::from((v >> 1) as i32 ^ -((v & 1) as i32)))
        }
        ValueKind::Int64 | ValueKind::Sfixed64 => MapKey::Signed(v as i64),
        ValueKind::Sint64 => MapKey::Signed((v >> 1) as i64 ^ -((v & 1) as i64)),
        ValueKind::Uint32 | ValueKind::Fixed32 => MapKey::Unsigned(u64::from(v as u32)),
        ValueKind::Uint64 | ValueKind::Fixed64 => MapKey::Unsigned(v),
        ValueKind::String => MapKey::Str(match raw {
            Some(Raw::Bytes(b)) => utf8(b, "map key")?,
            _ => "",
        }),
        _ => return Err(failed("a map key of a type maps cannot have")),
    })
}
