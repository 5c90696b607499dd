//! The AWS Glue Schema Registry, through `aws-sdk-glue`'s `GetSchemaVersion`.
//!
//! Configuration follows the standard AWS chain (region, credentials, and
//! `AWS_ENDPOINT_URL_GLUE` for a custom endpoint such as a local moto server). The only
//! permission needed is `glue:GetSchemaVersion`; lookups by version UUID carry no registry
//! name, so that permission needs `Resource: "*"`.
//!
//! Confluent IDs and Avro fingerprints are not Glue concepts: looking them up here answers
//! "not found", which makes those records `schema_not_found` record errors.

use std::time::Duration;

use aws_sdk_glue::Client;
use aws_sdk_glue::config::http::HttpResponse;
use aws_sdk_glue::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_glue::types::{SchemaId as GlueSchemaId, SchemaVersionNumber};

use super::{SchemaDefinition, SchemaKey, SchemaSource, SourceKind, VersionPin};
use crate::decode::DataFormat;
use crate::error::BatchError;
use crate::frame::SchemaId;

/// The AWS Glue Schema Registry, through `GetSchemaVersion`.
pub struct GlueSource {
    client: Client,
}

impl GlueSource {
    /// A source configured from the standard AWS chain, with `timeout` for each
    /// `GetSchemaVersion` call. With `role_arn`, every call is made as that role (assumed
    /// through STS, and assumed again before its credentials expire): for a registry in
    /// another account.
    pub async fn from_env(timeout: Duration, role_arn: Option<&str>) -> Self {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .operation_timeout(timeout)
            .build();
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .timeout_config(timeouts)
            .load()
            .await;
        let config = match role_arn {
            None => config,
            Some(role) => {
                let role = aws_config::sts::AssumeRoleProvider::builder(role)
                    .session_name("superdecode")
                    .configure(&config)
                    .build()
                    .await;
                config
                    .into_builder()
                    .credentials_provider(aws_sdk_glue::config::SharedCredentialsProvider::new(
                        role,
                    ))
                    .build()
            }
        };
        Self::from_client(Client::new(&config))
    }

    /// A source over a ready-made client (tests, custom configuration). The SDK's own
    /// retries are turned off: the schema cache retries transient failures itself, within
    /// its bound on concurrent calls and its retry budget, so a call is never retried by two
    /// layers at once.
    pub fn from_client(client: Client) -> Self {
        let config = client
            .config()
            .to_builder()
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
        GlueSource {
            client: Client::from_conf(config),
        }
    }
}

/// The Glue source, built on first use: the AWS configuration (region, credentials, an
/// assumed role) is loaded only when a record needs Glue, so a deployment that reads only
/// a Confluent registry never probes for AWS settings.
pub struct LazyGlueSource {
    timeout: Duration,
    role_arn: Option<String>,
    source: tokio::sync::OnceCell<GlueSource>,
}

impl LazyGlueSource {
    /// The source [`GlueSource::from_env`] builds, once it is first asked.
    pub fn new(timeout: Duration, role_arn: Option<String>) -> Self {
        LazyGlueSource {
            timeout,
            role_arn,
            source: tokio::sync::OnceCell::new(),
        }
    }
}

#[async_trait::async_trait]
impl SchemaSource for LazyGlueSource {
    async fn fetch(&self, key: &SchemaKey) -> Result<Option<SchemaDefinition>, BatchError> {
        let source = self
            .source
            .get_or_init(|| GlueSource::from_env(self.timeout, self.role_arn.as_deref()))
            .await;
        source.fetch(key).await
    }

    fn describe(&self) -> String {
        "AWS Glue Schema Registry".to_owned()
    }
}

/// `arn:aws:glue:<region>:<account>:schema/<registry>/<schema>` → (registry, schema).
fn names_from_arn(arn: &str) -> Option<(String, String)> {
    let (_, path) = arn.split_once(":schema/")?;
    let (registry, schema) = path.split_once('/')?;
    Some((registry.to_owned(), schema.to_owned()))
}

/// Whether a failed call may pass if made again: throttling, a 5xx answer, a timeout or a
/// connection that failed. Access denied and invalid requests are not.
fn is_transient<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    match e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => {
            let throttled = matches!(
                service.err().code(),
                Some(
                    "ThrottlingException"
                        | "Throttling"
                        | "TooManyRequestsException"
                        | "RequestLimitExceeded"
                        | "InternalServiceException"
                        | "ServiceUnavailable"
                )
            );
            throttled || is_retryable_status(service.raw().status().as_u16())
        }
        _ => false,
    }
}

fn is_retryable_status(status: u16) -> bool {
    status == 429 || status >= 500
}

#[async_trait::async_trait]
impl SchemaSource for GlueSource {
    async fn fetch(&self, key: &SchemaKey) -> Result<Option<SchemaDefinition>, BatchError> {
        let request = self.client.get_schema_version();
        let request = match key {
            SchemaKey::Id(SchemaId::Glue(uuid)) => request.schema_version_id(uuid.to_string()),
            SchemaKey::Id(SchemaId::Confluent(_) | SchemaId::AvroFingerprint(_)) => {
                return Ok(None);
            }
            SchemaKey::Named {
                registry,
                schema,
                version,
                ..
            } => {
                let number = match version {
                    VersionPin::Latest => SchemaVersionNumber::builder().latest_version(true),
                    VersionPin::Number(n) => {
                        SchemaVersionNumber::builder().version_number(i64::from(*n))
                    }
                };
                request
                    .schema_id(
                        GlueSchemaId::builder()
                            .registry_name(registry)
                            .schema_name(schema)
                            .build(),
                    )
                    .schema_version_number(number.build())
            }
        };
        let output = match request.send().await {
            Ok(output) => output,
            Err(SdkError::ServiceError(e)) if e.err().is_entity_not_found_exception() => {
                return Ok(None);
            }
            Err(e) => {
                let message = format!("Glue GetSchemaVersion failed: {}", DisplayErrorContext(&e));
                return Err(if is_transient(&e) {
                    BatchError::transient(message)
                } else {
                    BatchError::new(message)
                });
            }
        };
        let incomplete = |what: &str| {
            BatchError::new(format!(
                "Glue GetSchemaVersion for {key} returned no {what}"
            ))
        };
        let (registry, schema) = match key {
            SchemaKey::Named {
                registry, schema, ..
            } => (registry.clone(), schema.clone()),
            SchemaKey::Id(_) => output
                .schema_arn()
                .and_then(names_from_arn)
                .ok_or_else(|| incomplete("schema ARN"))?,
        };
        let format = match output.data_format() {
            Some(glue) => DataFormat::from_name(glue.as_str()).ok_or_else(|| {
                BatchError::new(format!(
                    "{key} has data format {glue:?}, which superdecode does not know"
                ))
            })?,
            None => return Err(incomplete("data format")),
        };
        let version = output
            .version_number()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| incomplete("version number"))?;
        let glue_id = output
            .schema_version_id()
            .and_then(|id| id.parse::<uuid::Uuid>().ok());
        Ok(Some(SchemaDefinition {
            source: SourceKind::Glue,
            registry,
            schema,
            version,
            format,
            text: output
                .schema_definition()
                .ok_or_else(|| incomplete("schema definition"))?
                .to_owned(),
            imports: Vec::new(),
            glue_id,
            confluent_id: None,
        }))
    }

    fn describe(&self) -> String {
        "AWS Glue Schema Registry".to_owned()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn schema_names_come_from_the_arn() {
        assert_eq!(
            super::names_from_arn("arn:aws:glue:eu-west-1:123456789012:schema/my-reg/orders"),
            Some(("my-reg".to_owned(), "orders".to_owned()))
        );
        assert_eq!(
            super::names_from_arn("arn:aws:glue:eu-west-1:1:registry/x"),
            None
        );
    }
}
