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
}

/// The schema `schema` with the named types of `references` (the texts of the schemas it
/// references, directly or through each other, in any order) defined inline at their first
/// use. Names that neither the schema nor a reference defines are left as they are, for the
/// Avro parser to report.
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
        let full = full_name(&definition, "")
            .ok_or_else(|| ReferenceError::NotNamed((*name).to_owned()))?;
        definitions.insert(full, definition);
    }
    let mut root = parse("text", schema)?;
    let mut inliner = Inliner {
        definitions,
        defined: HashSet::new(),
    };
    inliner.walk(&mut root, "");
    Ok(root.to_string())
}

/// The full name a named-type definition gives itself in `namespace`, or `None` when
/// `value` is not a named-type definition.
fn full_name(value: &Value, namespace: &str) -> Option<String> {
    let object = value.as_object()?;
    let kind = object.get("type")?.as_str()?;
    if !matches!(kind, "record" | "error" | "enum" | "fixed") {
        return None;
    }
    let name = object.get("name")?.as_str()?;
    Some(qualify(
        name,
        object
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or(namespace),
    ))
}

/// `name` in `namespace`: a name with a dot is already full.
fn qualify(name: &str, namespace: &str) -> String {
    if name.contains('.') || namespace.is_empty() {
        name.to_owned()
    } else {
        format!("{namespace}.{name}")
    }
}

/// The namespace a full name's own definitions and references are read in.
fn namespace_of(full: &str) -> &str {
    full.rsplit_once('.').map_or("", |(namespace, _)| namespace)
}

struct Inliner {
    /// Referenced definitions not yet placed, by full name.
    definitions: HashMap<String, Value>,
    /// Full names defined so far, in the schema's parse order.
    defined: HashSet<String>,
}

impl Inliner {
    /// Defines every referenced type at its first use in `value`, read in `namespace`.
    /// Each definition is placed once and then removed, so the walk ends even when
    /// references refer to each other.
    fn walk(&mut self, value: &mut Value, namespace: &str) {
        match value {
            Value::String(name) => {
                if PRIMITIVES.contains(&name.as_str()) {
                    return;
                }
                let full = qualify(name, namespace);
                if self.defined.contains(&full) || self.defined.contains(name.as_str()) {
                    return;
                }
                let found = [full, name.clone()].into_iter().find_map(|candidate| {
                    let definition = self.definitions.remove(&candidate)?;
                    Some((candidate, definition))
                });
                if let Some((full, mut definition)) = found {
                    pin_namespace(&mut definition, &full);
                    self.walk(&mut definition, namespace);
                    *value = definition;
                }
            }
            Value::Array(branches) => {
                for branch in branches {
                    self.walk(branch, namespace);
                }
            }
            Value::Object(object) => self.walk_object(object, namespace),
            _ => {}
        }
    }

    fn walk_object(&mut self, object: &mut Map<String, Value>, namespace: &str) {
        let value = Value::Object(object.clone());
        if let Some(full) = full_name(&value, namespace) {
            let inner = namespace_of(&full).to_owned();
            self.defined.insert(full);
            if let Some(Value::Array(fields)) = object.get_mut("fields") {
                for field in fields {
                    if let Some(kind) = field.get_mut("type") {
                        self.walk(kind, &inner);
                    }
                }
            }
            return;
        }
        for key in ["type", "items", "values"] {
            if let Some(inner) = object.get_mut(key) {
                self.walk(inner, namespace);
            }
        }
    }
}

/// Gives a definition placed inside another namespace its own namespace explicitly, so
/// that it keeps its full name there (a definition with no namespace would otherwise take
/// the enclosing one).
fn pin_namespace(definition: &mut Value, full: &str) {
    if let Some(object) = definition.as_object_mut()
        && !object.contains_key("namespace")
    {
        object.insert(
            "namespace".to_owned(),
            Value::String(namespace_of(full).to_owned()),
        );
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
    fn references_that_name_each_other_are_placed_once() {
        let a = r#"{"type":"record","name":"A","fields":[{"name":"b","type":["null","B"]}]}"#;
        let b = r#"{"type":"record","name":"B","fields":[{"name":"a","type":["null","A"]}]}"#;
        let root = r#"{"type":"record","name":"Root","fields":[{"name":"a","type":"A"}]}"#;
        let text = inline_references(root, &[("A", a), ("B", b)]).unwrap();
        parse_schema(&text).unwrap();
    }
}
