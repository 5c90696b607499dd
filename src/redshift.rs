//! The Amazon Redshift external-function contract.
//!
//! Request: `{"request_id","cluster","user","database","external_function","query_id",
//! "num_records","arguments":[[...],...]}`; only `arguments` is required, so direct test
//! invokes work. Response: `{"success":true,"num_records":N,"results":[...]}` with one
//! string or `null` per row, in order, or `{"success":false,"error_msg":"..."}`, which
//! fails the query or refresh. Failure is reserved for malformed events, environment
//! errors, and record errors under `SUPERDECODE_ON_ERROR=fail`.

use serde_json::{Value, json};

use crate::config::OnError;
use crate::error::RecordError;
use crate::pipeline::{Call, Engine, RowResult};

/// The batch metadata we log; all optional.
#[derive(Debug, Default, Clone)]
pub struct BatchInfo {
    pub request_id: Option<String>,
    pub query_id: Option<i64>,
    pub external_function: Option<String>,
}

/// Reads an event into calls, or explains what was expected.
pub fn parse_event(event: &Value) -> Result<(BatchInfo, Vec<Call>), String> {
    let Some(object) = event.as_object() else {
        return Err(format!(
            "malformed event: expected a JSON object with an \"arguments\" array of rows, got {}",
            type_name(event)
        ));
    };
    let info = BatchInfo {
        request_id: object
            .get("request_id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        query_id: object.get("query_id").and_then(Value::as_i64),
        external_function: object
            .get("external_function")
            .and_then(Value::as_str)
            .map(str::to_owned),
    };
    let rows = match object.get("arguments") {
        Some(Value::Array(rows)) => rows,
        Some(other) => {
            return Err(format!(
                "malformed event: \"arguments\" must be an array of rows, got {}",
                type_name(other)
            ));
        }
        None => {
            return Err(
                "malformed event: missing \"arguments\" (an array of rows, one per record)".into(),
            );
        }
    };
    match object.get("num_records") {
        None | Some(Value::Null) => {}
        Some(n) if n.as_u64() == Some(rows.len() as u64) => {}
        Some(n) => {
            return Err(format!(
                "malformed event: num_records is {n} but \"arguments\" has {} rows",
                rows.len()
            ));
        }
    }
    let calls = rows
        .iter()
        .enumerate()
        .map(|(i, row)| parse_row(row).map_err(|e| format!("malformed event: row {i}: {e}")))
        .collect::<Result<_, _>>()?;
    Ok((info, calls))
}

fn parse_row(row: &Value) -> Result<Call, String> {
    let args = match row {
        Value::Null => return Ok(Call::Null),
        Value::Array(args) => args,
        other => {
            return Err(format!(
                "expected an array of arguments, got {}",
                type_name(other)
            ));
        }
    };
    let mut texts = Vec::with_capacity(args.len());
    for (i, arg) in args.iter().enumerate() {
        texts.push(match arg {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => {
                return Err(format!(
                    "argument {} is {}; superdecode takes VARCHAR arguments (hex from to_hex())",
                    i + 1,
                    type_name(other)
                ));
            }
        });
    }
    let mut texts = texts.into_iter();
    let mut next = || texts.next().flatten();
    match args.len() {
        1 => Ok(Call::Framed { hex: next() }),
        2 => Ok(Call::Stream {
            stream: next(),
            hex: next(),
        }),
        3 => Ok(Call::Named {
            registry: next(),
            schema: next(),
            hex: next(),
        }),
        n => Err(format!(
            "{n} arguments; expected (hex), (stream, hex) or (registry, schema, hex)"
        )),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub fn failure(message: impl Into<String>) -> Value {
    json!({"success": false, "error_msg": message.into()})
}

/// Applies the record-error policy. `Err` carries the batch-failure message for `fail`.
pub fn apply_policy(rows: Vec<RowResult>, policy: OnError) -> Result<Vec<Option<String>>, String> {
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| match row {
            None => Ok(None),
            Some(Ok(json)) => Ok(Some(json)),
            Some(Err(e)) => match policy {
                OnError::Object => Ok(Some(e.to_json_object())),
                OnError::Null => Ok(None),
                OnError::Fail => Err(record_failure(i, &e)),
            },
        })
        .collect()
}

fn record_failure(row: usize, e: &RecordError) -> String {
    format!("record {row} failed to decode ({e}) and SUPERDECODE_ON_ERROR=fail")
}

/// What a handled batch produced, for the response and the batch log line.
pub struct Outcome {
    pub info: BatchInfo,
    pub response: Value,
    pub records: usize,
    pub record_errors: usize,
    /// Record errors by code, for the batch log.
    pub errors_by_code: std::collections::BTreeMap<&'static str, usize>,
    pub failure: Option<String>,
}

/// Handles one Redshift event: the whole Lambda function, minus the runtime. Registry
/// work must finish by `deadline`.
pub async fn handle(
    engine: &Engine,
    policy: OnError,
    event: &Value,
    deadline: Option<std::time::Instant>,
) -> Outcome {
    let fail = |info,
                records,
                errors_by_code: std::collections::BTreeMap<&'static str, usize>,
                message: String| Outcome {
        info,
        response: failure(message.clone()),
        records,
        record_errors: errors_by_code.values().sum(),
        errors_by_code,
        failure: Some(message),
    };
    let (info, calls) = match parse_event(event) {
        Ok(parsed) => parsed,
        Err(message) => return fail(BatchInfo::default(), 0, Default::default(), message),
    };
    let rows = match engine.decode_rows(&calls, None, deadline).await {
        Ok(rows) => rows,
        Err(e) => return fail(info, calls.len(), Default::default(), e.to_string()),
    };
    let mut errors_by_code = std::collections::BTreeMap::new();
    for row in &rows {
        if let Some(Err(e)) = row {
            *errors_by_code.entry(e.code.as_str()).or_insert(0) += 1;
        }
    }
    let record_errors = errors_by_code.values().sum();
    match apply_policy(rows, policy) {
        Ok(results) => Outcome {
            info,
            response: json!({"success": true, "num_records": results.len(), "results": results}),
            records: calls.len(),
            record_errors,
            errors_by_code,
            failure: None,
        },
        Err(message) => fail(info, calls.len(), errors_by_code, message),
    }
}
