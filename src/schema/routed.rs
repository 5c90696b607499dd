//! Routing between sources: each key goes to the source that owns it.
//!
//! * A framed ID goes to the registry that issues that kind of ID: Confluent IDs to the
//!   Confluent registry, Glue version UUIDs to Glue. Avro fingerprints are computed from
//!   schema files, so only a local directory knows them.
//! * A schema name goes to the source its stream names ([`SourceKind`]).
//! * A local directory, when one is given, answers every key first and the remote owner
//!   only on a miss: a snapshot shipped with the deployment keeps a fleet of cold
//!   functions off the registry. A version the directory answers for a remote owner is
//!   filed under that owner, so its other versions (a reader, inferred writers) are looked
//!   up the same way.

use super::local::LocalSource;
use super::{SchemaDefinition, SchemaKey, SchemaSource, SourceKind};
use crate::error::BatchError;
use crate::frame::SchemaId;

/// Every configured source, and which keys each answers (see the module docs).
#[derive(Default)]
pub struct Sources {
    local: Option<LocalSource>,
    glue: Option<Box<dyn SchemaSource>>,
    confluent: Option<Box<dyn SchemaSource>>,
}

impl Sources {
    /// No source yet: every key is "not found".
    pub fn new() -> Self {
        Sources::default()
    }

    /// Adds the local directory, which answers first.
    pub fn with_local(mut self, local: LocalSource) -> Self {
        self.local = Some(local);
        self
    }

    /// Adds the AWS Glue Schema Registry.
    pub fn with_glue(mut self, glue: Box<dyn SchemaSource>) -> Self {
        self.glue = Some(glue);
        self
    }

    /// Adds the Confluent-compatible registry.
    pub fn with_confluent(mut self, confluent: Box<dyn SchemaSource>) -> Self {
        self.confluent = Some(confluent);
        self
    }

    /// Whether schema names of `kind` have a source to be looked up in.
    pub fn has(&self, kind: SourceKind) -> bool {
        match kind {
            SourceKind::Local => self.local.is_some(),
            SourceKind::Glue => self.glue.is_some(),
            SourceKind::Confluent => self.confluent.is_some(),
        }
    }

    /// The remote registry that owns `key`, if one is configured.
    fn owner(&self, key: &SchemaKey) -> Option<(SourceKind, &dyn SchemaSource)> {
        let kind = match key {
            SchemaKey::Id(SchemaId::Glue(_)) => SourceKind::Glue,
            SchemaKey::Id(SchemaId::Confluent(_)) => SourceKind::Confluent,
            SchemaKey::Id(SchemaId::AvroFingerprint(_)) => return None,
            SchemaKey::Named { source, .. } => *source,
        };
        let source = match kind {
            SourceKind::Local => None,
            SourceKind::Glue => self.glue.as_deref(),
            SourceKind::Confluent => self.confluent.as_deref(),
        }?;
        Some((kind, source))
    }
}

/// "A or the B" for messages.
fn join(parts: &[Option<String>]) -> String {
    let parts: Vec<&str> = parts.iter().flatten().map(String::as_str).collect();
    if parts.is_empty() {
        "no schema source".to_owned()
    } else {
        parts.join(" or the ")
    }
}

#[async_trait::async_trait]
impl SchemaSource for Sources {
    async fn fetch(&self, key: &SchemaKey) -> Result<Option<SchemaDefinition>, BatchError> {
        let owner = self.owner(key);
        if let Some(local) = &self.local
            && let Some(mut definition) = local.fetch(key).await?
        {
            if let Some((kind, _)) = owner {
                definition.source = kind;
            }
            return Ok(Some(definition));
        }
        match owner {
            Some((_, remote)) => remote.fetch(key).await,
            None => Ok(None),
        }
    }

    fn describe(&self) -> String {
        join(&[
            self.local.as_ref().map(|s| s.describe()),
            self.confluent.as_ref().map(|s| s.describe()),
            self.glue.as_ref().map(|s| s.describe()),
        ])
    }

    /// The local directory, if any, and the owner of `key`, if one is configured.
    fn describe_for(&self, key: &SchemaKey) -> String {
        let owner = self.owner(key).map(|(_, source)| source.describe());
        if owner.is_none() && self.local.is_none() {
            return match key {
                SchemaKey::Id(SchemaId::Confluent(_)) => {
                    "configured sources: no Confluent registry is set".to_owned()
                }
                SchemaKey::Id(SchemaId::AvroFingerprint(_)) => {
                    "configured sources: only a local schema directory knows Avro fingerprints"
                        .to_owned()
                }
                _ => "configured sources".to_owned(),
            };
        }
        join(&[self.local.as_ref().map(|s| s.describe()), owner])
    }
}
