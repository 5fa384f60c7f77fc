//! Issue 12's worker-runtime findings, one regression test (or one per case) each, against the
//! fake queue: results survive a job-done outage in order and exactly once (finding 2), every
//! URL part is percent-encoded (finding 3), an over-delivering take cannot run more than
//! `concurrency` jobs (finding 4), and bad start-up settings are refused by name (finding 8).
//!
//! Time is never used to synchronise: faults are scripted by count, waits are on the fake's
//! events or the handler's own signals, and the only bound on a wait is the `WAIT` safety net.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::*;
use runpod::fake::{FakeQueue, Fault, Route, FAKE_WORKER_ID};
use runpod::{
    Error, Handler, HandlerError, Job, JobContext, StreamHandler, Streaming, WorkerConfig,
};
use serde_json::{json, Value};
use tokio::sync::{mpsc, Semaphore};

/// A handler that counts how many jobs run at once, tells the test when each starts, and
/// finishes a job only when the test adds a permit to `gate`. Input `{"progress": true}`
/// sends one progress update first. It returns the job id.
struct Gated {
    running: AtomicUsize,
    max_running: AtomicUsize,
    started: mpsc::UnboundedSender<String>,
    gate: Arc<Semaphore>,
}

struct GatedControl {
    started: mpsc::UnboundedReceiver<String>,
    gate: Arc<Semaphore>,
}

impl GatedControl {
    async fn next_started(&mut self) -> String {
        tokio::time::timeout(WAIT, self.started.recv())
            .await
            .expect("a job starts in time")
            .expect("handler alive")
    }
}

fn gated() -> (Arc<Gated>, GatedControl) {
    let (started, receiver) = mpsc::unbounded_channel();
    let gate = Arc::new(Semaphore::new(0));
    (
        Arc::new(Gated {
            running: AtomicUsize::new(0),
            max_running: AtomicUsize::new(0),
            started,
            gate: Arc::clone(&gate),
        }),
        GatedControl {
            started: receiver,
            gate,
        },
    )
}

impl Handler for Gated {
    async fn handle(&self, job: Job, ctx: JobContext) -> Result<Value, HandlerError> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        if job.input.get("progress").is_some() {
            ctx.progress(json!("half"));
        }
        let _ = self.started.send(job.id.to_string());
        let permit = self.gate.acquire().await.expect("gate open");
        permit.forget();
        self.running.fetch_sub(1, Ordering::SeqCst);
        Ok(json!(job.id.to_string()))
    }
}

/// `handler` (an `Arc`) as a worker handler.
struct Shared<H>(Arc<H>);

impl<H: Handler> Handler for Shared<H> {
    async fn handle(&self, job: Job, ctx: JobContext) -> Result<Value, HandlerError> {
        self.0.handle(job, ctx).await
    }
}

/// Fast result retries, so that dozens of scripted failures take milliseconds.
fn fast_retries() -> WorkerConfig {
    WorkerConfig {
        result_backoff: Duration::from_millis(1),
        result_backoff_cap: Duration::from_millis(5),
        ..config()
    }
}

/// Delivered results in arrival order, as job ids.
fn delivered_ids(fake: &FakeQueue) -> Vec<String> {
    fake.results().into_iter().map(|(id, _)| id).collect()
}

// ---------------------------------------------------------------------------------------------
// Finding 2: results are never dropped while the worker lives.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_outlive_a_job_done_outage_in_order_and_exactly_once() {
    let fake = FakeQueue::start().expect("fake queue");
    // 40 failures in a row: the old runtime gave each result 6 attempts and dropped it.
    fake.inject(
        Route::JobDone,
        (0..40).map(|index| {
            if index % 5 == 4 {
                Fault::Drop
            } else {
                Fault::Status(500)
            }
        }),
    );
    let (handler, _control) = test_handler();
    let worker = start_worker(&fake, handler, fast_retries());
    let ids: Vec<String> = (0..8).map(|index| format!("outage-{index}")).collect();
    for id in &ids {
        fake.push(id, json!(id));
    }
    fake.wait_results(ids.len(), WAIT)
        .await
        .expect("every result arrives");
    worker.stop().await.expect("clean stop");

    // Concurrency 1: completion order is take order.
    assert_eq!(
        delivered_ids(&fake),
        ids,
        "in order of completion, once each"
    );
    for (id, body) in fake.results() {
        assert_eq!(body, json!({"output": {"echo": id, "extra": {}}}));
    }
    let failed = fake
        .events_on(Route::JobDone)
        .iter()
        .filter(|event| !event.ok())
        .count();
    assert_eq!(failed, 40, "every injected failure was retried past");
    // No take while a result was undelivered: each job was taken only after the result
    // before it had been delivered.
    let takes: Vec<_> = fake
        .events_on(Route::JobTake)
        .into_iter()
        .filter(|event| !event.jobs.is_empty())
        .collect();
    let done = fake.events_on(Route::JobDone);
    for pair in ids.windows(2) {
        let delivered_at = done
            .iter()
            .find(|event| event.is_delivered_result() && event.jobs == [pair[0].clone()])
            .expect("delivered")
            .at;
        let next_taken_at = takes
            .iter()
            .find(|event| event.jobs == [pair[1].clone()])
            .expect("taken")
            .at;
        assert!(
            next_taken_at >= delivered_at,
            "{} was taken before {} was delivered",
            pair[1],
            pair[0]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_take_is_made_while_a_result_is_undelivered() {
    let fake = FakeQueue::start().expect("fake queue");
    // Empty takes come back every 20 ms, so a worker that keeps taking shows it at once.
    fake.set_hold(Duration::from_millis(20));
    fake.inject(Route::JobDone, (0..12).map(|_| Fault::Status(503)));
    let (handler, _control) = test_handler();
    let mut config = fast_retries();
    // Two slots: one job leaves a free slot, which the old runtime filled while retrying.
    config.concurrency = fixed(2);
    config.result_backoff = Duration::from_millis(5);
    config.result_backoff_cap = Duration::from_millis(20);
    let worker = start_worker(&fake, handler, config);
    fake.push("slow-to-deliver", json!(1));
    fake.wait_result("slow-to-deliver", WAIT)
        .await
        .expect("delivered");
    let done = fake.events_on(Route::JobDone);
    let failures: Vec<Instant> = done
        .iter()
        .filter(|event| !event.ok())
        .map(|event| event.at)
        .collect();
    assert_eq!(failures.len(), 12);
    let delivered_at = done
        .iter()
        .find(|event| event.is_delivered_result())
        .expect("delivered")
        .at;
    // The take loop checks for a stalled outbox before each take and waits for each take's
    // answer, so at most the one take already in flight when the first attempt failed can
    // arrive afterwards; every later take must wait for the delivery.
    let during: Vec<Instant> = fake
        .take_arrivals()
        .into_iter()
        .filter(|at| *at > failures[0] && *at < delivered_at)
        .collect();
    assert!(
        during.len() <= 1,
        "{} takes arrived while the result was undelivered",
        during.len()
    );
    // Once it is delivered the worker takes again.
    fake.wait_for(WAIT, |events| {
        events.iter().any(|event| {
            matches!(event.route, Route::JobTake | Route::JobTakeBatch) && event.at > delivered_at
        })
    })
    .await
    .expect("takes resume after delivery");
    worker.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drain_keeps_retrying_an_undelivered_result() {
    let fake = FakeQueue::start().expect("fake queue");
    fake.inject(Route::JobDone, (0..20).map(|_| Fault::Status(502)));
    let (handler, mut control) = gated();
    let mut worker = start_worker(&fake, Shared(Arc::clone(&handler)), fast_retries());
    fake.push("late", json!(1));
    assert_eq!(control.next_started().await, "late");
    control.gate.add_permits(1);
    fake.wait_for(WAIT, |events| {
        events
            .iter()
            .any(|event| event.route == Route::JobDone && !event.ok())
    })
    .await
    .expect("first attempt failed");
    // SIGTERM while the result is still failing: the drain must keep retrying it.
    worker.shutdown();
    worker.stop().await.expect("clean stop");
    assert_eq!(delivered_ids(&fake), ["late"]);
}

/// Log lines written through the global subscriber (installed once for this test binary).
fn captured_logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&buffer);
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(move || Capture(Arc::clone(&writer)))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buffer
    })
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_abandoned_at_the_drain_timeout_is_logged_with_its_job_id() {
    let logs = captured_logs();
    let fake = FakeQueue::start().expect("fake queue");
    fake.fail_for(Route::JobDone, 500, Duration::from_secs(3600));
    let (handler, mut control) = gated();
    let mut config = fast_retries();
    config.drain_timeout = Duration::from_millis(300);
    let mut worker = start_worker(&fake, Shared(Arc::clone(&handler)), config);
    fake.push("abandoned-result-7f3a", json!(1));
    assert_eq!(control.next_started().await, "abandoned-result-7f3a");
    control.gate.add_permits(1);
    fake.wait_for(WAIT, |events| {
        events
            .iter()
            .any(|event| event.route == Route::JobDone && !event.ok())
    })
    .await
    .expect("first attempt failed");
    worker.shutdown();
    worker
        .stop()
        .await
        .expect("returns after the drain timeout");
    assert!(fake.results().is_empty());
    let text = String::from_utf8_lossy(&logs.lock().expect("log buffer")).into_owned();
    assert!(
        text.lines()
            .any(|line| line.contains("result abandoned undelivered")
                && line.contains("abandoned-result-7f3a")),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------------
// Finding 4: no take answer can make more jobs run than `concurrency`.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_over_delivering_take_never_runs_more_than_concurrency_jobs() {
    let fake = FakeQueue::start().expect("fake queue");
    let ids: Vec<String> = (0..30).map(|index| format!("flood-{index:02}")).collect();
    // One answer with 30 jobs to a worker that asked for one.
    let answer: Vec<Value> = ids.iter().map(|id| json!({"id": id, "input": 1})).collect();
    fake.push_raw(Value::Array(answer).to_string());
    let (handler, mut control) = gated();
    let worker = start_worker(&fake, Shared(Arc::clone(&handler)), config());
    for expected in &ids {
        // Each job starts only after the one before it was let go.
        assert_eq!(&control.next_started().await, expected);
        control.gate.add_permits(1);
    }
    fake.wait_results(ids.len(), WAIT)
        .await
        .expect("all 30 complete");
    worker.stop().await.expect("clean stop");
    assert_eq!(handler.max_running.load(Ordering::SeqCst), 1);
    assert_eq!(delivered_ids(&fake), ids);
    // While the extra jobs waited the worker took nothing more.
    let answered: Vec<_> = fake
        .events_on(Route::JobTake)
        .into_iter()
        .filter(|event| event.ok() && event.served == runpod::fake::Served::Status(200))
        .collect();
    assert_eq!(answered.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Finding 3: every URL part is percent-encoded.

/// Runs one job with this id (with a progress update) and checks the job-done, progress and
/// ping URLs the fake received: the id is exactly one path segment (or query value), encoded.
async fn job_id_is_one_encoded_url_part(id: &str, encoded: &str) {
    let fake = FakeQueue::start().expect("fake queue");
    let (handler, mut control) = gated();
    let worker = start_worker(&fake, Shared(Arc::clone(&handler)), config());
    fake.push(id, json!({"progress": true}));
    assert_eq!(control.next_started().await, id);
    // Held while it runs: the heartbeat lists it.
    fake.wait_for(WAIT, |events| {
        events
            .iter()
            .any(|event| event.route == Route::Ping && event.query("job_id") == Some(encoded))
    })
    .await
    .expect("the ping lists the encoded id");
    fake.wait_for(WAIT, |events| {
        events.iter().any(|event| event.is_progress())
    })
    .await
    .expect("progress posted");
    control.gate.add_permits(1);
    let body = fake.wait_result(id, WAIT).await.expect("result");
    worker.stop().await.expect("clean stop");
    assert_eq!(body, json!({"output": id}));
    let done_uri = format!(
        "/v2/fake-endpoint/job-done/{FAKE_WORKER_ID}/{encoded}?gpu=FAKE+GPU&isStream=false"
    );
    let done = fake.events_on(Route::JobDone);
    assert!(done.iter().all(|event| event.uri == done_uri), "{done:#?}");
    assert_eq!(done.len(), 2, "one progress update and one result");
    assert_eq!(done.iter().filter(|event| event.is_progress()).count(), 1);
    // Nothing reached any other route with the job's id.
    assert!(fake
        .events()
        .iter()
        .all(|event| event.route != Route::JobDone || event.jobs == [id.to_owned()]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slash_in_a_job_id_is_encoded() {
    job_id_is_one_encoded_url_part("a/b", "a%2Fb").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_mark_in_a_job_id_is_encoded() {
    job_id_is_one_encoded_url_part("a?b", "a%3Fb").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hash_in_a_job_id_is_encoded() {
    job_id_is_one_encoded_url_part("a#b", "a%23b").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_percent_sign_in_a_job_id_is_encoded() {
    job_id_is_one_encoded_url_part("a%2Fb%", "a%252Fb%25").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_space_in_a_job_id_is_encoded() {
    // A lone space was already encoded by the URL parser; the issue's `a b?c=d` was mangled.
    job_id_is_one_encoded_url_part("a b?c=d", "a%20b%3Fc%3Dd").await;
}

/// With a template that puts the job id in the query (`…?job=$ID&gpu=…`), the id is one
/// query value: it cannot add or override parameters.
async fn job_id_is_one_encoded_query_value(id: &str, encoded: &str) {
    let fake = FakeQueue::start().expect("fake queue");
    let template = format!(
        "{}/job-done/$RUNPOD_POD_ID/by-query?job=$ID&gpu=FAKE+GPU",
        fake.base_url()
    );
    let (handler, _control) = test_handler();
    let worker = start_worker_with_env(
        handler,
        config(),
        env_for(&fake, &[("RUNPOD_WEBHOOK_POST_OUTPUT", &template)]),
    );
    fake.push(id, json!(1));
    fake.wait_results(1, WAIT).await.expect("result");
    worker.stop().await.expect("clean stop");
    let done = &fake.events_on(Route::JobDone)[0];
    assert_eq!(
        done.uri,
        format!("/v2/fake-endpoint/job-done/{FAKE_WORKER_ID}/by-query?job={encoded}&gpu=FAKE+GPU&isStream=false")
    );
    assert_eq!(done.query("isStream"), Some("false"));
    assert_eq!(done.header("x-request-id"), Some(id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ampersand_in_a_job_id_is_encoded() {
    job_id_is_one_encoded_query_value("a&isStream=true", "a%26isStream%3Dtrue").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_equals_sign_in_a_job_id_is_encoded() {
    job_id_is_one_encoded_query_value("a=b", "a%3Db").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_dot_segments_in_a_job_id_cannot_climb_the_path() {
    job_id_is_one_encoded_url_part("../../etc/passwd", "..%2F..%2Fetc%2Fpasswd").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_id_that_is_a_dot_segment_is_skipped_as_malformed() {
    let fake = FakeQueue::start().expect("fake queue");
    let (handler, _control) = test_handler();
    let worker = start_worker(&fake, handler, config());
    fake.push("..", json!(1));
    fake.push(".", json!(1));
    fake.push("after", json!(1));
    fake.wait_result("after", WAIT)
        .await
        .expect("next job runs");
    worker.stop().await.expect("clean stop");
    let done = fake.events_on(Route::JobDone);
    assert_eq!(done.len(), 1, "{done:#?}");
    assert_eq!(
        done[0].uri,
        format!("/v2/fake-endpoint/job-done/{FAKE_WORKER_ID}/after?gpu=FAKE+GPU&isStream=false")
    );
}

struct Chunks;

impl StreamHandler for Chunks {
    fn stream(
        &self,
        _job: Job,
        _ctx: JobContext,
    ) -> impl futures_util::Stream<Item = Result<Value, HandlerError>> + Send {
        futures_util::stream::iter([Ok(json!(1))])
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_urls_encode_the_job_id() {
    let fake = FakeQueue::start().expect("fake queue");
    let worker = start_worker(&fake, Streaming(Chunks), config());
    fake.push("s/1?x#", json!(null));
    fake.wait_result("s/1?x#", WAIT).await.expect("result");
    worker.stop().await.expect("clean stop");
    let chunk = &fake.events_on(Route::JobStream)[0];
    assert_eq!(
        chunk.uri,
        format!("/v2/fake-endpoint/job-stream/{FAKE_WORKER_ID}/s%2F1%3Fx%23?gpu=FAKE+GPU&isStream=false")
    );
    assert_eq!(chunk.jobs, ["s/1?x#"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_id_is_encoded_in_take_done_and_ping_urls() {
    let fake = FakeQueue::start().expect("fake queue");
    let pod = "pod/1 ?#&=%";
    let encoded = "pod%2F1%20%3F%23%26%3D%25";
    let (handler, _control) = test_handler();
    let worker =
        start_worker_with_env(handler, config(), env_for(&fake, &[("RUNPOD_POD_ID", pod)]));
    fake.push("j", json!(1));
    fake.wait_result("j", WAIT).await.expect("result");
    fake.wait_for(WAIT, |events| {
        events.iter().any(|event| event.route == Route::Ping)
    })
    .await
    .expect("ping");
    worker.stop().await.expect("clean stop");
    let take = &fake.events_on(Route::JobTake)[0];
    assert_eq!(
        take.uri,
        format!("/v2/fake-endpoint/job-take/{encoded}?gpu=FAKE+GPU&job_in_progress=0")
    );
    let done = fake
        .events_on(Route::JobDone)
        .into_iter()
        .find(|event| event.is_delivered_result())
        .expect("done");
    assert_eq!(
        done.uri,
        format!("/v2/fake-endpoint/job-done/{encoded}/j?gpu=FAKE+GPU&isStream=false")
    );
    let ping = &fake.events_on(Route::Ping)[0];
    assert!(
        ping.uri
            .starts_with(&format!("/v2/fake-endpoint/ping/{encoded}?")),
        "{}",
        ping.uri
    );
}

// ---------------------------------------------------------------------------------------------
// Finding 8: start-up refuses bad settings, by name, before any request.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_job_deadline_is_refused_before_any_take() {
    let fake = FakeQueue::start().expect("fake queue");
    let (handler, _control) = test_handler();
    let config = WorkerConfig {
        job_deadline: Duration::from_secs_f64(1e-12),
        ..config()
    };
    let result =
        runpod::run_production(Arc::new(handler), config, env_for(&fake, &[]), async {}).await;
    match result {
        Err(Error::InvalidSetting { name, .. }) => assert_eq!(name, "job_deadline"),
        other => panic!("expected InvalidSetting, got {other:?}"),
    }
    assert!(fake.events().is_empty());
}

fn vars_with(fake: &FakeQueue, overrides: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut vars = fake.env();
    vars.extend(
        overrides
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string())),
    );
    vars
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_take_url_is_refused_and_reported_unhealthy_to_the_ping_url() {
    for (variable, value) in [
        ("RUNPOD_WEBHOOK_GET_JOB", "not-a-url"),
        ("RUNPOD_WEBHOOK_GET_JOB", "file:///etc/passwd"),
        ("RUNPOD_WEBHOOK_POST_OUTPUT", "ftp://q/done/$ID"),
        ("RUNPOD_PING_INTERVAL", "0"),
    ] {
        let fake = FakeQueue::start().expect("fake queue");
        let vars = vars_with(&fake, &[(variable, value)]);
        let error = runpod::RunpodEnv::from_vars(vars.clone()).expect_err("refused");
        match &error {
            Error::InvalidSetting {
                name, value: shown, ..
            } => {
                assert_eq!(*name, variable);
                assert_eq!(shown, &format!("{value:?}"));
            }
            other => panic!("expected InvalidSetting, got {other:?}"),
        }
        assert!(
            runpod::report_unhealthy_from_vars(&vars, "environment", &error.to_string()).await,
            "{variable}"
        );
        let pings = fake.events_on(Route::Ping);
        assert_eq!(pings.len(), 1);
        assert_eq!(pings[0].query("status"), Some("unhealthy"));
        assert_eq!(pings[0].query("check"), Some("environment"));
        assert!(pings[0].query("reason").expect("reason").contains(variable));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_ping_url_cannot_be_reported_to() {
    let fake = FakeQueue::start().expect("fake queue");
    let vars = vars_with(&fake, &[("RUNPOD_WEBHOOK_PING", "not a url")]);
    let error = runpod::RunpodEnv::from_vars(vars.clone()).expect_err("refused");
    assert!(error.to_string().contains("RUNPOD_WEBHOOK_PING"), "{error}");
    assert!(!runpod::report_unhealthy_from_vars(&vars, "environment", "x").await);
    assert!(fake.events().is_empty());
}
