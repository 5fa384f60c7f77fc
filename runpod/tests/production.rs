//! Production mode against the fake queue: wire shapes, take handling, result delivery under
//! faults, progress, heartbeat, job-stop, deadlines, concurrency and shutdown.

mod common;

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use runpod::fake::{FakeQueue, Fault, Route, Served, FAKE_API_KEY, FAKE_WORKER_ID};
use runpod::{Concurrency, HandlerError, Job, JobContext, StreamHandler, Streaming, WorkerConfig};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn take_and_result_requests_match_the_python_sdk_byte_for_byte() {
    let fake = FakeQueue::start().expect("fake queue");
    let (handler, _control) = test_handler();
    let worker = start_worker(&fake, handler, config());
    fake.push("job-1-u1", json!({"prompt": "hi"}));
    fake.wait_results(1, WAIT).await.expect("result");
    worker.stop().await.expect("clean stop");

    let take = &fake.events_on(Route::JobTake)[0];
    assert_eq!(take.method, "GET");
    assert_eq!(
        take.uri,
        format!("/v2/fake-endpoint/job-take/{FAKE_WORKER_ID}?gpu=FAKE+GPU&job_in_progress=0")
    );
    assert_eq!(take.header("authorization"), Some(FAKE_API_KEY));
    assert!(take
        .header("user-agent")
        .expect("user agent")
        .starts_with("RunPod-Python-SDK/1.12.0"));

    let done = fake
        .events_on(Route::JobDone)
        .into_iter()
        .find(|event| event.is_delivered_result())
        .expect("job-done");
    assert_eq!(done.method, "POST");
    assert_eq!(
        done.uri,
        format!("/v2/fake-endpoint/job-done/{FAKE_WORKER_ID}/job-1-u1?gpu=FAKE+GPU&isStream=false")
    );
    assert_eq!(done.header("authorization"), Some(FAKE_API_KEY));
    assert_eq!(
        done.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(done.header("charset"), Some("utf-8"));
    assert_eq!(done.header("x-request-id"), Some("job-1-u1"));
    assert_eq!(
        String::from_utf8(done.body.clone()).expect("utf-8"),
        r#"{"output":{"echo":{"prompt":"hi"},"extra":{}}}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_job_keys_reach_the_handler() {
    let fake = FakeQueue::start().expect("fake queue");
    let (handler, _control) = test_handler();
    let worker = start_worker(&fake, handler, config());
    fake.push_job(json!({"id": "j", "input": 1, "webhook": "http://hook", "batchId": "b1", "s3Config": {"bucket": "x"}}));
    let body = fake.wait_result("j", WAIT).await.expect("result");
    assert_eq!(
        body,
        json!({"output": {"echo": 1, "extra": {"webhook": "http://hook", "batchId": "b1", "s3Config": {"bucket": "x"}}}})
    );
    worker.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_204_and_400_mean_no_job_and_the_worker_takes_again() {
    let fake = FakeQueue::start().expect("fake queue");
    fake.inject(
        Route::JobTake,
        [Fault::Status(204), Fault::Status(400), Fault::Status(204)],
    );
    let (handler, _control) = test_handler();
    let worker = start_worker(&fake, handler, config());
    fake.push("after-no-job", json!(1));
    fake.wait_result("after-no-job", WAIT)
        .await
        .expect("result");
    let served: Vec<Served> = fake
        .events_on(Route::JobTake)
        .iter()
        .map(|event| event.served.clone())
        .collect();
    assert_eq!(
        &served[..4],
        [
            Served::Status(204),
            Served::Status(400),
            Served::Status(204),
            Served::Status(200)
        ]
    );
    worker.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_pauses_taking_for_five_seconds() {
    let fake = FakeQueue::start().expect("fake queue");
    fake.inject(Route::JobTake, [Fault::Status(429)]);
    let (handler, _control) = test_handler();
    let worker = start_worker(&fake, handler, config());
    fake.push("after-429", json!(1));
    fake.wait_result("after-429", WAIT).await.expect("result");
    let takes = fake.events_on(Route::JobTake);
    assert_eq!(takes[0].served, Served::Status(429));
    let pause = takes[1].at.duration_since(takes[0].at);
    assert!(
        pause >= Duration::from_millis(4900),
        "paused only {pause:?}"
    );
    worker.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn take_errors_back_off_instead_of_spinning() {
    let fake = FakeQueue::start().expect("fake queue");
    fake.inject(
        Route::JobTake,
        [
            Fault::Status(500),
            Fault::Status(502),
            Fault::Drop,
            Fault::Status(503),
        ],
    );
    let (handler, _control) = test_handler();
    let worker = start_worker(&fake, handler, config());
    fake.push("after-errors", json!(1));
    fake.wait_result("after-errors", WAIT)
        .await
        .expect("result");
    let takes = fake.events_on(Route::JobTake);
    assert_eq!(
        takes.len(),
        5,
        "one take per failure plus the successful one"
    );
    for pair in takes.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at);
        assert!(
            gap >= Duration::from_millis(100),
            "retried after only {gap:?}"
        );
    }
    worker.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_jobs_are_skipped_and_the_next_job_runs() {
    let fake = FakeQueue::start().expect("fake queue");
    let (handler, _control) = test_handler();
    let worker = start_worker(&fake, handler, config());
    fake.push_raw("{this is not json");
    fake.push_raw(r#"{"input": "no id"}"#);
    fake.push("good", json!(1));
    fake.wait_result("good", WAIT).await.expect("result");
    assert_eq!(fake.results().len(), 1);
    worker.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_survive_503s_and_dropped_connections_without_loss() {
    let fake = FakeQueue::start().expect("fake queue");
    fake.inject(
        Route::JobDone,
        [
            Fault::Status(503),
            Fault::Drop,
            Fault::Status(500),
            Fault::Drop,
            Fault::Delay(Duration::from_millis(50)),
            Fault::Status(503),
        ],
    );
    let (handler, _control) = test_handler();
    let mut config = config();
    config.concurrency = fixed(3);
    let worker = start_worker(&fake, handler, config);
    for index in 0..20 {
        fake.push(&format!("job-{index}"), json!(index));
    }
    let results = fake.wait_results(20, WAIT).await.expect("every result");
    let ids: HashSet<String> = results.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(ids.len(), 20, "no result lost");
    let failures = fake
        .events_on(Route::JobDone)
        .iter()
        .filter(|event| !event.ok())
        .count();
    assert_eq!(failures, 5);
    worker.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_refused_with_400_is_replaced_by_a_short_error() {
    let fake = FakeQueue::start().expect("fake queue");
    fake.inject(Route::JobDone, [Fault::Status(400)]);
    let (handler, _control) = test_handler();
    let worker = start_worker(&fake, handler, config());
    fake.push("refused", json!(1));
    let body = fake.wait_result("refused", WAIT).await.expect("result");
    assert_eq!(error_report(&body)["error_type"], "ResultRejected");
    worker.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_result_becomes_an_output_too_large_error() {
    let fake = FakeQueue::start().expect("fake queue");
    let (handler, _control) = test_handler();
    let mut config = config();
    config.max_result_bytes = 1000;
    let worker = start_worker(&fake, handler, config);
    fake.push("big", json!({"big": 5000}));
    let body = fake.wait_result("big", WAIT).await.expect("result");
    assert_eq!(error_report(&body)["error_type"], "OutputTooLarge");
    worker.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_errors_post_a_string_error_report_with_the_job_logs() {
    let fake = FakeQueue::start().expect("fake queue");
    let (handler, _control) = test_handler();
    let worker = start_worker(&fake, handler, config());
    fake.push(
        "failing",
        json!({"fail": "seed missing", "log": "decoded the input"}),
    );
    let body = fake.wait_result("failing", WAIT).await.expect("result");
    let report = error_report(&body);
    assert_eq!(report["error_type"], "InvalidInput");
    assert_eq!(report["error_message"], "seed missing");
    assert_eq!(report["hostname"], "fake-host");
    assert_eq!(report["worker_id"], FAKE_WORKER_ID);
    assert_eq!(report["runpod_version"], "1.12.0");
    assert_eq!(report["logs"], json!(["decoded the input"]));
    worker.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_fails_its_job_and_the_worker_goes_on() {
    let fake = FakeQueue::start().expect("fake queue");
    let (handler, _control) = test_handler();
    let worker = start_worker(&fake, handler, config());
    fake.push("panics", json!({"panic": true}));
    fake.push("after", json!(2));
    let body = fake.wait_result("panics", WAIT).await.expect("result");
    assert_eq!(error_report(&body)["error_type"], "Internal");
    fake.wait_result("after", WAIT)
        .await
        .expect("next job runs");
    worker.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_is_ordered_and_never_posted_after_the_final_result() {
    let fake = FakeQueue::start().expect("fake queue");
    // Slow progress answers make a late progress post likely if ordering were not enforced.
    fake.inject(
        Route::JobDone,
        (0..5).map(|_| Fault::Delay(Duration::from_millis(30))),
    );
    let (handler, _control) = test_handler();
    let mut config = config();
    config.concurrency = fixed(2);
    let worker = start_worker(&fake, handler, config);
    for index in 0..6 {
        fake.push(&format!("p{index}"), json!({"progress": 50}));
    }
    fake.wait_results(6, WAIT).await.expect("results");
    worker.stop().await.expect("clean stop");
    for index in 0..6 {
        let id = format!("p{index}");
        let posts: Vec<_> = fake
            .events_on(Route::JobDone)
            .into_iter()
            .filter(|event| event.jobs.first() == Some(&id))
            .collect();
        let last = posts.last().expect("posts");
        assert!(
            last.is_delivered_result(),
            "the final result is the last post for {id}"
        );
        let steps: Vec<u64> = posts
            .iter()
            .filter(|event| event.is_progress())
            .map(|event| {
                event.json().expect("json")["output"]
                    .as_u64()
                    .expect("step")
            })
            .collect();
        assert!(
            steps.windows(2).all(|pair| pair[0] < pair[1]),
            "ordered: {steps:?}"
        );
        for event in posts.iter().filter(|event| event.is_progress()) {
            assert!(event.uri.ends_with("isStream=false"));
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn heartbeat_keeps_its_rhythm_while_a_handler_burns_cpu() {
    let fake = FakeQueue::start().expect("fake queue");

    fn pings_naming(fake: &FakeQueue, id: &str) -> usize {
        fake.events_on(Route::Ping)
            .iter()
            .filter(|event| event.query("job_id") == Some(id))
            .count()
    }
    let fake = Arc::new(fake);
    /// Burns the test's only runtime thread until the fake has seen three pings naming the
    /// job (bounded, so a broken heartbeat fails the test instead of hanging it).
    struct CpuHandler(Arc<FakeQueue>);
    impl runpod::Handler for CpuHandler {
        fn handle(
            &self,
            job: Job,
            _ctx: JobContext,
        ) -> impl std::future::Future<Output = Result<Value, HandlerError>> + Send {
            let fake = Arc::clone(&self.0);
            async move {
                let started = std::time::Instant::now();
                let mut spins: u64 = 0;
                while pings_naming(&fake, job.id.as_str()) < 3 {
                    spins = spins.wrapping_add(std::hint::black_box(1));
                    if started.elapsed() > WAIT {
                        return Err(HandlerError::internal("heartbeat starved"));
                    }
                }
                Ok(Value::from(spins > 0))
            }
        }
    }
    let worker = start_worker(&fake, CpuHandler(Arc::clone(&fake)), config());
    fake.push("cpu-job", json!(1));
    let body = fake.wait_result("cpu-job", WAIT).await.expect("result");
    assert_eq!(body, json!({"output": true}));
    let ping = &fake.events_on(Route::Ping)[0];
    assert_eq!(ping.header("authorization"), Some(FAKE_API_KEY));
    assert!(ping
        .uri
        .starts_with(&format!("/v2/fake-endpoint/ping/{FAKE_WORKER_ID}?")));
    assert!(ping.uri.ends_with("runpod_version=1.12.0"));
    worker.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_lists_every_held_job() {
    let fake = FakeQueue::start().expect("fake queue");
    let (handler, mut control) = test_handler();
    let mut config = config();
    config.concurrency = fixed(2);
    let worker = start_worker(&fake, handler, config);
    fake.push("held-a", json!({"wait": "release"}));
    fake.push("held-b", json!({"wait": "release"}));
    control.next_seen().await;
    control.next_seen().await;
    fake.wait_for(WAIT, |events| {
        events.iter().any(|event| {
            event.route == Route::Ping && event.query("job_id") == Some("held-a%2Cheld-b")
        })
    })
    .await
    .expect("a ping names both jobs");
    control.release.notify_waiters();
    fake.wait_results(2, WAIT).await.expect("results");
    worker.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_stop_cancels_the_job_and_posts_nothing_for_it() {
    let fake = FakeQueue::start().expect("fake queue");
    fake.set_hold(Duration::from_millis(200));
    let (handler, mut control) = test_handler();
    let worker = start_worker(&fake, handler, config());
    fake.push("to-stop", json!({"wait": "cancel"}));
    assert_eq!(control.next_seen().await, Seen::Started("to-stop".into()));
    fake.stop_jobs(&["to-stop"]);
    fake.push("next", json!(1));
    // Concurrency 1: the next job only runs once the stopped one has let go of its slot.
    fake.wait_result("next", WAIT).await.expect("next job runs");
    assert!(control.was_cancelled("to-stop"));
    worker.stop().await.expect("clean stop");
    assert!(fake.events_on(Route::JobDone).iter().all(|event| event
        .jobs
        .first()
        .map(String::as_str)
        != Some("to-stop")));
    let stop_poll = &fake.events_on(Route::JobStop)[0];
    assert!(stop_poll.uri.starts_with(&format!(
        "/v2/fake-endpoint/job-stop/{FAKE_WORKER_ID}?gpu=FAKE+GPU"
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_posts_deadline_exceeded_while_the_handler_is_stuck_and_the_next_job_runs() {
    let fake = FakeQueue::start().expect("fake queue");
    let (handler, control) = test_handler();
    let mut config = config();
    // The shortest deadline `WorkerConfig::validate` accepts.
    config.job_deadline = runpod::config::MIN_JOB_DEADLINE;
    config.deadline_grace = Duration::from_millis(50);
    let worker = start_worker(&fake, handler, config);
    fake.push("stuck", json!({"wait": "stuck"}));
    let body = fake
        .wait_result("stuck", WAIT)
        .await
        .expect("deadline result");
    assert_eq!(error_report(&body)["error_type"], "DeadlineExceeded");
    fake.push("next", json!(1));
    let next = fake.wait_result("next", WAIT).await.expect("next job runs");
    assert_eq!(next["output"]["echo"], json!(1));
    // The stuck work still holds its context: once the grace period is over the worker is
    // marked for refresh, and every later result asks RunPod to replace it.
    let mut marked = false;
    for index in 0..200 {
        let id = format!("later-{index}");
        fake.push(&id, json!(index));
        let body = fake.wait_result(&id, WAIT).await.expect("result");
        if body.get("stopPod") == Some(&json!(true)) {
            marked = true;
            break;
        }
    }
    assert!(marked, "worker marked for refresh after the grace period");
    drop(control.stuck_release);
    worker.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_may_lower_its_job_deadline() {
    struct Lowering;
    impl runpod::Handler for Lowering {
        async fn handle(&self, _job: Job, ctx: JobContext) -> Result<Value, HandlerError> {
            ctx.cancellation().cancelled().await;
            Ok(Value::Null)
        }
        fn job_deadline(&self, job: &Job) -> Option<Duration> {
            job.input
                .get("deadline_ms")
                .and_then(Value::as_u64)
                .map(Duration::from_millis)
        }
    }
    let fake = FakeQueue::start().expect("fake queue");
    let worker = start_worker(&fake, Lowering, config());
    fake.push("short", json!({"deadline_ms": 100}));
    let body = fake.wait_result("short", WAIT).await.expect("result");
    assert_eq!(error_report(&body)["error_type"], "DeadlineExceeded");
    worker.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_one_free_slot_takes_a_batch() {
    let fake = FakeQueue::start().expect("fake queue");
    let (handler, _control) = test_handler();
    let mut config = config();
    config.concurrency = fixed(3);
    for index in 0..3 {
        fake.push(&format!("b{index}"), json!(index));
    }
    let worker = start_worker(&fake, handler, config);
    fake.wait_results(3, WAIT).await.expect("results");
    let batch = &fake.events_on(Route::JobTakeBatch)[0];
    assert_eq!(
        batch.uri,
        format!("/v2/fake-endpoint/job-take-batch/{FAKE_WORKER_ID}?gpu=FAKE+GPU&batch_size=3&job_in_progress=0")
    );
    assert_eq!(batch.jobs, ["b0", "b1", "b2"]);
    worker.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrency_increase_applies_while_a_job_is_running() {
    let fake = FakeQueue::start().expect("fake queue");
    let (handler, mut control) = test_handler();
    let wanted = Arc::new(AtomicUsize::new(1));
    let mut config = config();
    let modifier_wanted = Arc::clone(&wanted);
    config.concurrency = Concurrency::Dynamic(Arc::new(move |_current| {
        NonZeroUsize::new(modifier_wanted.load(Ordering::SeqCst)).unwrap_or(NonZeroUsize::MIN)
    }));
    let worker = start_worker(&fake, handler, config);
    fake.push("first", json!({"wait": "release"}));
    assert_eq!(control.next_seen().await, Seen::Started("first".into()));
    wanted.store(2, Ordering::SeqCst);
    fake.push("second", json!(2));
    fake.wait_result("second", WAIT)
        .await
        .expect("second job runs beside the first");
    let take = fake
        .events_on(Route::JobTake)
        .into_iter()
        .find(|event| event.jobs == ["second"])
        .expect("take of the second job");
    assert!(take.uri.ends_with("job_in_progress=1"));
    control.release.notify_waiters();
    fake.wait_result("first", WAIT)
        .await
        .expect("first job finishes");
    worker.stop().await.expect("clean stop");
}

struct Counter;

impl StreamHandler for Counter {
    fn stream(
        &self,
        job: Job,
        _ctx: JobContext,
    ) -> impl futures_util::Stream<Item = Result<Value, HandlerError>> + Send {
        let count = job.input.as_u64().unwrap_or(0);
        futures_util::stream::iter((0..count).map(|index| Ok(Value::from(index))))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_posts_its_chunks_in_order_then_the_final_result_with_is_stream_true() {
    let fake = FakeQueue::start().expect("fake queue");
    fake.inject(Route::JobStream, [Fault::Status(503), Fault::Drop]);
    let worker = start_worker(&fake, Streaming(Counter), config());
    fake.push("s", json!(5));
    let body = fake.wait_result("s", WAIT).await.expect("result");
    assert_eq!(body, json!({"output": []}));
    let chunks: Vec<Value> = fake
        .events_on(Route::JobStream)
        .iter()
        .filter(|event| event.ok())
        .map(|event| event.json().expect("json"))
        .collect();
    assert_eq!(
        chunks,
        (0..5)
            .map(|index| json!({"output": index}))
            .collect::<Vec<_>>()
    );
    let stream_post = &fake.events_on(Route::JobStream)[0];
    assert_eq!(
        stream_post.uri,
        format!("/v2/fake-endpoint/job-stream/{FAKE_WORKER_ID}/s?gpu=FAKE+GPU&isStream=false")
    );
    let done = fake
        .events_on(Route::JobDone)
        .into_iter()
        .find(|event| event.is_delivered_result())
        .expect("final");
    assert!(done.uri.ends_with("isStream=true"));
    worker.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn return_aggregate_stream_puts_every_chunk_in_the_final_result() {
    let fake = FakeQueue::start().expect("fake queue");
    let mut config = config();
    config.return_aggregate_stream = true;
    let worker = start_worker(&fake, Streaming(Counter), config);
    fake.push("s", json!(3));
    let body = fake.wait_result("s", WAIT).await.expect("result");
    assert_eq!(body, json!({"output": [0, 1, 2]}));
    worker.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_worker_adds_stop_pod_and_ends_the_worker_after_one_job() {
    let fake = FakeQueue::start().expect("fake queue");
    let (handler, _control) = test_handler();
    let mut config = config();
    config.refresh_worker = true;
    let worker = start_worker(&fake, handler, config);
    fake.push("only", json!(1));
    fake.push("never", json!(2));
    let body = fake.wait_result("only", WAIT).await.expect("result");
    assert_eq!(body["stopPod"], json!(true));
    tokio::time::timeout(WAIT, worker.handle)
        .await
        .expect("worker ends by itself")
        .expect("no panic")
        .expect("clean exit");
    assert_eq!(fake.queued(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_aborts_the_long_poll_at_once_and_returns() {
    let fake = FakeQueue::start().expect("fake queue");
    fake.set_hold(Duration::from_secs(60));
    let (handler, _control) = test_handler();
    let worker = start_worker(&fake, handler, config());
    fake.wait_for(WAIT, |events| {
        events.iter().any(|event| event.route == Route::Ping)
    })
    .await
    .expect("worker running");
    // The take long poll is held for 60 s; the worker must not wait for it.
    worker
        .stop()
        .await
        .expect("clean stop well before the poll ends");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_taking_and_drains_running_jobs_before_returning() {
    let fake = FakeQueue::start().expect("fake queue");
    let (handler, mut control) = test_handler();
    let mut worker = start_worker(&fake, handler, config());
    fake.push("running", json!({"wait": "release"}));
    assert_eq!(control.next_seen().await, Seen::Started("running".into()));
    fake.push("queued", json!(1));
    worker.shutdown();
    let takes_at_shutdown =
        fake.events_on(Route::JobTake).len() + fake.events_on(Route::JobTakeBatch).len();
    control.release.notify_waiters();
    worker.stop().await.expect("clean stop");
    let results = fake.results();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].0, "running");
    assert_eq!(fake.queued(), 1, "nothing taken after the shutdown signal");
    assert_eq!(
        fake.events_on(Route::JobTake).len() + fake.events_on(Route::JobTakeBatch).len(),
        takes_at_shutdown
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drain_gives_up_on_jobs_that_outlast_the_drain_timeout() {
    let fake = FakeQueue::start().expect("fake queue");
    let (handler, mut control) = test_handler();
    let mut config = config();
    config.drain_timeout = Duration::from_millis(200);
    let worker = start_worker(&fake, handler, config);
    fake.push("endless", json!({"wait": "cancel"}));
    assert_eq!(control.next_seen().await, Seen::Started("endless".into()));
    worker
        .stop()
        .await
        .expect("returns after the drain timeout");
    // The abandoned job posts nothing: RunPod sees it vanish from the pings and retries it.
    assert!(control.was_cancelled("endless"));
    assert!(fake.results().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_mode_refuses_an_environment_without_a_job_done_url() {
    let fake = FakeQueue::start().expect("fake queue");
    let (handler, _control) = test_handler();
    let env = env_for(&fake, &[("RUNPOD_WEBHOOK_POST_OUTPUT", "")]);
    let result =
        runpod::run_production(Arc::new(handler), WorkerConfig::default(), env, async {}).await;
    assert!(matches!(result, Err(runpod::Error::Config(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_unhealthy_sends_the_check_and_reason_to_the_ping_url() {
    let fake = FakeQueue::start().expect("fake queue");
    let env = env_for(&fake, &[]);
    runpod::report_unhealthy(&env, "gpu", "CUDA init failed: no device").await;
    let ping = &fake.events_on(Route::Ping)[0];
    assert_eq!(
        ping.uri,
        format!("/v2/fake-endpoint/ping/{FAKE_WORKER_ID}?status=unhealthy&check=gpu&reason=CUDA%20init%20failed%3A%20no%20device&runpod_version=1.12.0")
    );
}
