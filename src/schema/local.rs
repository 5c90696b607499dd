//! A local schema directory, laid out as (a contract that tools and tests rely on):
//!
//! ```text
//! DIR/<registry>/<schema>/<version>.avsc|.proto|.json   version N (a positive integer)
//! DIR/<registry>/<schema>/ids.json                       optional framed IDs per version:
//!     {"<version>": {"glue": "<uuid>", "confluent": <int>}}
//! ```
//!
//! The extension gives the data format; latest is the highest version. Avro single-object
//! fingerprints are computed from the `.avsc` files themselves. Files at the top level and
//! entries whose names start with `.` are ignored; anything else that does not fit the
//! layout is an error when the directory loads, so that a typo is not silently skipped.
//!
//! The directory is read once, when the source is created.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::{SchemaDefinition, SchemaKey, SchemaSource, SourceKind, VersionPin};
use crate::decode::DataFormat;
use crate::decode::avro::canonical;
use crate::error::BatchError;
use crate::frame::SchemaId;

/// (registry, schema)
type SchemaName = (String, String);

/// A local schema directory: `DIR/<registry>/<schema>/<version>.avsc|.proto|.json`, with optional `ids.json`.
#[derive(Debug)]
pub struct LocalSource {
    root: PathBuf,
    versions: HashMap<SchemaName, BTreeMap<u32, (DataFormat, String)>>,
    ids: HashMap<SchemaId, (SchemaName, u32)>,
    glue_ids: HashMap<(SchemaName, u32), uuid::Uuid>,
    confluent_ids: HashMap<(SchemaName, u32), u32>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionIds {
    glue: Option<uuid::Uuid>,
    confluent: Option<u32>,
}

fn io_error(path: &Path, e: std::io::Error) -> BatchError {
    BatchError::new(format!("cannot read {}: {e}", path.display()))
}

/// Sub-directories of `dir` (sorted, hidden ones skipped), with their names.
fn subdirs(dir: &Path) -> Result<Vec<(String, PathBuf)>, BatchError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        let entry = entry.map_err(|e| io_error(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if !name.starts_with('.') && path.is_dir() {
            out.push((name, path));
        }
    }
    out.sort();
    Ok(out)
}

impl LocalSource {
    /// Reads the whole directory. Every problem is reported with the offending path.
    pub fn load(root: &Path) -> Result<Self, BatchError> {
        if !root.is_dir() {
            return Err(BatchError::new(format!(
                "schema directory {} does not exist or is not a directory",
                root.display()
            )));
        }
        let mut source = LocalSource {
            root: root.to_owned(),
            versions: HashMap::new(),
            ids: HashMap::new(),
            glue_ids: HashMap::new(),
            confluent_ids: HashMap::new(),
        };
        for (registry, registry_dir) in subdirs(root)? {
            for (schema, schema_dir) in subdirs(&registry_dir)? {
                source.load_schema((registry.clone(), schema), &schema_dir)?;
            }
        }
        Ok(source)
    }

    fn load_schema(&mut self, name: SchemaName, dir: &Path) -> Result<(), BatchError> {
        let mut versions = BTreeMap::new();
        let mut ids_file = None;
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| io_error(dir, e))?
            .collect::<Result<_, _>>()
            .map_err(|e| io_error(dir, e))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if file_name.starts_with('.') {
                continue;
            }
            if file_name == "ids.json" {
                ids_file = Some(path);
                continue;
            }
            let parsed = file_name.split_once('.').and_then(|(stem, ext)| {
                let version = stem.parse::<u32>().ok().filter(|v| *v > 0)?;
                Some((version, DataFormat::from_extension(ext)?))
            });
            let Some((version, format)) = parsed else {
                return Err(BatchError::new(format!(
                    "{} does not fit the schema directory layout: expected <version>.avsc, \
                     <version>.proto or <version>.json with a positive integer version, or ids.json",
                    path.display()
                )));
            };
            let text = std::fs::read_to_string(&path).map_err(|e| io_error(&path, e))?;
            if format == DataFormat::Avro {
                let fingerprint = canonical::fingerprint(&text)
                    .map_err(|e| BatchError::caused_by(path.display(), e))?;
                // Identical canonical forms decode identically; the first (sorted) wins.
                self.ids
                    .entry(SchemaId::AvroFingerprint(fingerprint))
                    .or_insert_with(|| (name.clone(), version));
            }
            if versions.insert(version, (format, text)).is_some() {
                return Err(BatchError::new(format!(
                    "{} has two files for version {version}",
                    dir.display()
                )));
            }
        }
        if let Some(path) = ids_file {
            self.load_ids(&name, &path, &versions)?;
        }
        if !versions.is_empty() {
            self.versions.insert(name, versions);
        }
        Ok(())
    }

    fn load_ids(
        &mut self,
        name: &SchemaName,
        path: &Path,
        versions: &BTreeMap<u32, (DataFormat, String)>,
    ) -> Result<(), BatchError> {
        let text = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
        let ids: BTreeMap<String, VersionIds> = serde_json::from_str(&text).map_err(|e| {
            BatchError::new(format!(
                "{}: expected {{\"<version>\": {{\"glue\": \"<uuid>\", \"confluent\": <int>}}}}: {e}",
                path.display()
            ))
        })?;
        for (version_text, version_ids) in ids {
            let version = version_text
                .parse::<u32>()
                .ok()
                .filter(|v| versions.contains_key(v))
                .ok_or_else(|| {
                    BatchError::new(format!(
                        "{}: version \"{version_text}\" has no schema file",
                        path.display()
                    ))
                })?;
            if let Some(glue) = version_ids.glue {
                self.glue_ids.insert((name.clone(), version), glue);
            }
            if let Some(confluent) = version_ids.confluent {
                self.confluent_ids
                    .insert((name.clone(), version), confluent);
            }
            let framed = [
                version_ids.glue.map(SchemaId::Glue),
                version_ids.confluent.map(SchemaId::Confluent),
            ];
            for id in framed.into_iter().flatten() {
                if let Some((other, _)) = self.ids.insert(id, (name.clone(), version)) {
                    return Err(BatchError::new(format!(
                        "{}: {id} is already used by {}/{}",
                        path.display(),
                        other.0,
                        other.1
                    )));
                }
            }
        }
        Ok(())
    }

    fn definition(&self, name: &SchemaName, version: VersionPin) -> Option<SchemaDefinition> {
        let versions = self.versions.get(name)?;
        let (number, (format, text)) = match version {
            VersionPin::Latest => versions.iter().next_back()?,
            VersionPin::Number(n) => versions.get_key_value(&n)?,
        };
        Some(SchemaDefinition {
            source: SourceKind::Local,
            registry: name.0.clone(),
            schema: name.1.clone(),
            version: *number,
            format: *format,
            text: text.clone(),
            imports: Vec::new(),
            glue_id: self.glue_ids.get(&(name.clone(), *number)).copied(),
            confluent_id: self.confluent_ids.get(&(name.clone(), *number)).copied(),
        })
    }
}

#[async_trait::async_trait]
impl SchemaSource for LocalSource {
    async fn fetch(&self, key: &SchemaKey) -> Result<Option<SchemaDefinition>, BatchError> {
        Ok(match key {
            SchemaKey::Id(id) => self
                .ids
                .get(id)
                .and_then(|(name, version)| self.definition(name, VersionPin::Number(*version))),
            SchemaKey::Named {
                registry,
                schema,
                version,
                ..
            } => self.definition(&(registry.clone(), schema.clone()), *version),
        })
    }

    fn describe(&self) -> String {
        format!("local schema directory {}", self.root.display())
    }
}
