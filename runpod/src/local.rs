//! Local one-shot mode: run one job from `--test-input` or `./test_input.json` (spec §12.1).
//!
//! The input is `{"input": …, "id"?: …}` (other keys pass through as job keys); the id defaults
//! to `local_test`. The job runs under the same deadline as in production; progress and
//! stream chunks are logged; streams are aggregated into the output.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::config::WorkerConfig;
use crate::context::Reporter;
use crate::error::Error;
use crate::exec::{run_job, Outcome};
use crate::handler::Handler;
use crate::job::{Job, JobId};
use crate::report::{final_body, is_failure, Identity};

/// The result of a local run.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalOutcome {
    /// The body that would have been posted to job-done (`{"output":…}` or `{"error":"…"}`).
    pub body: Value,
    /// `false` when the body carries an error: the process should exit 1.
    pub success: bool,
}

/// Logs progress and chunks instead of posting them.
struct LogReporter;

impl Reporter for LogReporter {
    fn progress<'a>(&'a self, id: &'a JobId, value: Value) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            tracing::info!(job_id = %id, progress = %value, "progress update");
        })
    }
    fn chunk<'a>(&'a self, id: &'a JobId, value: Value) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            tracing::info!(job_id = %id, chunk = %value, "stream chunk");
        })
    }
}

/// Parses the local test input into a job.
pub(crate) fn parse_test_input(test_input: &str) -> Result<Job, Error> {
    let value: Value = serde_json::from_str(test_input)
        .map_err(|error| Error::decode("test input", error.to_string()))?;
    let Value::Object(mut object) = value else {
        return Err(Error::decode("test input", "it is not a JSON object"));
    };
    match object.get("input") {
        None | Some(Value::Null) => {
            return Err(Error::decode("test input", "`input` is missing or null"))
        }
        Some(_) => {}
    }
    if !object.contains_key("id") {
        object.insert("id".to_owned(), Value::String("local_test".to_owned()));
    }
    Job::from_value(Value::Object(object)).map_err(|reason| Error::decode("test input", reason))
}

/// Runs one job from JSON text and returns the body and whether it succeeded.
pub async fn run_local<H: Handler>(
    handler: Arc<H>,
    config: WorkerConfig,
    test_input: &str,
) -> Result<LocalOutcome, Error> {
    let job = parse_test_input(test_input)?;
    let (outcome, shared) = run_job(
        &handler,
        job,
        &config,
        Arc::new(LogReporter),
        true,
        CancellationToken::new(),
        || {},
    )
    .await;
    let result = match outcome {
        Outcome::Finished(result) => result,
        Outcome::Stopped => return Err(Error::Cancelled),
    };
    let body = final_body(
        result,
        &Identity::local(),
        || shared.logs(),
        config.refresh_worker,
        true,
    );
    let success = !is_failure(&body);
    Ok(LocalOutcome { body, success })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn test_input_gets_a_default_id_and_keeps_extra_keys() {
        let job = parse_test_input(r#"{"input":{"a":1},"webhook":"w"}"#).expect("job");
        assert_eq!(job.id.as_str(), "local_test");
        assert_eq!(job.input, json!({"a":1}));
        assert_eq!(job.extra["webhook"], json!("w"));
        assert_eq!(
            parse_test_input(r#"{"id":"x","input":2}"#)
                .expect("job")
                .id
                .as_str(),
            "x"
        );
    }

    #[test]
    fn test_input_without_input_is_refused() {
        assert!(parse_test_input(r#"{"id":"x"}"#).is_err());
        assert!(parse_test_input(r#"{"input":null}"#).is_err());
        assert!(parse_test_input("[1]").is_err());
        assert!(parse_test_input("nope").is_err());
    }
}
