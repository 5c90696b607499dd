//! Avro schema resolution: records written with one schema version (the writer's) read in
//! the shape of another (the reader's), by the rules of the Avro specification.
//!
//! The pair is compiled once into the same kind of node tree the plain decoder walks: the
//! writer's own nodes (for the fields the reader drops, which are read and discarded), then
//! nodes that read the writer's encoding and write the reader's JSON. What the pair allows
//! is decided here, once:
//!
//! * **records** match by unqualified name or a reader alias; fields match by name or a
//!   reader field's alias. A writer field the reader lacks is skipped; a reader field the
//!   writer lacks takes its default (rendered to JSON text once, in the reader's mapping),
//!   and without a default the pair does not resolve. Fields come out in the reader's order.
//! * **promotions**: `int`→`long`/`float`/`double`, `long`→`float`/`double`,
//!   `float`→`double`, `string`↔`bytes`. A `float` reader gets the writer's number rounded to
//!   32 bits, as the reader's type says.
//! * **enums**: a writer symbol the reader lacks reads as the reader's default symbol; with
//!   no default it is an error for the records that carry it.
//! * **unions**: each writer branch is read as the first reader branch of the same type (or
//!   name), else the first it resolves to; a writer branch with no match is an error only
//!   for the records that take it. A writer value that is not a union reads as the first
//!   matching branch of a reader union.
//! * **logical types** read the writer's bytes as the reader's logical type when both have
//!   the same encoding; decimals must agree on their scale.
//!
//! A pair that does not resolve is an error naming the path and the rule.

use std::collections::HashMap;

use apache_avro::Schema;
use apache_avro::schema::{
    Aliases, InnerDecimalSchema, Name, NamesRef, ResolvedSchema, UuidSchema,
};
use serde_json::Value;

use super::reader::Reader;
use super::tree::{self, Branch, Node, NodeId, Tree};
use super::{SchemaError, Walk};
use crate::decode::JsonOptions;
use crate::json_text::JsonText;
use crate::varint;

/// The node kinds only a resolved pair has.
#[derive(Debug)]
pub enum Resolved {
    /// A writer number widened to the reader's type.
    Promote(Promotion),
    /// For each writer symbol index: the reader's symbol as a JSON literal, or the writer
    /// symbol the reader lacks (and has no default for).
    Enum(Box<[Result<JsonText, Box<str>>]>),
    /// A record read in the writer's field order and written in the reader's.
    Record(Box<ResolvedRecord>),
    /// A writer value that is not a union, read as one branch of the reader's union.
    Branch(Branch),
    /// A writer union branch the reader cannot read: an error for the records that take it.
    Incompatible(Box<str>),
}

/// A number read as the writer wrote it and written as the reader's wider type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Promotion {
    IntToFloat,
    IntToDouble,
    LongToFloat,
    LongToDouble,
    FloatToDouble,
}

#[derive(Debug)]
pub struct ResolvedRecord {
    /// One step per writer field, in the writer's order.
    pub steps: Box<[Step]>,
    /// The reader's fields, in the reader's order.
    pub fields: Box<[ReaderField]>,
    /// Whether the read fields come in reader order and every default comes after them, so
    /// the record is written straight through with no reordering.
    pub in_order: bool,
}

#[derive(Debug)]
pub enum Step {
    /// The writer field is the reader's field `slot`.
    Read { slot: usize, node: NodeId },
    /// The reader has no such field: read the value (the writer's node) and drop it.
    Skip { name: Box<str>, node: NodeId },
}

#[derive(Debug)]
pub struct ReaderField {
    /// The JSON key literal, quotes included.
    pub key: JsonText,
    /// The field name, for error paths.
    pub name: Box<str>,
    /// The default's JSON text, for a field the writer lacks.
    pub default: Option<JsonText>,
}

/// Compiles the resolution of records written as `writer` read as `reader`.
pub fn compile(
    writer: &Schema,
    reader: &Schema,
    options: &JsonOptions,
) -> Result<Tree, SchemaError> {
    let invalid = |e| SchemaError::Invalid(Box::new(e));
    let writer_names = ResolvedSchema::try_from(writer).map_err(invalid)?;
    let reader_names = ResolvedSchema::try_from(reader).map_err(invalid)?;
    let writer_tree = tree::compile(writer)?;
    let reader_tree = tree::compile(reader)?;
    let mut resolver = Resolver {
        nodes: writer_tree.nodes,
        writer_names: writer_names.get_names(),
        reader_names: reader_names.get_names(),
        reader_tree: &reader_tree,
        options,
        records: HashMap::new(),
    };
    let root = resolver.resolve(
        writer,
        writer_tree.root,
        reader,
        reader_tree.root,
        &mut String::from("$"),
    )?;
    Ok(Tree {
        nodes: resolver.nodes,
        root,
    })
}

struct Resolver<'a> {
    /// The writer's plain nodes, then the resolved ones.
    nodes: Vec<Node>,
    writer_names: &'a NamesRef<'a>,
    reader_names: &'a NamesRef<'a>,
    /// The reader's plain tree: it renders the defaults.
    reader_tree: &'a Tree,
    options: &'a JsonOptions,
    /// Resolved (writer, reader) record pairs, so recursive records compile to a graph.
    records: HashMap<(String, String), NodeId>,
}

fn incompatible(path: &str, rule: impl std::fmt::Display) -> SchemaError {
    SchemaError::Incompatible(format!("at {path}: {rule}"))
}

/// The type of a schema as messages name it.
fn kind(schema: &Schema) -> String {
    match schema {
        Schema::Record(r) => format!("record {}", r.name.fullname(None)),
        Schema::Enum(e) => format!("enum {}", e.name.fullname(None)),
        Schema::Fixed(f) => format!("fixed {} (size {})", f.name.fullname(None), f.size),
        Schema::Array(_) => "array".into(),
        Schema::Map(_) => "map".into(),
        Schema::Union(_) => "union".into(),
        Schema::Ref { name } => name.fullname(None),
        other => super::canonical::primitive_name(other).map_or_else(
            || format!("{other:?}"),
            |p| logical_name(other).unwrap_or(p).to_owned(),
        ),
    }
}

fn logical_name(schema: &Schema) -> Option<&'static str> {
    Some(match schema {
        Schema::Decimal(_) | Schema::BigDecimal => "decimal",
        Schema::Uuid(_) => "uuid",
        Schema::Date => "date",
        Schema::TimeMillis => "time-millis",
        Schema::TimeMicros => "time-micros",
        Schema::TimestampMillis => "timestamp-millis",
        Schema::TimestampMicros => "timestamp-micros",
        Schema::TimestampNanos => "timestamp-nanos",
        Schema::LocalTimestampMillis => "local-timestamp-millis",
        Schema::LocalTimestampMicros => "local-timestamp-micros",
        Schema::LocalTimestampNanos => "local-timestamp-nanos",
        Schema::Duration(_) => "duration",
        _ => return None,
    })
}

/// How a leaf is encoded, whatever its logical type: what decides whether the reader can
/// read the writer's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Fixed(usize),
}

fn encoding(schema: &Schema) -> Option<Encoding> {
    Some(match schema {
        Schema::Null => Encoding::Null,
        Schema::Boolean => Encoding::Boolean,
        Schema::Int | Schema::Date | Schema::TimeMillis => Encoding::Int,
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => Encoding::Long,
        Schema::Float => Encoding::Float,
        Schema::Double => Encoding::Double,
        Schema::Bytes | Schema::BigDecimal | Schema::Uuid(UuidSchema::Bytes) => Encoding::Bytes,
        Schema::Decimal(d) => match &d.inner {
            InnerDecimalSchema::Bytes => Encoding::Bytes,
            InnerDecimalSchema::Fixed(f) => Encoding::Fixed(f.size),
        },
        Schema::String | Schema::Uuid(UuidSchema::String) => Encoding::String,
        Schema::Fixed(f) | Schema::Duration(f) | Schema::Uuid(UuidSchema::Fixed(f)) => {
            Encoding::Fixed(f.size)
        }
        _ => return None,
    })
}

/// The name of a named schema (record, enum, fixed and the logical types on a fixed) and
/// its aliases.
fn name_of(schema: &Schema) -> Option<(&Name, &Aliases)> {
    match schema {
        Schema::Record(r) => Some((&r.name, &r.aliases)),
        Schema::Enum(e) => Some((&e.name, &e.aliases)),
        Schema::Fixed(f) | Schema::Duration(f) | Schema::Uuid(UuidSchema::Fixed(f)) => {
            Some((&f.name, &f.aliases))
        }
        Schema::Decimal(d) => match &d.inner {
            InnerDecimalSchema::Fixed(f) => Some((&f.name, &f.aliases)),
            InnerDecimalSchema::Bytes => None,
        },
        _ => None,
    }
}

/// Whether a reader's named type reads a writer's: the same unqualified name, or a reader
/// alias naming the writer's type.
fn names_match(writer: &Name, reader: &Name, reader_aliases: &Aliases) -> bool {
    writer.name() == reader.name()
        || reader_aliases.iter().flatten().any(|alias| {
            alias.fullname(reader.namespace()) == writer.fullname(None)
                || alias.name() == writer.name()
        })
}

/// Whether a reader field reads a writer field: the same name or a reader alias.
fn field_matches(writer: &str, reader: &apache_avro::schema::RecordField) -> bool {
    reader.name == writer || reader.aliases.iter().any(|a| a == writer)
}

/// The literal promotions of the specification, for a plain reader type.
fn promotion(writer: Encoding, reader: &Schema) -> Option<Node> {
    use Encoding as E;
    Some(match (writer, reader) {
        (E::Int, Schema::Long) => Node::Int,
        (E::Int, Schema::Float) => Node::Resolved(Resolved::Promote(Promotion::IntToFloat)),
        (E::Int, Schema::Double) => Node::Resolved(Resolved::Promote(Promotion::IntToDouble)),
        (E::Long, Schema::Float) => Node::Resolved(Resolved::Promote(Promotion::LongToFloat)),
        (E::Long, Schema::Double) => Node::Resolved(Resolved::Promote(Promotion::LongToDouble)),
        (E::Float, Schema::Double) => Node::Resolved(Resolved::Promote(Promotion::FloatToDouble)),
        (E::String, Schema::Bytes) => Node::Bytes,
        (E::Bytes, Schema::String) => Node::String,
        _ => return None,
    })
}

impl<'a> Resolver<'a> {
    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// A named type's definition, for a reference.
    fn deref<'s>(&self, schema: &'s Schema, names: &'s NamesRef<'a>) -> &'s Schema
    where
        'a: 's,
    {
        match schema {
            Schema::Ref { name } => names.get(name).copied().unwrap_or(schema),
            other => other,
        }
    }

    fn resolve(
        &mut self,
        writer: &Schema,
        writer_node: NodeId,
        reader: &Schema,
        reader_node: NodeId,
        path: &mut String,
    ) -> Result<NodeId, SchemaError> {
        let writer = self.deref(writer, self.writer_names);
        let reader = self.deref(reader, self.reader_names);
        match (writer, reader) {
            (Schema::Union(w), _) => {
                let Node::Union(writer_branches) = &self.nodes[writer_node] else {
                    return Err(incompatible(
                        path,
                        "internal: writer union has no union node",
                    ));
                };
                let writer_nodes: Vec<NodeId> = writer_branches.iter().map(|b| b.node).collect();
                let mut branches = Vec::with_capacity(w.variants().len());
                for (variant, node) in w.variants().iter().zip(writer_nodes) {
                    let branch = match self.read_as(variant, node, reader, reader_node, path) {
                        Ok(branch) => branch,
                        Err(SchemaError::Incompatible(why)) => Branch {
                            node: self.push(Node::Resolved(Resolved::Incompatible(why.into()))),
                            tagged_prefix: None,
                        },
                        Err(other) => return Err(other),
                    };
                    branches.push(branch);
                }
                Ok(self.push(Node::Union(branches.into())))
            }
            (_, Schema::Union(_)) => {
                let branch = self.read_as(writer, writer_node, reader, reader_node, path)?;
                Ok(self.push(Node::Resolved(Resolved::Branch(branch))))
            }
            (Schema::Record(_), Schema::Record(_)) => {
                self.record(writer, writer_node, reader, reader_node, path)
            }
            (Schema::Enum(w), Schema::Enum(r)) => {
                if !names_match(&w.name, &r.name, &r.aliases) {
                    return Err(self.mismatch(path, writer, reader));
                }
                if w.symbols == r.symbols {
                    return Ok(self.push(Node::Enum(
                        r.symbols.iter().map(|s| JsonText::literal(s)).collect(),
                    )));
                }
                let mapping = w
                    .symbols
                    .iter()
                    .map(|symbol| {
                        match r
                            .symbols
                            .iter()
                            .find(|s| *s == symbol)
                            .or(r.default.as_ref())
                        {
                            Some(read) => Ok(JsonText::literal(read)),
                            None => Err(symbol.as_str().into()),
                        }
                    })
                    .collect();
                Ok(self.push(Node::Resolved(Resolved::Enum(mapping))))
            }
            (Schema::Array(w), Schema::Array(r)) => {
                let items = self.inner(&w.items, writer_node, &r.items, reader_node, "[]", path)?;
                Ok(self.push(Node::Array(items)))
            }
            (Schema::Map(w), Schema::Map(r)) => {
                let values =
                    self.inner(&w.types, writer_node, &r.types, reader_node, "{}", path)?;
                Ok(self.push(Node::Map(values)))
            }
            _ => {
                let node = self.leaf(writer, reader, path)?;
                Ok(self.push(node))
            }
        }
    }

    /// The items of an array or the values of a map (`step` names them in paths): the
    /// writer's and reader's plain nodes for them are the containers' only children.
    fn inner(
        &mut self,
        writer: &Schema,
        writer_node: NodeId,
        reader: &Schema,
        reader_node: NodeId,
        step: &str,
        path: &mut String,
    ) -> Result<NodeId, SchemaError> {
        let child = |node: &Node| match node {
            Node::Array(inner) | Node::Map(inner) => Some(*inner),
            _ => None,
        };
        let (Some(wi), Some(ri)) = (
            child(&self.nodes[writer_node]),
            child(&self.reader_tree.nodes[reader_node]),
        ) else {
            return Err(incompatible(
                path,
                "internal: a container without its nodes",
            ));
        };
        let len = path.len();
        path.push_str(step);
        let resolved = self.resolve(writer, wi, reader, ri, path);
        path.truncate(len);
        resolved
    }

    fn mismatch(&self, path: &str, writer: &Schema, reader: &Schema) -> SchemaError {
        incompatible(
            path,
            format_args!(
                "the writer's {} cannot be read as the reader's {}",
                kind(writer),
                kind(reader)
            ),
        )
    }

    /// A writer value (not a union) read as `reader`; when the reader is a union, as its
    /// first branch of the same type, else the first it resolves to.
    fn read_as(
        &mut self,
        writer: &Schema,
        writer_node: NodeId,
        reader: &Schema,
        reader_node: NodeId,
        path: &mut String,
    ) -> Result<Branch, SchemaError> {
        let writer = self.deref(writer, self.writer_names);
        let reader = self.deref(reader, self.reader_names);
        let Schema::Union(r) = reader else {
            let node = self.resolve(writer, writer_node, reader, reader_node, path)?;
            return Ok(Branch {
                node,
                tagged_prefix: None,
            });
        };
        let Node::Union(reader_branches) = &self.reader_tree.nodes[reader_node] else {
            return Err(incompatible(
                path,
                "internal: reader union has no union node",
            ));
        };
        let variants: Vec<(&Schema, NodeId, Option<JsonText>)> = r
            .variants()
            .iter()
            .zip(reader_branches.iter())
            .map(|(v, b)| {
                (
                    self.deref(v, self.reader_names),
                    b.node,
                    b.tagged_prefix.clone(),
                )
            })
            .collect();
        let same = variants
            .iter()
            .position(|(v, _, _)| self.same_type(writer, v));
        let order: Vec<usize> = same.into_iter().chain(0..variants.len()).collect();
        for i in order {
            let (variant, node, prefix) = &variants[i];
            match self.resolve(writer, writer_node, variant, *node, path) {
                Ok(node) => {
                    return Ok(Branch {
                        node,
                        tagged_prefix: prefix.clone(),
                    });
                }
                Err(SchemaError::Incompatible(_)) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(incompatible(
            path,
            format_args!(
                "the writer's {} matches no branch of the reader's union",
                kind(writer)
            ),
        ))
    }

    /// Whether two schemas are the same type (same name, for named types), before any
    /// promotion.
    fn same_type(&self, writer: &Schema, reader: &Schema) -> bool {
        match (name_of(writer), name_of(reader)) {
            (Some((w, _)), Some((r, aliases))) => {
                std::mem::discriminant(writer) == std::mem::discriminant(reader)
                    && names_match(w, r, aliases)
            }
            (None, None) => match (encoding(writer), encoding(reader)) {
                (Some(w), Some(r)) => w == r,
                _ => std::mem::discriminant(writer) == std::mem::discriminant(reader),
            },
            _ => false,
        }
    }

    fn leaf(&self, writer: &Schema, reader: &Schema, path: &str) -> Result<Node, SchemaError> {
        let (Some(we), Some(re)) = (encoding(writer), encoding(reader)) else {
            return Err(self.mismatch(path, writer, reader));
        };
        if let (Some((w, _)), Some((r, aliases))) = (name_of(writer), name_of(reader))
            && !names_match(w, r, aliases)
        {
            return Err(self.mismatch(path, writer, reader));
        }
        if we == re {
            if let (Schema::Decimal(w), Schema::Decimal(r)) = (writer, reader)
                && w.scale != r.scale
            {
                return Err(incompatible(
                    path,
                    format_args!(
                        "the writer's decimal of scale {} cannot be read as the reader's scale {}",
                        w.scale, r.scale
                    ),
                ));
            }
            return tree::leaf(reader)?.ok_or_else(|| self.mismatch(path, writer, reader));
        }
        promotion(we, reader).ok_or_else(|| self.mismatch(path, writer, reader))
    }

    fn record(
        &mut self,
        writer: &Schema,
        writer_node: NodeId,
        reader: &Schema,
        reader_node: NodeId,
        path: &mut String,
    ) -> Result<NodeId, SchemaError> {
        let (Schema::Record(w), Schema::Record(r)) = (writer, reader) else {
            return Err(self.mismatch(path, writer, reader));
        };
        if !names_match(&w.name, &r.name, &r.aliases) {
            return Err(self.mismatch(path, writer, reader));
        }
        let pair = (w.name.fullname(None), r.name.fullname(None));
        if let Some(id) = self.records.get(&pair) {
            return Ok(*id);
        }
        let id = self.push(Node::Pending);
        self.records.insert(pair.clone(), id);
        let resolved = self.record_body(w, writer_node, r, reader_node, path);
        match resolved {
            Ok(record) => {
                self.nodes[id] = Node::Resolved(Resolved::Record(Box::new(record)));
                Ok(id)
            }
            Err(e) => {
                // A failed trial (a union branch) must not leave a half-made pair behind.
                self.records.remove(&pair);
                Err(e)
            }
        }
    }

    fn record_body(
        &mut self,
        w: &apache_avro::schema::RecordSchema,
        writer_node: NodeId,
        r: &apache_avro::schema::RecordSchema,
        reader_node: NodeId,
        path: &mut String,
    ) -> Result<ResolvedRecord, SchemaError> {
        let (Node::Record(writer_fields), Node::Record(reader_fields)) = (
            &self.nodes[writer_node],
            &self.reader_tree.nodes[reader_node],
        ) else {
            return Err(incompatible(path, "internal: record without record nodes"));
        };
        let writer_nodes: Vec<NodeId> = writer_fields.iter().map(|f| f.node).collect();
        let reader_nodes: Vec<NodeId> = reader_fields.iter().map(|f| f.node).collect();

        let mut read = vec![false; r.fields.len()];
        let mut steps = Vec::with_capacity(w.fields.len());
        for (wf, &wn) in w.fields.iter().zip(&writer_nodes) {
            match r.fields.iter().position(|rf| field_matches(&wf.name, rf)) {
                Some(slot) if !read[slot] => {
                    read[slot] = true;
                    let len = path.len();
                    path.push('.');
                    path.push_str(&r.fields[slot].name);
                    let node = self.resolve(
                        &wf.schema,
                        wn,
                        &r.fields[slot].schema,
                        reader_nodes[slot],
                        path,
                    );
                    // Truncated before `?`: a failed union-branch trial must leave the
                    // path as it found it for the next branch.
                    path.truncate(len);
                    steps.push(Step::Read { slot, node: node? });
                }
                _ => steps.push(Step::Skip {
                    name: wf.name.as_str().into(),
                    node: wn,
                }),
            }
        }
        let mut fields = Vec::with_capacity(r.fields.len());
        for (slot, rf) in r.fields.iter().enumerate() {
            let default = if read[slot] {
                None
            } else {
                let Some(value) = &rf.default else {
                    return Err(incompatible(
                        path,
                        format_args!(
                            "the reader's field '{}' is not in the writer's record {} and has no default",
                            rf.name,
                            w.name.fullname(None)
                        ),
                    ));
                };
                let field_path = format!("{path}.{}", rf.name);
                Some(self.render_default(&rf.schema, reader_nodes[slot], value, &field_path)?)
            };
            fields.push(ReaderField {
                key: JsonText::literal(&rf.name),
                name: rf.name.as_str().into(),
                default,
            });
        }
        let read_slots: Vec<usize> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Read { slot, .. } => Some(*slot),
                Step::Skip { .. } => None,
            })
            .collect();
        let in_order = read_slots.iter().enumerate().all(|(i, &slot)| slot == i);
        Ok(ResolvedRecord {
            steps: steps.into(),
            fields: fields.into(),
            in_order,
        })
    }

    /// A field default (Avro's JSON encoding of a value) as JSON text in this decoder's
    /// mapping: encoded to Avro binary under the reader's type, then decoded like a record.
    fn render_default(
        &self,
        schema: &Schema,
        node: NodeId,
        value: &Value,
        path: &str,
    ) -> Result<JsonText, SchemaError> {
        let mut binary = Vec::new();
        DefaultEncoder {
            names: self.reader_names,
        }
        .encode(schema, value, &mut binary, 0)
        .map_err(|why| incompatible(path, format_args!("the reader's default {value} {why}")))?;
        let mut out = String::new();
        let mut walk = Walk {
            nodes: &self.reader_tree.nodes,
            options: self.options,
            reader: Reader::new(&binary),
            out: &mut out,
            max_len: MAX_DEFAULT_JSON_BYTES,
            max_depth: crate::decode::MAX_SUPPORTED_DEPTH,
            depth: 0,
        };
        walk.value(node).map_err(|f| {
            incompatible(
                path,
                format_args!(
                    "the reader's default {value}: {}",
                    f.into_record_error().message
                ),
            )
        })?;
        Ok(JsonText::new(out))
    }
}

/// Largest JSON text a default may render to.
const MAX_DEFAULT_JSON_BYTES: usize = 1 << 20;

/// Deepest a default value may nest.
const MAX_DEFAULT_DEPTH: usize = 64;

/// Avro's JSON encoding of a default value → Avro binary.
struct DefaultEncoder<'a> {
    names: &'a NamesRef<'a>,
}

fn zigzag(out: &mut Vec<u8>, v: i64) {
    varint::write(out, varint::zigzag_encode(v));
}

/// Avro JSON writes bytes and fixed as a string of code points 0-255, one per byte.
fn latin1(value: &Value) -> Result<Vec<u8>, String> {
    let text = value.as_str().ok_or("is not a string of bytes")?;
    text.chars()
        .map(|c| {
            u8::try_from(u32::from(c)).map_err(|_| format!("has the code point {c:?}, above 255"))
        })
        .collect()
}

impl DefaultEncoder<'_> {
    fn encode(
        &self,
        schema: &Schema,
        value: &Value,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), String> {
        if depth > MAX_DEFAULT_DEPTH {
            return Err(format!("nests deeper than {MAX_DEFAULT_DEPTH} levels"));
        }
        let wrong = || format!("does not fit {}", kind(schema));
        match schema {
            Schema::Ref { name } => {
                let target = self
                    .names
                    .get(name)
                    .ok_or_else(|| format!("names an undefined type {}", name.fullname(None)))?;
                return self.encode(target, value, out, depth + 1);
            }
            Schema::Null if value.is_null() => {}
            Schema::Boolean => out.push(u8::from(value.as_bool().ok_or_else(wrong)?)),
            Schema::Int | Schema::Date | Schema::TimeMillis => {
                let v = value
                    .as_i64()
                    .and_then(|v| i32::try_from(v).ok())
                    .ok_or_else(wrong)?;
                zigzag(out, i64::from(v));
            }
            Schema::Float => {
                out.extend_from_slice(&(value.as_f64().ok_or_else(wrong)? as f32).to_le_bytes())
            }
            Schema::Double => {
                out.extend_from_slice(&value.as_f64().ok_or_else(wrong)?.to_le_bytes())
            }
            Schema::String | Schema::Uuid(UuidSchema::String) => {
                let text = value.as_str().ok_or_else(wrong)?;
                zigzag(out, text.len() as i64);
                out.extend_from_slice(text.as_bytes());
            }
            Schema::Enum(e) => {
                let symbol = value.as_str().ok_or_else(wrong)?;
                let index = e
                    .symbols
                    .iter()
                    .position(|s| s == symbol)
                    .ok_or_else(wrong)?;
                zigzag(out, index as i64);
            }
            Schema::Array(a) => {
                let items = value.as_array().ok_or_else(wrong)?;
                if !items.is_empty() {
                    zigzag(out, items.len() as i64);
                    for item in items {
                        self.encode(&a.items, item, out, depth + 1)?;
                    }
                }
                out.push(0);
            }
            Schema::Map(m) => {
                let entries = value.as_object().ok_or_else(wrong)?;
                if !entries.is_empty() {
                    zigzag(out, entries.len() as i64);
                    for (key, item) in entries {
                        zigzag(out, key.len() as i64);
                        out.extend_from_slice(key.as_bytes());
                        self.encode(&m.types, item, out, depth + 1)?;
                    }
                }
                out.push(0);
            }
            Schema::Union(u) => {
                // The specification's default is for the first branch; a later branch that
                // fits is accepted too, as newer writers allow.
                for (index, variant) in u.variants().iter().enumerate() {
                    let mut attempt = Vec::new();
                    zigzag(&mut attempt, index as i64);
                    if self.encode(variant, value, &mut attempt, depth + 1).is_ok() {
                        out.extend_from_slice(&attempt);
                        return Ok(());
                    }
                }
                return Err(wrong());
            }
            Schema::Record(r) => {
                let object = value.as_object().ok_or_else(wrong)?;
                for field in &r.fields {
                    let item = object
                        .get(&field.name)
                        .or(field.default.as_ref())
                        .ok_or_else(|| {
                            format!("lacks the field '{}', which has no default", field.name)
                        })?;
                    self.encode(&field.schema, item, out, depth + 1)?;
                }
            }
            other => match encoding(other) {
                Some(Encoding::Long) => zigzag(out, value.as_i64().ok_or_else(wrong)?),
                Some(Encoding::Bytes) => {
                    let data = latin1(value)?;
                    zigzag(out, data.len() as i64);
                    out.extend_from_slice(&data);
                }
                Some(Encoding::Fixed(size)) => {
                    let data = latin1(value)?;
                    if data.len() != size {
                        return Err(format!("has {} bytes, not {size}", data.len()));
                    }
                    out.extend_from_slice(&data);
                }
                _ => return Err(wrong()),
            },
        }
        Ok(())
    }
}
