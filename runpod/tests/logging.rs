//! The global subscriber: events emitted inside a job land in that job's log ring, and error
//! results carry them. Its own test binary, because `logging::init` installs a process-wide
//! subscriber once.

use std::sync::Arc;

use runpod::{Handler, HandlerError, Job, JobContext};
use serde_json::Value;

struct Chatty;

impl Handler for Chatty {
    async fn handle(&self, job: Job, ctx: JobContext) -> Result<Value, HandlerError> {
        tracing::info!(stage = "decode", "decoding the input");
        ctx.log("a line from ctx.log");
        let in_blocking = ctx
            .spawn_blocking(|| tracing::warn!("from the blocking pool"))
            .await;
        in_blocking.map_err(|error| HandlerError::internal(error.to_string()))?;
        let lines = ctx.logs();
        if job.input == "fail" {
            return Err(HandlerError::invalid_input("bad input"));
        }
        Ok(Value::from(lines))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracing_events_inside_a_job_land_in_its_ring_and_in_error_reports() {
    runpod::logging::init(true, "info").expect("first and only init");
    assert!(
        runpod::logging::init(false, "info").is_err(),
        "a second init is refused"
    );
    assert!(runpod::logging::init(false, "not a level [").is_err());

    let outcome = runpod::run_local(
        Arc::new(Chatty),
        runpod::WorkerConfig::default(),
        r#"{"input": "ok"}"#,
    )
    .await
    .expect("local run");
    assert_eq!(
        outcome.body["output"],
        serde_json::json!([
            "INFO decoding the input stage=decode",
            "a line from ctx.log",
            "WARN from the blocking pool"
        ])
    );

    let outcome = runpod::run_local(
        Arc::new(Chatty),
        runpod::WorkerConfig::default(),
        r#"{"input": "fail"}"#,
    )
    .await
    .expect("local run");
    let report: Value =
        serde_json::from_str(outcome.body["error"].as_str().expect("string")).expect("json");
    assert_eq!(report["logs"].as_array().expect("logs").len(), 3);

    tracing::info!("outside any job: reaches stdout only");
}
