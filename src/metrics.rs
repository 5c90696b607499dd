//! CloudWatch Embedded Metric Format (EMF) records for one batch.
//!
//! Lambda sends stdout to CloudWatch Logs, and CloudWatch turns a log line that carries an
//! `_aws` metadata object into metrics, with no API call and no extra latency. Each batch
//! writes one record with the batch metrics (dimension `FunctionName`) and one per record
//! error code present (dimensions `FunctionName`, `ErrorCode`). Namespace: `superdecode`.
//! The format is plain JSON, so no client library is needed.

use std::collections::BTreeMap;

use serde_json::{Value, json};

pub const NAMESPACE: &str = "superdecode";

/// What one batch did.
#[derive(Debug, Clone, Default)]
pub struct BatchMetrics {
    pub records: u64,
    pub record_errors_by_code: BTreeMap<&'static str, usize>,
    pub batch_failed: bool,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub registry_calls: u64,
    pub registry_ms: f64,
    /// Time spent on the batch outside registry calls.
    pub decode_ms: f64,
    pub unknown_fields: u64,
}

fn metadata(timestamp_ms: u64, dimensions: &[&str], metrics: &[(&str, &str)]) -> Value {
    json!({
        "Timestamp": timestamp_ms,
        "CloudWatchMetrics": [{
            "Namespace": NAMESPACE,
            "Dimensions": [dimensions],
            "Metrics": metrics.iter().map(|(name, unit)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
        }],
    })
}

/// The EMF log lines for a batch.
pub fn emf_lines(function_name: &str, timestamp_ms: u64, batch: &BatchMetrics) -> Vec<String> {
    let errors: usize = batch.record_errors_by_code.values().sum();
    let mut lines = vec![
        json!({
            "_aws": metadata(timestamp_ms, &["FunctionName"], &[
                ("Records", "Count"),
                ("RecordErrors", "Count"),
                ("BatchFailures", "Count"),
                ("CacheHits", "Count"),
                ("CacheMisses", "Count"),
                ("RegistryCalls", "Count"),
                ("RegistryLatency", "Milliseconds"),
                ("DecodeTime", "Milliseconds"),
                ("UnknownFields", "Count"),
            ]),
            "FunctionName": function_name,
            "Records": batch.records,
            "RecordErrors": errors,
            "BatchFailures": u8::from(batch.batch_failed),
            "CacheHits": batch.cache_hits,
            "CacheMisses": batch.cache_misses,
            "RegistryCalls": batch.registry_calls,
            "RegistryLatency": batch.registry_ms,
            "DecodeTime": batch.decode_ms,
            "UnknownFields": batch.unknown_fields,
        })
        .to_string(),
    ];
    for (code, count) in &batch.record_errors_by_code {
        lines.push(
            json!({
                "_aws": metadata(timestamp_ms, &["FunctionName", "ErrorCode"], &[("RecordErrors", "Count")]),
                "FunctionName": function_name,
                "ErrorCode": code,
                "RecordErrors": count,
            })
            .to_string(),
        );
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_follow_the_embedded_metric_format() {
        let batch = BatchMetrics {
            records: 10,
            record_errors_by_code: BTreeMap::from([("invalid_hex", 2), ("trailing_bytes", 1)]),
            registry_calls: 1,
            registry_ms: 12.5,
            ..BatchMetrics::default()
        };
        let lines = emf_lines("fn", 1_700_000_000_000, &batch);
        assert_eq!(lines.len(), 3);
        let main: Value = serde_json::from_str(&lines[0]).unwrap();
        let directive = &main["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["FunctionName"]]));
        // Every declared metric has a value at the top level, as EMF requires.
        for metric in directive["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            assert!(main[name].is_number(), "{name} has no value");
        }
        assert_eq!(main["Records"], 10);
        assert_eq!(main["RecordErrors"], 3);
        assert_eq!(main["_aws"]["Timestamp"], 1_700_000_000_000u64);
        let by_code: Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(by_code["ErrorCode"], "invalid_hex");
        assert_eq!(by_code["RecordErrors"], 2);
        assert_eq!(
            by_code["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["FunctionName", "ErrorCode"]])
        );
    }
}
