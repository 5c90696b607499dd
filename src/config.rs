//! Settings shared by Lambda mode and the CLI. Every setting is a CLI flag with an
//! environment twin (`SUPERDECODE_*`); Lambda mode reads the same definitions from the
//! environment alone, so there is one list of settings and one set of defaults.
//!
//! The settings come in groups, and each command takes the groups it honours: every
//! command takes [`SourceSettings`] and [`JsonOptions`]; `decode` takes
//! [`DecodeSettings`] (which contains both); `invoke` and Lambda mode take [`Settings`]
//! (decode settings plus the response limit). A flag a command would ignore is rejected as
//! unknown.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::decode::JsonOptions;
use crate::error::BatchError;
use crate::frame::PayloadEncoding;
use crate::pipeline::{Engine, Limits};
use crate::redshift::{OnError, ResponsePolicy};
use crate::schema::local::LocalSource;
use crate::schema::{CacheSettings, SchemaCache, SourceKind, Sources};
use crate::secret::Secret;
use crate::streams::{ReadAs, StreamOverride, Streams};

/// Where schemas come from. Every command takes these.
#[derive(Debug, Clone, clap::Args)]
pub struct SourceSettings {
    /// Local schema directory (`DIR/<registry>/<schema>/<version>.avsc|.proto|.json`). It
    /// answers first; the registries named below answer what it does not have. Without it,
    /// schemas come from the AWS Glue Schema Registry (and the Confluent registry, when its
    /// URL is set).
    #[arg(long, env = "SUPERDECODE_SCHEMAS", value_name = "DIR")]
    pub schemas: Option<PathBuf>,

    /// Confluent-compatible schema registry URL; its path is kept as a prefix (e.g.
    /// `https://registry:8081`, or Apicurio's `https://host/apis/ccompat/v7`). Confluent IDs
    /// in frames are looked up there.
    #[arg(long, env = "SUPERDECODE_CONFLUENT_URL", value_name = "URL")]
    pub confluent_url: Option<String>,

    /// Basic auth for the Confluent registry, `user:password` (Confluent's
    /// `basic.auth.user.info`; for Confluent Cloud, the API key and secret).
    #[arg(
        long,
        env = "SUPERDECODE_CONFLUENT_USER_INFO",
        value_name = "USER:PASSWORD",
        hide_env_values = true
    )]
    pub confluent_user_info: Option<Secret>,

    /// Bearer token for the Confluent registry.
    #[arg(
        long,
        env = "SUPERDECODE_CONFLUENT_BEARER_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub confluent_bearer_token: Option<Secret>,

    /// AWS Secrets Manager secret holding the Confluent registry's credentials, read once
    /// at start: a JSON object with `user_info` (`user:password`) or `bearer_token`.
    #[arg(long, env = "SUPERDECODE_CONFLUENT_SECRET_ARN", value_name = "ARN")]
    pub confluent_secret_arn: Option<String>,

    /// Where assumed-schema (stream) lookups go: `local`, `glue` or `confluent`. Default:
    /// the local directory when one is given, else the Confluent registry when its URL is
    /// set, else Glue. Streams may override it.
    #[arg(
        long = "source",
        env = "SUPERDECODE_SOURCE",
        value_enum,
        value_name = "SOURCE"
    )]
    pub default_source: Option<SourceKind>,

    /// IAM role assumed (through STS) for every Glue call, for a registry in another account.
    #[arg(long, env = "SUPERDECODE_GLUE_ROLE_ARN", value_name = "ARN")]
    pub glue_role_arn: Option<String>,

    /// Registry that assumed-schema (stream) lookups use.
    #[arg(long, env = "SUPERDECODE_REGISTRY", default_value = "default-registry")]
    pub registry: String,

    /// Milliseconds one registry lookup may take, retries of throttled, 5xx and timed-out
    /// calls included (jittered exponential backoff from 50 ms up to 1 s).
    #[arg(long, env = "SUPERDECODE_REGISTRY_TIMEOUT_MS", default_value_t = 5000)]
    pub registry_timeout_ms: u64,
}

/// Decoding records: `decode` takes these, and so do `invoke` and Lambda mode.
#[derive(Debug, Clone, clap::Args)]
pub struct DecodeSettings {
    /// Where schemas come from.
    #[command(flatten)]
    pub source: SourceSettings,

    /// How records map to JSON.
    #[command(flatten)]
    pub mapping: JsonOptions,

    /// What a record error gives in a Redshift response.
    #[arg(long, env = "SUPERDECODE_ON_ERROR", value_enum, default_value_t)]
    pub on_error: OnError,

    /// How payload arguments are written: to_hex() text, or base64. A Redshift call of a
    /// function whose name ends in `_b64` always reads base64.
    #[arg(long, env = "SUPERDECODE_INPUT_ENCODING", value_enum, default_value_t)]
    pub input_encoding: PayloadEncoding,

    /// Largest JSON result in bytes; a larger one is a `result_too_large` record error.
    #[arg(long, env = "SUPERDECODE_MAX_RESULT_BYTES", default_value_t = crate::decode::DEFAULT_MAX_RESULT_BYTES)]
    pub max_result_bytes: usize,

    /// Largest size a zlib-compressed Glue payload may inflate to.
    #[arg(long, env = "SUPERDECODE_MAX_INFLATED_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub max_inflated_bytes: usize,

    /// Deepest nesting a record may reach, counted across every recursive path (records,
    /// arrays, maps, Protobuf messages, groups, `Any`, `Struct`); deeper is a
    /// `nesting_too_deep` record error.
    #[arg(long, env = "SUPERDECODE_MAX_DEPTH", default_value_t = crate::decode::DEFAULT_MAX_DEPTH, value_parser = parse_depth)]
    pub max_depth: usize,

    /// Per-stream overrides: inline JSON or the path of a JSON file, e.g.
    /// {"clicks": {"registry": "web", "schema": "ClickEvent", "version": 3, "framing": "raw",
    /// "message": "shop.Click"}}.
    #[arg(long, env = "SUPERDECODE_STREAMS", value_name = "JSON|FILE")]
    pub streams: Option<String>,

    /// The shape records are written in: `writer` (each record as its writer's schema
    /// version has it), `latest` (every record resolved to its schema's newest version),
    /// or a version number. Streams may override it.
    #[arg(
        long,
        env = "SUPERDECODE_READER",
        default_value = "writer",
        value_name = "writer|latest|N"
    )]
    pub reader: ReadAs,

    /// Seconds a `latest` schema lookup is cached.
    #[arg(long, env = "SUPERDECODE_LATEST_TTL_SECS", default_value_t = crate::schema::DEFAULT_LATEST_TTL_SECS)]
    pub latest_ttl_secs: u64,

    /// Seconds a "schema not found" answer is cached.
    #[arg(long, env = "SUPERDECODE_NOT_FOUND_TTL_SECS", default_value_t = crate::schema::DEFAULT_NOT_FOUND_TTL_SECS)]
    pub not_found_ttl_secs: u64,

    /// Registry calls in flight at once per process; more lookups wait for a free slot.
    #[arg(long, env = "SUPERDECODE_REGISTRY_CONCURRENCY", default_value_t = crate::schema::DEFAULT_REGISTRY_CONCURRENCY)]
    pub registry_concurrency: usize,
}

/// Every setting: what `invoke` and Lambda mode take. Each is a flag with an environment
/// twin, and each command accepts only the flags it honours.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// The decode settings.
    #[command(flatten)]
    pub decode: DecodeSettings,

    /// Largest response in bytes (Lambda's limit is 6,291,456). Rows whose results would
    /// pass it become `response_too_large` error objects, small enough to always fit.
    #[arg(long, env = "SUPERDECODE_MAX_RESPONSE_BYTES", default_value_t = crate::redshift::DEFAULT_MAX_RESPONSE_BYTES)]
    pub max_response_bytes: usize,
}

/// `--max-depth`: 1 up to what the decoders can follow on a thread's stack.
fn parse_depth(text: &str) -> Result<usize, String> {
    let max = crate::decode::MAX_SUPPORTED_DEPTH;
    match text.parse::<usize>() {
        Ok(depth) if (1..=max).contains(&depth) => Ok(depth),
        _ => Err(format!("expected a depth from 1 to {max}")),
    }
}

/// Parses settings from command-line flags, with the environment filling in what they
/// leave out.
fn parse_flags<A, I, T>(flags: I) -> Result<A, BatchError>
where
    A: clap::Args,
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    #[derive(clap::Parser)]
    #[command(name = "superdecode")]
    struct Flags<A: clap::Args> {
        #[command(flatten)]
        settings: A,
    }
    let args = std::iter::once(std::ffi::OsString::from("superdecode"))
        .chain(flags.into_iter().map(Into::into));
    <Flags<A> as clap::Parser>::try_parse_from(args)
        .map(|parsed| parsed.settings)
        .map_err(|e| BatchError::new(format!("invalid configuration: {e}")))
}

impl Settings {
    /// Reads the settings from `SUPERDECODE_*` variables alone (Lambda mode).
    pub fn from_env() -> Result<Self, BatchError> {
        Self::from_flags::<[&str; 0], &str>([])
    }

    /// Reads the settings from command-line flags (e.g. `["--schemas", "dir"]`), with the
    /// environment filling in what they leave out.
    pub fn from_flags<I, T>(flags: I) -> Result<Self, BatchError>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        parse_flags(flags)
    }

    /// How batch results become a Redshift response.
    pub fn response_policy(&self) -> ResponsePolicy {
        ResponsePolicy {
            on_error: self.decode.on_error,
            max_response_bytes: self.max_response_bytes,
        }
    }

    /// The JSON mapping options of these settings.
    pub fn json_options(&self) -> JsonOptions {
        self.decode.mapping.clone()
    }

    /// Builds the decoding engine: loads the schema source and sets up the cache.
    pub async fn engine(&self) -> Result<Engine, BatchError> {
        self.decode.engine().await
    }
}

impl SourceSettings {
    /// Where assumed-schema lookups go (see `--source`).
    pub fn named_source(&self) -> SourceKind {
        self.default_source.unwrap_or(if self.schemas.is_some() {
            SourceKind::Local
        } else if self.confluent_url.is_some() {
            SourceKind::Confluent
        } else {
            SourceKind::Glue
        })
    }

    /// The schema sources these settings name, routed by key: the local directory when one
    /// is given (answering first), the Confluent registry when its URL is set, and Glue
    /// unless a local directory is given and nothing in `also` (the sources streams name)
    /// asks for it. Every source in `also` must be configured.
    pub async fn sources(&self, also: &[SourceKind]) -> Result<Sources, BatchError> {
        let wanted: Vec<SourceKind> = std::iter::once(self.named_source())
            .chain(also.iter().copied())
            .collect();
        let mut sources = Sources::new();
        if let Some(dir) = &self.schemas {
            sources = sources.with_local(LocalSource::load(dir)?);
        }
        if let Some(url) = &self.confluent_url {
            sources = sources.with_confluent(self.confluent(url).await?);
        }
        // Glue answers Glue-framed records whenever no local directory is given, in builds
        // that have it; a source named for streams must exist in any build.
        if wanted.contains(&SourceKind::Glue) || (self.schemas.is_none() && cfg!(feature = "glue"))
        {
            sources = sources.with_glue(self.glue()?);
        }
        for kind in wanted {
            if !sources.has(kind) {
                return Err(BatchError::new(match kind {
                    SourceKind::Local => {
                        "schemas are to come from the local directory, but none is given: set --schemas DIR"
                    }
                    SourceKind::Confluent => {
                        "schemas are to come from the Confluent registry, but its URL is not set: set --confluent-url URL"
                    }
                    SourceKind::Glue => {
                        "schemas are to come from Glue, but this build has no Glue source"
                    }
                }));
            }
        }
        Ok(sources)
    }

    #[cfg(feature = "glue")]
    fn glue(&self) -> Result<Box<dyn crate::schema::SchemaSource>, BatchError> {
        Ok(Box::new(crate::schema::glue::LazyGlueSource::new(
            Duration::from_millis(self.registry_timeout_ms),
            self.glue_role_arn.clone(),
        )))
    }

    #[cfg(not(feature = "glue"))]
    fn glue(&self) -> Result<Box<dyn crate::schema::SchemaSource>, BatchError> {
        Err(BatchError::new(
            "this build has no AWS Glue source (feature `glue`): give --schemas DIR",
        ))
    }

    #[cfg(feature = "confluent")]
    async fn confluent(
        &self,
        url: &str,
    ) -> Result<Box<dyn crate::schema::SchemaSource>, BatchError> {
        use crate::schema::confluent::{ConfluentSettings, ConfluentSource, Credentials};
        let credentials = match (
            &self.confluent_user_info,
            &self.confluent_bearer_token,
            &self.confluent_secret_arn,
        ) {
            (None, None, None) => Credentials::None,
            (Some(user_info), None, None) => Credentials::Basic(user_info.clone()),
            (None, Some(token), None) => Credentials::Bearer(token.clone()),
            (None, None, Some(arn)) => {
                crate::schema::confluent::credentials_from_secret(arn).await?
            }
            _ => {
                return Err(BatchError::new(
                    "give one of SUPERDECODE_CONFLUENT_USER_INFO, SUPERDECODE_CONFLUENT_BEARER_TOKEN and SUPERDECODE_CONFLUENT_SECRET_ARN, not several",
                ));
            }
        };
        Ok(Box::new(ConfluentSource::new(ConfluentSettings {
            url: url.to_owned(),
            credentials,
            timeout: Duration::from_millis(self.registry_timeout_ms),
            registry: self.registry.clone(),
        })?))
    }

    #[cfg(not(feature = "confluent"))]
    async fn confluent(
        &self,
        _url: &str,
    ) -> Result<Box<dyn crate::schema::SchemaSource>, BatchError> {
        Err(BatchError::new(
            "this build has no Confluent registry source (feature `confluent`)",
        ))
    }
}

impl DecodeSettings {
    /// The per-stream overrides, from inline JSON or a file.
    pub fn stream_overrides(&self) -> Result<HashMap<String, StreamOverride>, BatchError> {
        let Some(value) = self.streams.as_deref() else {
            return Ok(HashMap::new());
        };
        let (text, origin) = if value.trim_start().starts_with('{') {
            (value.to_owned(), "SUPERDECODE_STREAMS".to_owned())
        } else {
            let text = std::fs::read_to_string(value).map_err(|e| {
                BatchError::new(format!("cannot read stream overrides {value}: {e}"))
            })?;
            (text, value.to_owned())
        };
        serde_json::from_str(&text).map_err(|e| {
            BatchError::new(format!(
                "stream overrides in {origin}: {e}; expected {{\"<stream>\": {{\"source\", \"registry\", \"schema\", \"version\", \"framing\", \"message\", \"reader\", \"writer\", \"format\"}}}}"
            ))
        })
    }

    /// Builds the decoding engine: loads the schema source and sets up the cache.
    pub async fn engine(&self) -> Result<Engine, BatchError> {
        let streams = Streams::new(self.source.registry.clone(), self.stream_overrides()?)
            .with_source(self.source.named_source())
            .with_reader(self.reader);
        let named: Vec<SourceKind> = streams.sources().collect();
        let cache = SchemaCache::new(
            Arc::new(self.source.sources(&named).await?),
            self.mapping.clone(),
            CacheSettings {
                latest_ttl: Duration::from_secs(self.latest_ttl_secs),
                not_found_ttl: Duration::from_secs(self.not_found_ttl_secs),
                registry_concurrency: self.registry_concurrency,
                retry_budget: Duration::from_millis(self.source.registry_timeout_ms),
                ..CacheSettings::default()
            },
        );
        Ok(Engine::new(
            cache,
            streams,
            Limits {
                max_result_bytes: self.max_result_bytes,
                max_inflated_bytes: self.max_inflated_bytes,
                max_depth: self.max_depth,
            },
        )
        .with_input_encoding(self.input_encoding))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_never_print_credentials() {
        let settings = Settings::from_flags([
            "--confluent-url",
            "http://registry:8081",
            "--confluent-user-info",
            "key:very-secret-value",
        ])
        .unwrap();
        let printed = format!("{settings:?}");
        assert!(printed.contains("registry:8081"), "{printed}");
        assert!(!printed.contains("very-secret-value"), "{printed}");
    }

    #[test]
    fn stream_lookups_go_to_the_source_the_settings_imply() {
        let source = |flags: &[&str]| {
            Settings::from_flags(flags)
                .unwrap()
                .decode
                .source
                .named_source()
        };
        assert_eq!(source(&[]), SourceKind::Glue);
        assert_eq!(
            source(&["--confluent-url", "http://r"]),
            SourceKind::Confluent
        );
        assert_eq!(
            source(&["--confluent-url", "http://r", "--schemas", "schemas"]),
            SourceKind::Local
        );
        assert_eq!(
            source(&["--schemas", "schemas", "--source", "glue"]),
            SourceKind::Glue
        );
    }

    #[tokio::test]
    async fn a_source_named_but_not_configured_is_a_configuration_error() {
        let settings = Settings::from_flags(["--source", "confluent"]).unwrap();
        let Err(e) = settings.engine().await else {
            panic!("built an engine with no Confluent URL")
        };
        assert!(e.to_string().contains("--confluent-url"), "{e}");
        let settings = Settings::from_flags([
            "--schemas",
            "schemas",
            "--streams",
            r#"{"s": {"source": "confluent"}}"#,
        ])
        .unwrap();
        assert!(settings.engine().await.is_err());
        let both = Settings::from_flags([
            "--confluent-url",
            "http://r",
            "--confluent-user-info",
            "a:b",
            "--confluent-bearer-token",
            "t",
        ])
        .unwrap();
        assert!(both.engine().await.is_err());
    }
}
