//! Lambda mode: a thin shell that feeds each Redshift batch to [`redshift::handle`] and
//! logs one structured line per batch.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::value::RawValue;

use crate::config::Settings;
use crate::metrics::{self, BatchMetrics};
use crate::pipeline::Engine;
use crate::redshift;

/// Time kept back from the Lambda deadline to send a failure response instead of being
/// killed mid-batch.
const DEADLINE_MARGIN: Duration = Duration::from_millis(500);

/// Serves Redshift batches until the runtime stops us.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    crate::logging::init(true);
    // A configuration problem must reach Redshift as a clear `success:false`, not as an
    // opaque Lambda init failure, so the function starts either way.
    let ready = match Settings::from_env() {
        Ok(settings) => settings.engine().await.map(|engine| (settings, engine)),
        Err(e) => Err(e),
    };
    let ready = Arc::new(ready.map_err(|e| format!("superdecode is misconfigured: {e}")));
    if let Err(message) = &*ready {
        tracing::error!(%message, "configuration");
    }
    // The event arrives as raw text: `redshift::handle` reads its rows in place, and the
    // response arrives finished (each result escaped once), for the runtime to copy.
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let ready = Arc::clone(&ready);
        async move {
            let response = match &*ready {
                Ok((settings, engine)) => handle(settings, engine, event).await,
                Err(message) => redshift::Response::failure(message.clone()),
            };
            // The runtime copies the finished text into the HTTP body once.
            Ok::<Box<RawValue>, lambda_runtime::Error>(response.into_raw_json())
        }
    }))
    .await
}

async fn handle(
    settings: &Settings,
    engine: &Engine,
    event: LambdaEvent<Box<RawValue>>,
) -> redshift::Response {
    let started = Instant::now();
    let before = engine.schemas().stats();
    let unknown_before = engine.unknown_fields();
    let deadline = deadline(event.context.deadline);
    let outcome = redshift::handle(
        engine,
        settings.response_policy(),
        event.payload.get(),
        deadline,
    )
    .await;
    let cache = engine.schemas().stats() - before;
    let unknown_fields = engine.unknown_fields() - unknown_before;
    tracing::info!(
        request_id = outcome.info.request_id.as_deref().unwrap_or(""),
        query_id = outcome.info.query_id,
        external_function = outcome.info.external_function.as_deref().unwrap_or(""),
        lambda_request_id = %event.context.request_id,
        records = outcome.records,
        record_errors = outcome.record_errors,
        errors_by_code = ?outcome.errors_by_code,
        failure = outcome.failure.as_deref(),
        cache_hits = cache.hits,
        cache_misses = cache.misses,
        registry_calls = cache.registry_calls,
        registry_ms = cache.registry_micros as f64 / 1000.0,
        stale_served = cache.stale_served,
        refetches = cache.refetches,
        registry_retries = cache.retries,
        unknown_fields,
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        "batch"
    );
    let registry_ms = cache.registry_micros as f64 / 1000.0;
    let batch = BatchMetrics {
        records: outcome.records as u64,
        record_errors_by_code: outcome.errors_by_code.clone(),
        batch_failed: outcome.failure.is_some(),
        cache_hits: cache.hits,
        cache_misses: cache.misses,
        registry_calls: cache.registry_calls,
        registry_ms,
        decode_ms: (started.elapsed().as_secs_f64() * 1000.0 - registry_ms).max(0.0),
        unknown_fields,
    };
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    for line in metrics::emf_lines(&event.context.env_config.function_name, now_ms, &batch) {
        println!("{line}");
    }
    outcome.response
}

/// The Lambda deadline (milliseconds since the epoch) as an `Instant`, less the margin.
fn deadline(deadline_epoch_ms: u64) -> Option<Instant> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_millis();
    let left = Duration::from_millis(
        u64::try_from(u128::from(deadline_epoch_ms).checked_sub(now_ms)?).ok()?,
    );
    Some(Instant::now() + left.saturating_sub(DEADLINE_MARGIN))
}
