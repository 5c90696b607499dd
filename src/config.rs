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
use crate::schema::{CacheSettings, SchemaCache, SchemaSource};
use crate::streams::{ReadAs, StreamOverride, Streams};

/// Where schemas come from. Every command takes these.
#[derive(Debug, Clone, clap::Args)]
pub struct SourceSettings {
    /// Local schema directory (`DIR/<registry>/<schema>/<version>.avsc|.proto|.json`). Without
    /// it, schemas come from the AWS Glue Schema Registry.
    #[arg(long, env = "SUPERDECODE_SCHEMAS", value_name = "DIR")]
    pub schemas: Option<PathBuf>,

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
    /// The schema source these settings name: the local directory when one is given,
    /// otherwise the AWS Glue Schema Registry.
    pub async fn source(&self) -> Result<Arc<dyn SchemaSource>, BatchError> {
        Ok(match &self.schemas {
            Some(dir) => Arc::new(LocalSource::load(dir)?),
            #[cfg(feature = "glue")]
            None => Arc::new(
                crate::schema::glue::GlueSource::from_env(Duration::from_millis(
                    self.registry_timeout_ms,
                ))
                .await,
            ),
            #[cfg(not(feature = "glue"))]
            None => {
                return Err(BatchError::new(
                    "this build has no AWS Glue source (feature `glue`): give --schemas DIR",
                ));
            }
        })
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
                "stream overrides in {origin}: {e}; expected {{\"<stream>\": {{\"registry\", \"schema\", \"version\", \"framing\", \"message\", \"reader\", \"writer\", \"format\"}}}}"
            ))
        })
    }

    /// Builds the decoding engine: loads the schema source and sets up the cache.
    pub async fn engine(&self) -> Result<Engine, BatchError> {
        let cache = SchemaCache::new(
            self.source.source().await?,
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
            Streams::new(self.source.registry.clone(), self.stream_overrides()?)
                .with_reader(self.reader),
            Limits {
                max_result_bytes: self.max_result_bytes,
                max_inflated_bytes: self.max_inflated_bytes,
                max_depth: self.max_depth,
            },
        )
        .with_input_encoding(self.input_encoding))
    }
}
