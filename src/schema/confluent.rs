//! A Confluent-compatible Schema Registry over its REST API: Confluent Schema Registry and
//! Confluent Cloud, Redpanda, Karapace, and Apicurio's `ccompat` API.
//!
//! | key | calls |
//! |---|---|
//! | a Confluent ID from a frame | `GET /schemas/ids/{id}`, then `GET /schemas/ids/{id}/versions` for its subject and version |
//! | a subject, latest or pinned | `GET /subjects/{subject}/versions/latest` or `/versions/{n}` |
//! | each reference, once per process | `GET /subjects/{subject}/versions/{n}` |
//!
//! * The configured URL's path is a prefix of every call (Apicurio serves the API under
//!   `/apis/ccompat/v7`). HTTPS uses the platform's root certificates.
//! * `schemaType` absent means Avro. References are resolved recursively (at most
//!   [`MAX_REFERENCE_DEPTH`] levels, [`MAX_REFERENCES`] schemas and
//!   [`MAX_REFERENCED_BYTES`] of text, cycles refused):
//!   Avro named types are defined inline at their first use, so the schema stands alone;
//!   Protobuf imports are served to the compiler by import path, and the well-known
//!   `google/protobuf/*.proto` files resolve whether or not the registry holds them. JSON
//!   Schema references are not fetched: JSON records are passed through.
//! * A 404 carrying Confluent's error codes (40401 subject, 40402 version, 40403 schema not
//!   found) is "not found". Every other failure is an environment error: 401 and 403 are
//!   refused credentials; 429 (after waiting its `Retry-After`), 5xx, refused connections
//!   and timeouts are transient, and the schema cache retries them within its budget.
//! * Credentials (basic `user:password` or a bearer token) go in the `Authorization` header
//!   only, marked sensitive; they are never logged.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::{SchemaDefinition, SchemaKey, SchemaSource, SourceKind, VersionPin};
use crate::decode::avro::references::inline_references;
use crate::decode::{DataFormat, ProtoImport};
use crate::error::BatchError;
use crate::frame::SchemaId;
use crate::secret::Secret;

/// Deepest chain of references followed (a schema referencing one that references another
/// counts two).
pub const MAX_REFERENCE_DEPTH: usize = 16;

/// Most schemas one schema may reference, directly or not.
pub const MAX_REFERENCES: usize = 256;

/// Largest registry answer read; a schema is a few kB.
const MAX_RESPONSE_BYTES: usize = 4 << 20;

/// Largest total text of the schemas one schema references.
pub const MAX_REFERENCED_BYTES: usize = 16 << 20;

/// Total text of the referenced schema versions kept (they never change).
const MAX_CACHED_REFERENCE_BYTES: u64 = 64 << 20;

/// How the registry is told who is calling.
#[derive(Debug, Clone, Default)]
pub enum Credentials {
    /// No `Authorization` header.
    #[default]
    None,
    /// HTTP basic auth from `user:password` (Confluent's `basic.auth.user.info`).
    Basic(Secret),
    /// A bearer token.
    Bearer(Secret),
}

/// Where the registry is and how to call it.
#[derive(Debug, Clone)]
pub struct ConfluentSettings {
    /// The registry URL, `http(s)://host[:port][/path/prefix]`.
    pub url: String,
    /// How calls authenticate.
    pub credentials: Credentials,
    /// How long one call may take, connecting included.
    pub timeout: Duration,
    /// The registry name the schemas are filed under (the folder of a local snapshot of
    /// this registry).
    pub registry: String,
}

/// A Confluent-compatible registry (see the module docs).
pub struct ConfluentSource {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    /// `scheme://authority/prefix`, with no trailing slash.
    base: String,
    authorization: Option<http::HeaderValue>,
    timeout: Duration,
    registry: String,
    /// Referenced schema versions, by (subject, version).
    references: moka::future::Cache<(String, u32), Arc<Registered>>,
}

/// A schema as the registry returns it (`/schemas/ids/{id}` or a subject version).
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Registered {
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    id: Option<u32>,
    #[serde(default)]
    version: Option<u32>,
    schema: String,
    #[serde(default)]
    schema_type: Option<String>,
    #[serde(default)]
    references: Vec<Reference>,
}

/// A reference from one registered schema to a version of another subject.
#[derive(Debug, Clone, serde::Deserialize)]
struct Reference {
    /// Avro: the full name of the type; Protobuf: the import path.
    name: String,
    subject: String,
    /// `-1` (allowed by some registries) means latest.
    version: i64,
}

#[derive(Debug, serde::Deserialize)]
struct SubjectVersion {
    subject: String,
    version: u32,
}

#[derive(Debug, Default, serde::Deserialize)]
struct ErrorBody {
    error_code: Option<i64>,
    message: Option<String>,
}

/// Confluent's "not found" error codes: subject, version, schema.
const NOT_FOUND_CODES: [i64; 3] = [40401, 40402, 40403];

enum Answer<T> {
    Found(T),
    NotFound,
}

impl ConfluentSource {
    /// A source for the registry at `settings.url`. Fails on a URL that is not
    /// `http(s)://host[:port][/prefix]`, on credentials written into the URL, and, for an
    /// `https` URL, when the platform has no root certificates.
    pub fn new(settings: ConfluentSettings) -> Result<Self, BatchError> {
        let invalid = |why: &str| {
            BatchError::new(format!(
                "invalid Confluent registry URL: {why} (expected http(s)://host[:port][/path])"
            ))
        };
        let uri: http::Uri = settings
            .url
            .parse()
            .map_err(|_| invalid("it does not parse"))?;
        let scheme = uri.scheme_str().ok_or_else(|| invalid("no scheme"))?;
        if scheme != "http" && scheme != "https" {
            return Err(invalid("the scheme is neither http nor https"));
        }
        let authority = uri.authority().ok_or_else(|| invalid("no host"))?;
        if authority.as_str().contains('@') {
            return Err(invalid(
                "it carries credentials: give them in SUPERDECODE_CONFLUENT_USER_INFO instead",
            ));
        }
        if uri.query().is_some() {
            return Err(invalid("it has a query string"));
        }
        let base = format!("{scheme}://{authority}{}", uri.path().trim_end_matches('/'));

        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(settings.timeout));
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let tls = match hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider.clone())
        {
            Ok(tls) => tls,
            Err(e) if scheme == "https" => {
                return Err(BatchError::new(format!(
                    "cannot load the platform's root certificates for {base}: {e}"
                )));
            }
            // Plain HTTP needs no roots.
            Err(_) => hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(
                rustls::ClientConfig::builder_with_provider(Arc::new(provider))
                    .with_safe_default_protocol_versions()
                    .map_err(|e| BatchError::new(format!("TLS setup: {e}")))?
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth(),
            ),
        };
        let connector = tls.https_or_http().enable_http1().wrap_connector(http);

        let authorization = match &settings.credentials {
            Credentials::None => None,
            Credentials::Basic(user_info) => {
                use base64::Engine;
                if !user_info.expose().contains(':') {
                    return Err(BatchError::new(
                        "the Confluent registry user info must be `user:password`",
                    ));
                }
                let encoded = base64::engine::general_purpose::STANDARD.encode(user_info.expose());
                Some(header_value(&format!("Basic {encoded}"))?)
            }
            Credentials::Bearer(token) => {
                Some(header_value(&format!("Bearer {}", token.expose()))?)
            }
        };
        Ok(ConfluentSource {
            client: Client::builder(TokioExecutor::new()).build(connector),
            base,
            authorization,
            timeout: settings.timeout,
            registry: settings.registry,
            references: moka::future::Cache::builder()
                .max_capacity(MAX_CACHED_REFERENCE_BYTES)
                .weigher(|_, registered: &Arc<Registered>| {
                    u32::try_from(registered.schema.len()).unwrap_or(u32::MAX)
                })
                .build(),
        })
    }

    /// One GET of `path` (below the URL's prefix), its JSON answer parsed as `T`; a 404
    /// is "not found" only with one of Confluent's codes.
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Answer<T>, BatchError> {
        self.get_or_404(path, false).await
    }

    /// [`Self::get`], where with `any_404` every 404 is "not found" (an optional endpoint).
    async fn get_or_404<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        any_404: bool,
    ) -> Result<Answer<T>, BatchError> {
        let what = format!("GET {path} from the Confluent registry at {}", self.base);
        let mut request = http::Request::get(format!("{}{path}", self.base)).header(
            http::header::ACCEPT,
            "application/vnd.schemaregistry.v1+json, application/json",
        );
        if let Some(authorization) = &self.authorization {
            request = request.header(http::header::AUTHORIZATION, authorization.clone());
        }
        let request = request
            .body(Empty::new())
            .map_err(|e| BatchError::new(format!("{what}: {e}")))?;
        tracing::debug!(path, "Confluent registry call");
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| {
                BatchError::transient(format!("{what} failed: {}", error_chain(&e)))
            })?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        BatchError::new(format!(
                            "{what}: the answer is larger than {MAX_RESPONSE_BYTES} bytes"
                        ))
                    } else {
                        BatchError::transient(format!("{what}: reading the answer failed: {e}"))
                    }
                })?
                .to_bytes();
            Ok::<_, BatchError>((parts, body))
        };
        let (parts, body) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| {
                BatchError::transient(format!(
                    "{what} timed out after {} ms",
                    self.timeout.as_millis()
                ))
            })??;
        let status = parts.status.as_u16();
        if (200..300).contains(&status) {
            return serde_json::from_slice(&body)
                .map(Answer::Found)
                .map_err(|e| {
                    BatchError::new(format!(
                        "{what}: the answer is not what the Confluent API specifies: {e}"
                    ))
                });
        }
        let error: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
        let said = error
            .message
            .as_deref()
            .map(|m| format!(": {}", m.chars().take(300).collect::<String>()))
            .unwrap_or_default();
        match status {
            404 if any_404
                || error
                    .error_code
                    .is_some_and(|code| NOT_FOUND_CODES.contains(&code)) =>
            {
                Ok(Answer::NotFound)
            }
            404 => Err(BatchError::new(format!(
                "{what}: HTTP 404 without a Confluent error code{said}; is the URL, and its path prefix, a Confluent-compatible API?"
            ))),
            401 | 403 => Err(BatchError::new(format!(
                "{what}: HTTP {status}, the credentials were refused{said}"
            ))),
            429 => {
                // Honour the registry's own pacing, within one call's time.
                if let Some(wait) = retry_after(&parts.headers) {
                    tokio::time::sleep(wait.min(self.timeout)).await;
                }
                Err(BatchError::transient(format!(
                    "{what}: HTTP 429, throttled{said}"
                )))
            }
            408 | 500.. => Err(BatchError::transient(format!(
                "{what}: HTTP {status}{said}"
            ))),
            _ => Err(BatchError::new(format!("{what}: HTTP {status}{said}"))),
        }
    }

    /// A subject version: `/subjects/{subject}/versions/{latest|n}`.
    async fn subject_version(
        &self,
        subject: &str,
        version: VersionPin,
    ) -> Result<Answer<Registered>, BatchError> {
        let subject = percent_encoding::utf8_percent_encode(subject, PATH_SEGMENT);
        let path = match version {
            VersionPin::Latest => format!("/subjects/{subject}/versions/latest"),
            VersionPin::Number(n) => format!("/subjects/{subject}/versions/{n}"),
        };
        self.get(&path).await
    }

    /// Every schema `references` name, directly or through each other, deepest first, each
    /// once, with the reference name it is known by.
    fn collect_references<'a>(
        &'a self,
        references: &'a [Reference],
        format: DataFormat,
        path: &'a mut Vec<(String, i64)>,
        out: &'a mut Vec<(String, Arc<Registered>)>,
        seen: &'a mut HashSet<(String, i64)>,
    ) -> BoxFuture<'a, Result<(), BatchError>> {
        // Every text collected so far: the schemas one schema pulls in are bounded in
        // total, not only each answer.
        let bytes = |out: &[(String, Arc<Registered>)]| -> usize {
            out.iter().map(|(_, r)| r.schema.len()).sum()
        };
        Box::pin(async move {
            for reference in references {
                // The compiler has the well-known types built in.
                if format == DataFormat::Protobuf && reference.name.starts_with("google/protobuf/")
                {
                    continue;
                }
                let id = (reference.subject.clone(), reference.version);
                if seen.contains(&id) {
                    continue;
                }
                if path.contains(&id) {
                    return Err(BatchError::new(format!(
                        "schema references form a cycle through subject '{}' version {}",
                        reference.subject, reference.version
                    )));
                }
                if path.len() >= MAX_REFERENCE_DEPTH
                    || out.len() >= MAX_REFERENCES
                    || bytes(out) > MAX_REFERENCED_BYTES
                {
                    return Err(BatchError::new(format!(
                        "schema references go deeper than {MAX_REFERENCE_DEPTH} levels, or past {MAX_REFERENCES} schemas or {MAX_REFERENCED_BYTES} bytes"
                    )));
                }
                let registered = self.reference(reference).await?;
                path.push(id.clone());
                let nested = registered.references.clone();
                self.collect_references(&nested, format, path, out, seen)
                    .await?;
                path.pop();
                seen.insert(id);
                out.push((reference.name.clone(), registered));
            }
            Ok(())
        })
    }

    /// One referenced schema version, from the process's cache or the registry.
    async fn reference(&self, reference: &Reference) -> Result<Arc<Registered>, BatchError> {
        let pinned = match reference.version {
            -1 => None,
            n => Some(u32::try_from(n).ok().filter(|v| *v > 0).ok_or_else(|| {
                BatchError::new(format!(
                    "a schema references subject '{}' at version {n}, which is not a version",
                    reference.subject
                ))
            })?),
        };
        let fetch = async {
            let version = pinned.map_or(VersionPin::Latest, VersionPin::Number);
            match self.subject_version(&reference.subject, version).await? {
                Answer::Found(registered) => Ok(Arc::new(registered)),
                Answer::NotFound => Err(BatchError::new(format!(
                    "a schema references subject '{}' {version}, which the Confluent registry at {} does not have",
                    reference.subject, self.base
                ))),
            }
        };
        match pinned {
            // A pinned version never changes: fetched once per process.
            Some(version) => self
                .references
                .try_get_with((reference.subject.clone(), version), fetch)
                .await
                .map_err(|e| (*e).clone()),
            None => fetch.await,
        }
    }

    /// The definition of a registered schema, its references resolved.
    async fn definition(
        &self,
        registered: Registered,
        subject: String,
        version: u32,
        id: Option<u32>,
    ) -> Result<SchemaDefinition, BatchError> {
        let type_name = registered.schema_type.as_deref().unwrap_or("AVRO");
        let format = DataFormat::from_name(type_name).ok_or_else(|| {
            BatchError::new(format!(
                "subject '{subject}' version {version} has schemaType {type_name:?}, which superdecode does not know"
            ))
        })?;
        let mut referenced = Vec::new();
        if format != DataFormat::Json {
            self.collect_references(
                &registered.references,
                format,
                &mut Vec::new(),
                &mut referenced,
                &mut HashSet::new(),
            )
            .await?;
        }
        let (text, imports) = match format {
            DataFormat::Avro if !referenced.is_empty() => {
                let texts: Vec<(&str, &str)> = referenced
                    .iter()
                    .map(|(name, r)| (name.as_str(), r.schema.as_str()))
                    .collect();
                let text = inline_references(&registered.schema, &texts).map_err(|e| {
                    BatchError::caused_by(format_args!("subject '{subject}' version {version}"), e)
                })?;
                (text, Vec::new())
            }
            DataFormat::Protobuf => {
                let imports = referenced
                    .into_iter()
                    .map(|(path, r)| ProtoImport {
                        path,
                        text: r.schema.clone(),
                    })
                    .collect();
                (registered.schema, imports)
            }
            _ => (registered.schema, Vec::new()),
        };
        Ok(SchemaDefinition {
            source: SourceKind::Confluent,
            registry: self.registry.clone(),
            schema: subject,
            version,
            format,
            text,
            imports,
            glue_id: None,
            confluent_id: id,
        })
    }
}

/// The registry credentials held in an AWS Secrets Manager secret: its string is a JSON
/// object with `user_info` (`user:password`) or `bearer_token`. Read once, at start, with
/// the standard AWS configuration (`AWS_ENDPOINT_URL_SECRETS_MANAGER` for a custom
/// endpoint); needs `secretsmanager:GetSecretValue` on that secret alone.
pub async fn credentials_from_secret(arn: &str) -> Result<Credentials, BatchError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Stored {
        user_info: Option<String>,
        bearer_token: Option<String>,
    }
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let output = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| {
            BatchError::new(format!(
                "cannot read the Confluent registry credentials from secret {arn}: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
            ))
        })?;
    let expected = |why: &str| {
        BatchError::new(format!(
            "secret {arn} {why}: expected a JSON object with \"user_info\" (user:password) or \"bearer_token\""
        ))
    };
    let text = output
        .secret_string()
        .ok_or_else(|| expected("has no secret string"))?;
    // The parser's message could quote the secret: it is not passed on.
    let stored: Stored =
        serde_json::from_str(text).map_err(|_| expected("does not hold the expected JSON"))?;
    match (stored.user_info, stored.bearer_token) {
        (Some(user_info), None) => Ok(Credentials::Basic(Secret::new(user_info))),
        (None, Some(token)) => Ok(Credentials::Bearer(Secret::new(token))),
        _ => Err(expected("holds neither or both")),
    }
}

/// Characters escaped in a subject used as a path segment.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn header_value(text: &str) -> Result<http::HeaderValue, BatchError> {
    let mut value = http::HeaderValue::from_str(text).map_err(|_| {
        BatchError::new("the Confluent registry credentials hold characters a header cannot")
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// `Retry-After` in seconds (the form registries send).
fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let seconds = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

/// An error and its causes, `: `-separated (hyper's top error alone says little).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[async_trait::async_trait]
impl SchemaSource for ConfluentSource {
    async fn fetch(&self, key: &SchemaKey) -> Result<Option<SchemaDefinition>, BatchError> {
        match key {
            SchemaKey::Id(SchemaId::Confluent(id)) => {
                let Answer::Found(registered) = self
                    .get::<Registered>(&format!("/schemas/ids/{id}"))
                    .await?
                else {
                    return Ok(None);
                };
                // The subject and version, for reading the record in another version's
                // shape. Optional: a schema whose subject versions were all deleted, or a
                // registry without this endpoint, still decodes.
                let named = match self
                    .get_or_404::<Vec<SubjectVersion>>(&format!("/schemas/ids/{id}/versions"), true)
                    .await?
                {
                    Answer::Found(versions) => versions.into_iter().next(),
                    Answer::NotFound => None,
                };
                let (subject, version) =
                    named.map_or_else(|| (format!("id-{id}"), 0), |v| (v.subject, v.version));
                Ok(Some(
                    self.definition(registered, subject, version, Some(*id))
                        .await?,
                ))
            }
            SchemaKey::Id(SchemaId::Glue(_) | SchemaId::AvroFingerprint(_)) => Ok(None),
            SchemaKey::Named {
                schema, version, ..
            } => {
                let Answer::Found(registered) = self.subject_version(schema, *version).await?
                else {
                    return Ok(None);
                };
                let subject = registered.subject.clone().unwrap_or_else(|| schema.clone());
                let number = match (registered.version, version) {
                    (Some(n), _) | (None, &VersionPin::Number(n)) => n,
                    (None, VersionPin::Latest) => {
                        return Err(BatchError::new(format!(
                            "the Confluent registry at {} answered {key} without its version number",
                            self.base
                        )));
                    }
                };
                let id = registered.id;
                Ok(Some(
                    self.definition(registered, subject, number, id).await?,
                ))
            }
        }
    }

    fn describe(&self) -> String {
        format!("Confluent registry at {}", self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> ConfluentSettings {
        ConfluentSettings {
            url: url.to_owned(),
            credentials: Credentials::None,
            timeout: Duration::from_secs(1),
            registry: "r".to_owned(),
        }
    }

    #[test]
    fn the_url_path_is_kept_as_a_prefix() {
        let source =
            ConfluentSource::new(settings("http://localhost:8081/apis/ccompat/v7/")).unwrap();
        assert_eq!(source.base, "http://localhost:8081/apis/ccompat/v7");
        assert_eq!(
            source.describe(),
            "Confluent registry at http://localhost:8081/apis/ccompat/v7"
        );
    }

    #[test]
    fn bad_urls_and_credentials_in_urls_are_refused_without_echoing_them() {
        for url in [
            "ftp://x",
            "localhost",
            "http://u:hunter2@host/",
            "http://h/?a=b",
        ] {
            let Err(e) = ConfluentSource::new(settings(url)) else {
                panic!("{url} accepted")
            };
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
        let mut basic = settings("http://h");
        basic.credentials = Credentials::Basic(Secret::new("no-colon"));
        assert!(ConfluentSource::new(basic).is_err());
    }

    #[test]
    fn subjects_are_escaped_as_one_path_segment() {
        let escaped =
            percent_encoding::utf8_percent_encode("a/b c:d-value", PATH_SEGMENT).to_string();
        assert_eq!(escaped, "a%2Fb%20c%3Ad-value");
    }
}
