//! Compiles a parsed Avro schema, once, into a flat tree of decoding nodes.
//!
//! Named types become one node each and references point at it, so recursive schemas
//! (a linked list, a tree) compile to a finite graph. Everything that can be decided from
//! the schema alone is decided here: record keys and enum symbols are stored as ready-made
//! JSON string literals, logical types are resolved to their own node kinds, and union tags
//! are prepared for the `tagged` option. The decoding loop in `mod.rs` only walks nodes.

use std::collections::HashMap;

use apache_avro::Schema;
use apache_avro::schema::{DecimalSchema, InnerDecimalSchema, Name, UuidSchema};

use super::super::time::Unit;
use super::SchemaError;
use crate::json_text::{JsonText, str_literal};

pub type NodeId = usize;

/// Longest decimal (in bytes) we decode exactly: 2^2047 has 617 digits, far beyond any real
/// precision, and it keeps big-number formatting cheap on hostile input.
pub const MAX_DECIMAL_BYTES: usize = 256;

#[derive(Debug)]
pub enum Node {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Fixed(usize),
    /// Symbols as JSON string literals.
    Enum(Box<[JsonText]>),
    Array(NodeId),
    Map(NodeId),
    Union(Box<[Branch]>),
    Record(Box<[Field]>),
    /// `decimal`; `fixed_size` is `None` for the `bytes` representation.
    Decimal {
        scale: usize,
        fixed_size: Option<usize>,
    },
    /// `big-decimal`: bytes holding the unscaled value and its own scale.
    BigDecimal,
    /// `uuid` on `string`: passed through as text.
    UuidString,
    /// `uuid` on 16 raw bytes (`fixed(16)`, or `bytes` from older writers).
    UuidBinary {
        fixed: bool,
    },
    Date,
    Time(Unit),
    Timestamp {
        unit: Unit,
        utc: bool,
    },
    /// `duration` on `fixed(12)`.
    Duration,
    /// A node that reads the writer's encoding into the reader's shape (schema
    /// resolution; see the `resolve` module).
    Resolved(super::resolve::Resolved),
    /// A slot reserved for a named type while its body compiles.
    Pending,
}

#[derive(Debug)]
pub struct Branch {
    pub node: NodeId,
    /// `{"<tag>":` prefix for the tagged union option; `None` for the null branch.
    pub tagged_prefix: Option<JsonText>,
}

#[derive(Debug)]
pub struct Field {
    /// The JSON key literal, quotes included.
    pub key: JsonText,
    /// The field name, for error paths.
    pub name: Box<str>,
    pub node: NodeId,
}

pub struct Tree {
    pub nodes: Vec<Node>,
    pub root: NodeId,
}

/// The tree of nodes and the root the decoding starts at.
pub fn compile(schema: &Schema) -> Result<Tree, SchemaError> {
    let mut compiler = Compiler {
        nodes: Vec::new(),
        named: HashMap::new(),
    };
    let root = compiler.node(schema)?;
    Ok(Tree {
        nodes: compiler.nodes,
        root,
    })
}

struct Compiler {
    nodes: Vec<Node>,
    named: HashMap<String, NodeId>,
}

fn full_name(name: &Name) -> String {
    name.fullname(None)
}

impl Compiler {
    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// Reserves the slot for a named type before its body compiles, so that references to
    /// it from inside itself resolve.
    fn reserve(&mut self, name: &Name) -> NodeId {
        let id = self.push(Node::Pending);
        self.named.insert(full_name(name), id);
        id
    }

    fn named(&mut self, name: &Name, node: Node) -> NodeId {
        let id = self.reserve(name);
        self.nodes[id] = node;
        id
    }

    fn node(&mut self, schema: &Schema) -> Result<NodeId, SchemaError> {
        if let Some(node) = leaf(schema)? {
            // A named type with a logical type is that logical type wherever its name is
            // used again, so the name is bound to the logical node, not to the plain fixed.
            return Ok(match leaf_name(schema) {
                Some(name) => self.named(name, node),
                None => self.push(node),
            });
        }
        let node = match schema {
            Schema::Array(a) => {
                let items = self.node(&a.items)?;
                Node::Array(items)
            }
            Schema::Map(m) => {
                let values = self.node(&m.types)?;
                Node::Map(values)
            }
            Schema::Union(u) => {
                let mut branches = Vec::with_capacity(u.variants().len());
                for variant in u.variants() {
                    let node = self.node(variant)?;
                    branches.push(Branch {
                        node,
                        tagged_prefix: tagged_prefix(variant),
                    });
                }
                Node::Union(branches.into())
            }
            Schema::Record(r) => {
                let id = self.reserve(&r.name);
                let mut fields = Vec::with_capacity(r.fields.len());
                for field in &r.fields {
                    fields.push(Field {
                        key: JsonText::literal(&field.name),
                        name: field.name.as_str().into(),
                        node: self.node(&field.schema)?,
                    });
                }
                self.nodes[id] = Node::Record(fields.into());
                return Ok(id);
            }
            Schema::Ref { name } => {
                let full = full_name(name);
                return self
                    .named
                    .get(&full)
                    .copied()
                    .ok_or(SchemaError::UndefinedType(full));
            }
            _ => {
                return Err(SchemaError::UndefinedType(format!(
                    "internal: {schema:?} is neither a leaf nor a container"
                )));
            }
        };
        Ok(self.push(node))
    }
}

/// The node of a schema that holds no other schema: a primitive, fixed, enum or logical
/// type. `None` for arrays, maps, unions, records and references.
pub fn leaf(schema: &Schema) -> Result<Option<Node>, SchemaError> {
    Ok(Some(match schema {
        Schema::Null => Node::Null,
        Schema::Boolean => Node::Boolean,
        Schema::Int => Node::Int,
        Schema::Long => Node::Long,
        Schema::Float => Node::Float,
        Schema::Double => Node::Double,
        Schema::Bytes => Node::Bytes,
        Schema::String => Node::String,
        Schema::Fixed(f) => Node::Fixed(f.size),
        Schema::Enum(e) => Node::Enum(e.symbols.iter().map(|s| JsonText::literal(s)).collect()),
        Schema::Decimal(d) => Node::Decimal {
            scale: d.scale,
            fixed_size: match &d.inner {
                InnerDecimalSchema::Bytes => None,
                InnerDecimalSchema::Fixed(f) => Some(f.size),
            },
        },
        Schema::BigDecimal => Node::BigDecimal,
        Schema::Uuid(UuidSchema::String) => Node::UuidString,
        Schema::Uuid(UuidSchema::Bytes) => Node::UuidBinary { fixed: false },
        Schema::Uuid(UuidSchema::Fixed(f)) => {
            if f.size != 16 {
                return Err(SchemaError::UuidSize(f.size));
            }
            Node::UuidBinary { fixed: true }
        }
        Schema::Date => Node::Date,
        Schema::TimeMillis => Node::Time(Unit::Millis),
        Schema::TimeMicros => Node::Time(Unit::Micros),
        Schema::TimestampMillis => timestamp(Unit::Millis, true),
        Schema::TimestampMicros => timestamp(Unit::Micros, true),
        Schema::TimestampNanos => timestamp(Unit::Nanos, true),
        Schema::LocalTimestampMillis => timestamp(Unit::Millis, false),
        Schema::LocalTimestampMicros => timestamp(Unit::Micros, false),
        Schema::LocalTimestampNanos => timestamp(Unit::Nanos, false),
        Schema::Duration(f) => {
            if f.size != 12 {
                return Err(SchemaError::DurationSize(f.size));
            }
            Node::Duration
        }
        Schema::Array(_) | Schema::Map(_) | Schema::Union(_) | Schema::Record(_) => {
            return Ok(None);
        }
        Schema::Ref { .. } => return Ok(None),
    }))
}

/// The name of a named leaf (fixed, enum, and the logical types on a fixed).
fn leaf_name(schema: &Schema) -> Option<&Name> {
    match schema {
        Schema::Enum(e) => Some(&e.name),
        Schema::Fixed(f)
        | Schema::Duration(f)
        | Schema::Uuid(UuidSchema::Fixed(f))
        | Schema::Decimal(DecimalSchema {
            inner: InnerDecimalSchema::Fixed(f),
            ..
        }) => Some(&f.name),
        _ => None,
    }
}

/// The `{"<tag>":` prefix of a union branch for the tagged option; `None` for null.
pub fn tagged_prefix(variant: &Schema) -> Option<JsonText> {
    match variant {
        Schema::Null => None,
        other => Some(JsonText::new(format!(
            "{{{}:",
            str_literal(&union_tag(other))
        ))),
    }
}

fn timestamp(unit: Unit, utc: bool) -> Node {
    Node::Timestamp { unit, utc }
}

/// The branch name the Avro JSON encoding uses: the full name of a named type, otherwise
/// the (underlying) type name.
fn union_tag(schema: &Schema) -> String {
    if let Some(primitive) = super::canonical::primitive_name(schema) {
        return primitive.into();
    }
    match schema {
        Schema::Array(_) => "array".into(),
        Schema::Map(_) => "map".into(),
        Schema::Record(r) => full_name(&r.name),
        Schema::Enum(e) => full_name(&e.name),
        Schema::Fixed(f)
        | Schema::Duration(f)
        | Schema::Uuid(UuidSchema::Fixed(f))
        | Schema::Decimal(DecimalSchema {
            inner: InnerDecimalSchema::Fixed(f),
            ..
        }) => full_name(&f.name),
        Schema::Ref { name } => full_name(name),
        // Unions cannot nest directly in Avro; primitives were handled above.
        _ => "union".into(),
    }
}
