//! Lambda mode: a thin shell that feeds each Redshift batch to [`redshift::handle`] and
//! logs one structured line per batch.

use std::sync::Arc;
use std::time::Instant;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

use crate::config::Settings;
use crate::redshift;

/// Serves Redshift batches until the runtime stops us.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    crate::logging::init(true);
    // A configuration problem must reach Redshift as a clear `success:false`, not as an
    // opaque Lambda init failure, so the function starts either way.
    let ready = Settings::from_env().and_then(|settings| {
        let engine = settings.engine()?;
        Ok((settings, engine))
    });
    let ready = Arc::new(ready.map_err(|e| format!("superdecode is misconfigured: {e}")));
    if let Err(message) = &*ready {
        tracing::error!(%message, "configuration");
    }
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let ready = Arc::clone(&ready);
        async move {
            let response = match &*ready {
                Ok((settings, engine)) => {
                    let started = Instant::now();
                    let outcome = redshift::handle(engine, settings.on_error, &event.payload).await;
                    tracing::info!(
                        request_id = outcome.info.request_id.as_deref().unwrap_or(""),
                        query_id = outcome.info.query_id,
                        lambda_request_id = %event.context.request_id,
                        records = outcome.records,
                        record_errors = outcome.record_errors,
                        failure = outcome.failure.as_deref(),
                        elapsed_us = started.elapsed().as_micros() as u64,
                        "batch"
                    );
                    outcome.response
                }
                Err(message) => redshift::failure(message.clone()),
            };
            Ok::<Value, lambda_runtime::Error>(response)
        }
    }))
    .await
}
