//! Schema references: an Avro schema registered in a Confluent-compatible registry may use
//! named types (records, enums, fixed) that other registered schemas define. Avro itself
//! has no imports: a schema stands alone when every named type is defined at its first use
//! and referred to by name after that. [`inline_references`] rewrites a schema into that
//! form, so that everything downstream (the decoder tree, resolution, canonical form and
//! fingerprint) sees one ordinary schema.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

/// Names that are never named types.
const PRIMITIVES: [&str; 8] = [
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
];

/// Deepest nesting the inlined schema may reach (each text alone is at most 128 deep, as
/// `serde_json` parses it; inlining nests them).
pub const MAX_DEPTH: usize = 256;

/// Why a schema and its references do not make one schema.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// A schema text is not JSON.
    #[error("schema {which} is not JSON: {source}")]
    NotJson {
        /// Which text: the schema, or a reference by its name.
        which: String,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A reference does not define a named type at its top level.
    #[error("reference {0} does not define a named type (record, enum or fixed)")]
    NotNamed(String),
    /// The schema with its references inlined nests deeper than [`MAX_DEPTH`].
    #[error("the schema with its references nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// The schema `schema` with the named types of `references` (the texts of the schemas it
/// references, directly or through each other, in any order, with the names they are
/// referenced by) defined inline at their first use, and referred to by full name after
/// that. Types nested inside a reference may be used on their own. Names that neither the
/// schema nor a reference defines are left as they are, for the Avro parser to report.
pub fn inline_references(
    schema: &str,
    references: &[(&str, &str)],
) -> Result<String, ReferenceError> {
    let parse = |which: &str, text: &str| {
        serde_json::from_str::<Value>(text).map_err(|source| ReferenceError::NotJson {
            which: which.to_owned(),
            source,
        })
    };
    let mut definitions = HashMap::new();
    for (name, text) in references {
        let definition = parse(name, text)?;
        if definition
            .as_object()
            .and_then(|o| full_name(o, ""))
            .is_none()
        {
            return Err(ReferenceError::NotNamed((*name).to_owned()));
        }
        index(&definition, "", &mut definitions);
    }
    let mut root = parse("text", schema)?;
    let mut inliner = Inliner {
        definitions,
        defined: HashSet::new(),
    };
    inliner.walk(&mut root, "", 0)?;
    Ok(root.to_string())
}

/// Every named type `value` defines, nested ones included, by full name: a copy each, with
/// its namespace written out so that it keeps its full name wherever it is placed.
fn index(value: &Value, namespace: &str, out: &mut HashMap<String, Value>) {
    match value {
        Value::Array(branches) => {
            for branch in branches {
                index(branch, namespace, out);
            }
        }
        Value::Object(object) => {
            if let Some(full) = full_name(object, namespace) {
                let inner = namespace_of(&full).to_owned();
                if let Some(Value::Array(fields)) = object.get("fields") {
                    for field in fields {
                        if let Some(kind) = field.get("type") {
                            index(kind, &inner, out);
                        }
                    }
                }
                let mut copy = object.clone();
                if !copy.get("namespace").is_some_and(Value::is_string) {
                    copy.insert("namespace".to_owned(), Value::String(inner));
                }
                out.entry(full).or_insert(Value::Object(copy));
                return;
            }
            for key in ["type", "items", "values"] {
                if let Some(inner) = object.get(key) {
                    index(inner, namespace, out);
                }
            }
        }
        _ => {}
    }
}

/// The full name a named-type definition gives itself in `namespace`, or `None` when
/// `object` is not a named-type definition. A `namespace` that is not a string (null) is
/// as if absent.
fn full_name(object: &Map<String, Value>, namespace: &str) -> Option<String> {
    let kind = object.get("type")?.as_str()?;
    if !matches!(kind, "record" | "error" | "enum" | "fixed") {
        return None;
    }
    let name = object.get("name")?.as_str()?;
    let namespace = object
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or(namespace);
    Some(qualify(name, namespace))
}

/// `name` in `namespace`: a name with a dot is already full (a leading dot means the null
/// namespace).
fn qualify(name: &str, namespace: &str) -> String {
    if let Some(null_namespace) = name.strip_prefix('.') {
        null_namespace.to_owned()
    } else if name.contains('.') || namespace.is_empty() {
        name.to_owned()
    } else {
        format!("{namespace}.{name}")
    }
}

/// The namespace a full name's own definitions and references are read in.
fn namespace_of(full: &str) -> &str {
    full.rsplit_once('.').map_or("", |(namespace, _)| namespace)
}

/// How to refer to the type `full` from inside `namespace`: its full name, with a leading
/// dot for a type in the null namespace referred to from another one.
fn reference_to(full: &str, namespace: &str) -> String {
    if full.contains('.') || namespace.is_empty() {
        full.to_owned()
    } else {
        format!(".{full}")
    }
}

struct Inliner {
    /// Referenced definitions not yet placed, by full name.
    definitions: HashMap<String, Value>,
    /// Full names defined so far, in the schema's parse order.
    defined: HashSet<String>,
}

impl Inliner {
    /// Defines every referenced type at its first use in `value`, read in `namespace`.
    /// Each definition is placed once and removed, so the walk ends even when references
    /// refer to each other.
    fn walk(
        &mut self,
        value: &mut Value,
        namespace: &str,
        depth: usize,
    ) -> Result<(), ReferenceError> {
        if depth > MAX_DEPTH {
            return Err(ReferenceError::TooDeep);
        }
        match value {
            Value::String(name) => {
                if PRIMITIVES.contains(&name.as_str()) {
                    return Ok(());
                }
                // In the enclosing namespace first; a bare name may also mean a type of
                // the null namespace (as Java's parser reads references).
                let mut candidates = vec![qualify(name, namespace)];
                if !name.contains('.') {
                    candidates.push(name.clone());
                }
                for full in candidates {
                    if self.defined.contains(&full) {
                        *name = reference_to(&full, namespace);
                        return Ok(());
                    }
                    if let Some(mut definition) = self.definitions.remove(&full) {
                        self.walk(&mut definition, namespace, depth + 1)?;
                        *value = definition;
                        return Ok(());
                    }
                }
            }
            Value::Array(branches) => {
                for branch in branches {
                    self.walk(branch, namespace, depth + 1)?;
                }
            }
            Value::Object(object) => {
                if let Some(full) = full_name(object, namespace) {
                    if self.defined.contains(&full) {
                        // Placed already, where it was first used: refer to it by name.
                        *value = Value::String(reference_to(&full, namespace));
                        return Ok(());
                    }
                    self.definitions.remove(&full);
                    let inner = namespace_of(&full).to_owned();
                    self.defined.insert(full);
                    if let Some(Value::Array(fields)) = object.get_mut("fields") {
                        for field in fields {
                            if let Some(kind) = field.get_mut("type") {
                                self.walk(kind, &inner, depth + 1)?;
                            }
                        }
                    }
                    return Ok(());
                }
                for key in ["type", "items", "values"] {
                    if let Some(inner) = object.get_mut(key) {
                        self.walk(inner, namespace, depth + 1)?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::avro::parse_schema;

    const ADDRESS: &str = r#"{"type":"record","name":"Address","namespace":"shop","fields":[{"name":"city","type":"string"}]}"#;
    const CUSTOMER: &str = r#"{"type":"record","name":"shop.Customer","fields":[{"name":"home","type":"Address"},{"name":"work","type":["null","shop.Address"]}]}"#;

    #[test]
    fn references_two_levels_deep_are_defined_at_first_use() {
        let event = r#"{"type":"record","name":"Event","namespace":"events","fields":[{"name":"who","type":"shop.Customer"},{"name":"also","type":{"type":"array","items":"shop.Customer"}}]}"#;
        let text = inline_references(
            event,
            &[("shop.Customer", CUSTOMER), ("shop.Address", ADDRESS)],
        )
        .unwrap();
        // One definition of each, then names: the standalone schema parses.
        assert_eq!(text.matches(r#""name":"Address""#).count(), 1, "{text}");
        assert_eq!(
            text.matches(r#""name":"shop.Customer""#).count(),
            1,
            "{text}"
        );
        let schema = parse_schema(&text).unwrap();
        let apache_avro::Schema::Record(record) = schema else {
            panic!("not a record: {text}")
        };
        assert_eq!(record.fields.len(), 2);
    }

    #[test]
    fn a_definition_without_namespace_keeps_its_name_inside_another_namespace() {
        let plain = r#"{"type":"enum","name":"Color","symbols":["RED"]}"#;
        let event = r#"{"type":"record","name":"Event","namespace":"events","fields":[{"name":"c","type":"Color"}]}"#;
        let text = inline_references(event, &[("Color", plain)]).unwrap();
        assert!(text.contains(r#""namespace":"""#), "{text}");
        parse_schema(&text).unwrap();
    }

    #[test]
    fn unknown_names_are_left_for_the_parser_and_bad_references_are_errors() {
        let event = r#"{"type":"record","name":"E","fields":[{"name":"x","type":"Missing"}]}"#;
        let text = inline_references(event, &[]).unwrap();
        assert!(parse_schema(&text).is_err());
        assert!(matches!(
            inline_references(event, &[("x", r#""string""#)]),
            Err(ReferenceError::NotNamed(_))
        ));
        assert!(matches!(
            inline_references(event, &[("x", "{")]),
            Err(ReferenceError::NotJson { .. })
        ));
    }

    #[test]
    fn a_null_namespace_reference_used_twice_inside_a_namespace_still_resolves() {
        let plain = r#"{"type":"enum","name":"Color","symbols":["RED"]}"#;
        let event = r#"{"type":"record","name":"Event","namespace":"events","fields":[{"name":"a","type":"Color"},{"name":"b","type":"Color"}]}"#;
        let text = inline_references(event, &[("Color", plain)]).unwrap();
        assert!(text.contains(r#""type":".Color""#), "{text}");
        parse_schema(&text).unwrap();
    }

    #[test]
    fn a_type_nested_in_a_reference_can_be_used_before_its_container() {
        let customer = r#"{"type":"record","name":"Customer","namespace":"shop","fields":[{"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","VIP"]}}]}"#;
        let event = r#"{"type":"record","name":"Event","namespace":"events","fields":[{"name":"s","type":"shop.Status"},{"name":"c","type":"shop.Customer"}]}"#;
        let text = inline_references(event, &[("shop.Customer", customer)]).unwrap();
        assert_eq!(text.matches(r#""name":"Status""#).count(), 1, "{text}");
        parse_schema(&text).unwrap();
    }

    #[test]
    fn nesting_past_the_bound_is_an_error_not_a_stack_overflow() {
        // Each reference wraps the next 100 arrays deep: 300 levels once inlined.
        let wrap = |name: &str, inner: &str| {
            format!(
                r#"{{"type":"record","name":"{name}","fields":[{{"name":"x","type":{}"{inner}"{}}}]}}"#,
                r#"{"type":"array","items":"#.repeat(100),
                "}".repeat(100)
            )
        };
        let (a, b, c) = (wrap("A", "B"), wrap("B", "C"), wrap("C", "string"));
        let root = r#"{"type":"record","name":"Root","fields":[{"name":"a","type":"A"}]}"#;
        assert!(matches!(
            inline_references(root, &[("A", &a), ("B", &b), ("C", &c)]),
            Err(ReferenceError::TooDeep)
        ));
    }

    #[test]
    fn references_that_name_each_other_are_placed_once() {
        let a = r#"{"type":"record","name":"A","fields":[{"name":"b","type":["null","B"]}]}"#;
        let b = r#"{"type":"record","name":"B","fields":[{"name":"a","type":["null","A"]}]}"#;
        let root = r#"{"type":"record","name":"Root","fields":[{"name":"a","type":"A"}]}"#;
        let text = inline_references(root, &[("A", a), ("B", b)]).unwrap();
        parse_schema(&text).unwrap();
    }
}
