//! Local modes: the one-shot test input and the local API server.

mod common;

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use runpod::{StreamHandler, Streaming, WorkerConfig};
use serde_json::{json, Value};
use tokio::sync::oneshot;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_run_returns_the_body_and_success() {
    let (handler, _control) = test_handler();
    let outcome = runpod::run_local(Arc::new(handler), config(), r#"{"input": {"a": 1}}"#)
        .await
        .expect("local run");
    assert!(outcome.success);
    assert_eq!(
        outcome.body,
        json!({"output": {"echo": {"a": 1}, "extra": {}}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_local_run_is_not_a_success() {
    let (handler, _control) = test_handler();
    let outcome = runpod::run_local(Arc::new(handler), config(), r#"{"input": {"fail": "no"}}"#)
        .await
        .expect("local run");
    assert!(!outcome.success);
    assert_eq!(error_report(&outcome.body)["error_type"], "InvalidInput");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_run_without_input_is_an_error() {
    let (handler, _control) = test_handler();
    let result = runpod::run_local(Arc::new(handler), config(), r#"{"id": "x"}"#).await;
    assert!(matches!(result, Err(runpod::Error::Decode { .. })));
}

struct Twice;

impl StreamHandler for Twice {
    fn stream(
        &self,
        job: runpod::Job,
        _ctx: runpod::JobContext,
    ) -> impl futures_util::Stream<Item = Result<Value, runpod::HandlerError>> + Send {
        futures_util::stream::iter([Ok(job.input.clone()), Ok(job.input)])
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_stream_run_aggregates_its_chunks() {
    let outcome = runpod::run_local(Arc::new(Streaming(Twice)), config(), r#"{"input": 7}"#)
        .await
        .expect("local run");
    assert_eq!(outcome.body, json!({"output": [7, 7]}));
}

/// A local API server on 127.0.0.1:0 and a client for it.
struct Api {
    base: String,
    client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<Result<(), runpod::Error>>,
}

impl Api {
    async fn start<H: runpod::Handler>(handler: H, config: WorkerConfig) -> Api {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(runpod::serve(
            Arc::new(handler),
            config,
            listener,
            async move {
                let _ = stopped.await;
            },
        ));
        Api {
            base,
            client: reqwest::Client::new(),
            stop: Some(stop),
            handle,
        }
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(WAIT, self.handle)
            .await
            .expect("server stops")
            .expect("no panic")
            .expect("clean stop");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runsync_runs_the_job_and_answers_completed() {
    let (handler, _control) = test_handler();
    let api = Api::start(handler, config()).await;
    let (status, body) = api.post("/runsync", json!({"input": {"x": 1}})).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "COMPLETED");
    assert_eq!(body["output"], json!({"echo": {"x": 1}, "extra": {}}));
    assert!(body["id"].as_str().expect("id").starts_with("sync-"));
    assert!(body["delayTime"].is_u64() && body["executionTime"].is_u64());
    let (status, body) = api
        .post("/runsync", json!({"input": {"fail": "bad"}}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "FAILED");
    assert_eq!(error_report(&body)["error_type"], "InvalidInput");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_queues_the_job_and_status_goes_from_in_queue_to_in_progress_to_completed() {
    let (handler, mut control) = test_handler();
    let api = Api::start(handler, config()).await;
    let (status, first) = api
        .post("/run", json!({"input": {"wait": "release"}}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(first["status"], "IN_QUEUE");
    let first_id = first["id"].as_str().expect("id").to_owned();
    control.next_seen().await;
    // Concurrency 1: a second job waits in the queue while the first runs.
    let (_, second) = api.post("/run", json!({"input": 2})).await;
    let second_id = second["id"].as_str().expect("id").to_owned();
    let (_, body) = api.get(&format!("/status/{first_id}")).await;
    assert_eq!(body["status"], "IN_PROGRESS");
    let (_, body) = api.get(&format!("/status/{second_id}")).await;
    assert_eq!(body["status"], "IN_QUEUE");
    let (_, health) = api.get("/health").await;
    assert_eq!(health["jobs"]["inProgress"], 1);
    assert_eq!(health["jobs"]["inQueue"], 1);
    control.release.notify_waiters();
    let (_, body) = api.post("/runsync?wait=1000", json!({"input": 3})).await;
    assert_eq!(body["status"], "COMPLETED", "queue drained in order");
    let (_, body) = api.post(&format!("/status/{first_id}"), json!({})).await;
    assert_eq!(body["status"], "COMPLETED");
    let (_, body) = api.get(&format!("/status/{second_id}")).await;
    assert_eq!(body["status"], "COMPLETED");
    assert_eq!(body["output"]["echo"], 2);
    let (_, health) = api.get("/health").await;
    assert_eq!(health["jobs"]["completed"], 3);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_a_running_job_and_reports_cancelled() {
    let (handler, mut control) = test_handler();
    let api = Api::start(handler, config()).await;
    let (_, job) = api.post("/run", json!({"input": {"wait": "cancel"}})).await;
    let id = job["id"].as_str().expect("id").to_owned();
    control.next_seen().await;
    let (status, body) = api.post(&format!("/cancel/{id}"), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"id": id, "status": "CANCELLED"}));
    assert!(control.was_cancelled(&id));
    let (_, body) = api.get(&format!("/status/{id}")).await;
    assert_eq!(body["status"], "CANCELLED");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_past_its_deadline_is_timed_out() {
    let (handler, _control) = test_handler();
    let mut config = config();
    config.job_deadline = Duration::from_millis(100);
    let api = Api::start(handler, config).await;
    let (_, body) = api
        .post("/runsync", json!({"input": {"wait": "cancel"}}))
        .await;
    assert_eq!(body["status"], "TIMED_OUT");
    assert_eq!(error_report(&body)["error_type"], "DeadlineExceeded");
    api.stop().await;
}

struct Slow;

impl StreamHandler for Slow {
    fn stream(
        &self,
        _job: runpod::Job,
        _ctx: runpod::JobContext,
    ) -> impl futures_util::Stream<Item = Result<Value, runpod::HandlerError>> + Send {
        futures_util::stream::iter((0..3).map(|index| Ok(Value::from(index))))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_returns_the_chunks_not_yet_read() {
    let api = Api::start(Streaming(Slow), config()).await;
    let (_, body) = api.post("/runsync", json!({"input": null})).await;
    assert_eq!(body["status"], "COMPLETED");
    assert_eq!(body["output"], json!([0, 1, 2]));
    let id = body["id"].as_str().expect("id").to_owned();
    let (_, stream) = api.get(&format!("/stream/{id}")).await;
    assert_eq!(
        stream["stream"],
        json!([{"output": 0}, {"output": 1}, {"output": 2}])
    );
    let (_, stream) = api.post(&format!("/stream/{id}"), json!({})).await;
    assert_eq!(stream["stream"], json!([]));
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_unknown_jobs_and_large_bodies_are_refused() {
    let (handler, _control) = test_handler();
    let mut config = config();
    config.api_body_limit = 1000;
    let api = Api::start(handler, config).await;
    let (status, _) = api.post("/run", json!({"no_input": 1})).await;
    assert_eq!(status, 400);
    let (status, _) = api.get("/status/unknown").await;
    assert_eq!(status, 404);
    let (status, _) = api.post("/cancel/unknown", json!({})).await;
    assert_eq!(status, 404);
    let (status, _) = api.post("/run", json!({"input": "x".repeat(5000)})).await;
    assert_eq!(status, 413);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_store_is_bounded_and_answers_429_when_full_of_running_jobs() {
    let (handler, _control) = test_handler();
    let mut config = config();
    config.registry_bound = NonZeroUsize::new(2).expect("non-zero");
    let api = Api::start(handler, config).await;
    for _ in 0..2 {
        let (status, _) = api
            .post("/run", json!({"input": {"wait": "release"}}))
            .await;
        assert_eq!(status, 200);
    }
    let (status, _) = api.post("/run", json!({"input": 1})).await;
    assert_eq!(status, 429);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_jobs_are_kept_until_their_ttl_and_new_ones_get_429() {
    let (handler, _control) = test_handler();
    let mut config = config();
    config.registry_bound = NonZeroUsize::new(2).expect("non-zero");
    let api = Api::start(handler, config).await;
    let mut ids = Vec::new();
    for index in 0..2 {
        let (_, body) = api.post("/runsync", json!({"input": index})).await;
        ids.push(body["id"].as_str().expect("id").to_owned());
    }
    let (status, body) = api.post("/runsync", json!({"input": 2})).await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body["error"].as_str().expect("reason").contains("TTL"),
        "{body}"
    );
    assert_eq!(api.get(&format!("/status/{}", ids[0])).await.0, 200);
    assert_eq!(api.get(&format!("/status/{}", ids[1])).await.0, 200);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_carry_no_server_header_and_slow_requests_time_out() {
    let (handler, _control) = test_handler();
    let mut config = config();
    config.api_request_timeout = Duration::from_millis(200);
    let api = Api::start(handler, config).await;
    let response = api
        .client
        .get(format!("{}/health", api.base))
        .send()
        .await
        .expect("request");
    assert!(response.headers().get("server").is_none());
    let (status, _) = api
        .post("/runsync", json!({"input": {"wait": "release"}}))
        .await;
    assert_eq!(status, 408);
    api.stop().await;
}
