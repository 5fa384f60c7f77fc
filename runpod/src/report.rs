//! Handler errors and the bodies posted to job-done (spec §4.2, §4.3).
//!
//! This is the one place where a handler's outcome becomes a wire body:
//!
//! ```json
//! {"output": <value>}                      // success
//! {"output": [..] | []}                    // streaming handler, final post
//! {"error": "<JSON text of the report>"}   // failure; `error` is always a string (rp#299)
//! {..., "stopPod": true}                   // refresh_worker, or a worker marked for refresh
//! ```
//!
//! The error report inside the `error` string is
//! `{"error_type","error_message","error_traceback","hostname","worker_id","runpod_version","logs"}`.

use std::fmt;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::env::RUNPOD_SDK_VERSION;

/// The `error_type` of a failed job's error report: the wire names, which never change.
/// The first six are a handler's (DESIGN section 4); the last three the runtime's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// The client's input cannot be used; the message names the field and the value.
    InvalidInput,
    /// The job ran past its deadline or was stopped.
    DeadlineExceeded,
    /// A phase's quality gate failed.
    PhaseFailed,
    /// A model failed.
    ModelError,
    /// The result is larger than can be returned.
    OutputTooLarge,
    /// Something failed inside the worker.
    Internal,
    /// RunPod refused the job's result (a short error result replaces it).
    ResultRejected,
    /// The queue delivered more jobs than this worker can hold.
    WorkerOverloaded,
    /// The handler gave up because its job was cancelled.
    Cancelled,
}

impl ErrorType {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::InvalidInput => "InvalidInput",
            ErrorType::DeadlineExceeded => "DeadlineExceeded",
            ErrorType::PhaseFailed => "PhaseFailed",
            ErrorType::ModelError => "ModelError",
            ErrorType::OutputTooLarge => "OutputTooLarge",
            ErrorType::Internal => "Internal",
            ErrorType::ResultRejected => "ResultRejected",
            ErrorType::WorkerOverloaded => "WorkerOverloaded",
            ErrorType::Cancelled => "Cancelled",
        }
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job failure as the handler reports it; the runtime turns it into RunPod's error string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerError {
    /// Its kind, on the wire as `error_type`.
    pub error_type: ErrorType,
    /// What went wrong, for the client.
    pub message: String,
}

impl HandlerError {
    /// An error of any type.
    pub fn new(error_type: ErrorType, message: impl Into<String>) -> Self {
        HandlerError {
            error_type,
            message: message.into(),
        }
    }

    /// The client sent input the handler cannot use.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorType::InvalidInput, message)
    }

    /// Something failed inside the worker.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorType::Internal, message)
    }

    /// The job ran past its hard deadline.
    pub fn deadline_exceeded(deadline: Duration) -> Self {
        Self::new(
            ErrorType::DeadlineExceeded,
            format!("job did not finish within its deadline of {deadline:?}"),
        )
    }

    /// The result was too large for RunPod.
    pub fn output_too_large(bytes: usize, limit: usize) -> Self {
        Self::new(
            ErrorType::OutputTooLarge,
            format!("result is {bytes} bytes, over RunPod's limit of {limit} bytes"),
        )
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

impl std::error::Error for HandlerError {}

/// What a handler produced, before it becomes a wire body.
#[derive(Debug, Clone, PartialEq)]
pub enum HandlerOutput {
    /// A plain handler's value.
    Single(Value),
    /// A streaming handler's chunks (empty unless aggregation was asked for).
    Stream(Vec<Value>),
}

/// Who is reporting: goes into every error report.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub hostname: String,
    pub worker_id: String,
}

impl Identity {
    pub(crate) fn local() -> Self {
        Identity {
            hostname: "unknown".to_owned(),
            worker_id: "local".to_owned(),
        }
    }
}

/// Python truthiness of a JSON value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().map(|x| x != 0.0).unwrap_or(true),
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}

/// The JSON text of an error report.
pub(crate) fn error_string(error: &HandlerError, identity: &Identity, logs: Vec<String>) -> String {
    json!({
        "error_type": error.error_type.as_str(),
        "error_message": error.message,
        "error_traceback": "",
        "hostname": identity.hostname,
        "worker_id": identity.worker_id,
        "runpod_version": RUNPOD_SDK_VERSION,
        "logs": logs,
    })
    .to_string()
}

/// Builds the final job-done body.
///
/// `stop_pod` adds `"stopPod": true`. `aggregate` chooses between `{"output":[chunks]}` and
/// `{"output":[]}` for streams.
pub(crate) fn final_body(
    outcome: Result<HandlerOutput, HandlerError>,
    identity: &Identity,
    logs: impl FnOnce() -> Vec<String>,
    stop_pod: bool,
    aggregate: bool,
) -> Value {
    let mut body = Map::new();
    let mut stop_pod = stop_pod;
    match outcome {
        Ok(HandlerOutput::Single(Value::Object(mut object))) => {
            let error = object.remove("error");
            if object.remove("refresh_worker").as_ref().is_some_and(truthy) {
                stop_pod = true;
            }
            match error {
                Some(error) if truthy(&error) => {
                    let text = match error {
                        Value::String(text) => text,
                        other => other.to_string(),
                    };
                    body.insert("error".to_owned(), Value::String(text));
                    if !object.is_empty() {
                        body.insert("output".to_owned(), Value::Object(object));
                    }
                }
                _ => {
                    body.insert("output".to_owned(), Value::Object(object));
                }
            }
        }
        Ok(HandlerOutput::Single(value)) => {
            body.insert("output".to_owned(), value);
        }
        Ok(HandlerOutput::Stream(chunks)) => {
            let chunks = if aggregate { chunks } else { Vec::new() };
            body.insert("output".to_owned(), Value::Array(chunks));
        }
        Err(error) => {
            body.insert(
                "error".to_owned(),
                Value::String(error_string(&error, identity, logs())),
            );
        }
    }
    if stop_pod {
        body.insert("stopPod".to_owned(), Value::Bool(true));
    }
    Value::Object(body)
}

/// Whether a body reports a failure.
pub(crate) fn is_failure(body: &Value) -> bool {
    body.get("error").is_some()
}

/// Serialises a body; one over `limit` bytes is replaced by a short `OutputTooLarge` error.
pub(crate) fn encode_body(
    body: &Value,
    limit: usize,
    identity: &Identity,
    logs: impl FnOnce() -> Vec<String>,
) -> Vec<u8> {
    let bytes = body.to_string().into_bytes();
    if bytes.len() <= limit {
        return bytes;
    }
    let error = HandlerError::output_too_large(bytes.len(), limit);
    replacement_body(&error, identity, logs(), body.get("stopPod").is_some())
}

/// A short error body replacing a result that could not be delivered.
pub(crate) fn replacement_body(
    error: &HandlerError,
    identity: &Identity,
    logs: Vec<String>,
    stop_pod: bool,
) -> Vec<u8> {
    // Keep the replacement small even if the logs are large: only the last few lines.
    let tail: Vec<String> = logs.into_iter().rev().take(20).rev().collect();
    let mut body = json!({ "error": error_string(error, identity, tail) });
    if stop_pod {
        body["stopPod"] = Value::Bool(true);
    }
    body.to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity {
            hostname: "host".into(),
            worker_id: "pod".into(),
        }
    }

    fn body(outcome: Result<HandlerOutput, HandlerError>) -> Value {
        final_body(outcome, &identity(), || vec!["a log".into()], false, false)
    }

    #[test]
    fn plain_values_are_wrapped_in_output() {
        assert_eq!(
            body(Ok(HandlerOutput::Single(json!("x")))),
            json!({"output":"x"})
        );
        assert_eq!(
            body(Ok(HandlerOutput::Single(json!({"output": 1})))),
            json!({"output":{"output":1}})
        );
        assert_eq!(
            body(Ok(HandlerOutput::Single(json!({})))),
            json!({"output":{}})
        );
    }

    #[test]
    fn a_returned_error_key_becomes_a_string_error() {
        assert_eq!(
            body(Ok(HandlerOutput::Single(json!({"error": {"code": 3}})))),
            json!({"error":"{\"code\":3}"})
        );
        assert_eq!(
            body(Ok(HandlerOutput::Single(
                json!({"error": "bad", "partial": 1})
            ))),
            json!({"error":"bad","output":{"partial":1}})
        );
        assert_eq!(
            body(Ok(HandlerOutput::Single(json!({"error": "", "a": 1})))),
            json!({"output":{"a":1}})
        );
    }

    #[test]
    fn refresh_worker_in_the_output_adds_stop_pod() {
        assert_eq!(
            body(Ok(HandlerOutput::Single(
                json!({"refresh_worker": true, "a": 1})
            ))),
            json!({"output":{"a":1},"stopPod":true})
        );
    }

    #[test]
    fn handler_errors_become_a_json_string_report_with_logs() {
        let value = body(Err(HandlerError::invalid_input("seed missing")));
        let text = value["error"].as_str().expect("error is a string");
        let report: Value = serde_json::from_str(text).expect("report is JSON");
        assert_eq!(report["error_type"], "InvalidInput");
        assert_eq!(report["error_message"], "seed missing");
        assert_eq!(report["error_traceback"], "");
        assert_eq!(report["hostname"], "host");
        assert_eq!(report["worker_id"], "pod");
        assert_eq!(report["runpod_version"], RUNPOD_SDK_VERSION);
        assert_eq!(report["logs"], json!(["a log"]));
    }

    #[test]
    fn streams_post_their_chunks_only_when_aggregating() {
        let chunks = HandlerOutput::Stream(vec![json!(1), json!(2)]);
        assert_eq!(body(Ok(chunks.clone())), json!({"output":[]}));
        assert_eq!(
            final_body(Ok(chunks), &identity(), Vec::new, true, true),
            json!({"output":[1,2],"stopPod":true})
        );
    }

    #[test]
    fn an_oversized_body_is_replaced_by_a_short_error() {
        let big = json!({"output": "x".repeat(1000)});
        let bytes = encode_body(&big, 100, &identity(), Vec::new);
        let value: Value = serde_json::from_slice(&bytes).expect("JSON");
        let report: Value =
            serde_json::from_str(value["error"].as_str().expect("string")).expect("JSON");
        assert_eq!(report["error_type"], "OutputTooLarge");
        let small = json!({"output": 1});
        assert_eq!(
            encode_body(&small, 100, &identity(), Vec::new),
            b"{\"output\":1}"
        );
    }
}
