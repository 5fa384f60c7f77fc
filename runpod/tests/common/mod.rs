//! Shared helpers for the integration tests: a scriptable test handler and a worker started
//! against a [`FakeQueue`].

#![allow(dead_code)]

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use runpod::fake::FakeQueue;
use runpod::{Error, Handler, HandlerError, Job, JobContext, RunpodEnv, WorkerConfig};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Safety bound on every wait: a test that needs longer has failed.
pub const WAIT: Duration = Duration::from_secs(15);

/// Test tunables: short intervals so the tests run fast, long enough to never matter.
pub fn config() -> WorkerConfig {
    WorkerConfig {
        job_deadline: Duration::from_secs(20),
        deadline_grace: Duration::from_millis(100),
        progress_interval: Duration::from_millis(5),
        drain_timeout: Duration::from_secs(10),
        take_timeout: Duration::from_secs(10),
        post_timeout: Duration::from_secs(5),
        ..WorkerConfig::default()
    }
}

pub fn fixed(concurrency: usize) -> runpod::Concurrency {
    runpod::Concurrency::Fixed(NonZeroUsize::new(concurrency).expect("non-zero"))
}

/// What the test handler reports to the test.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    Started(String),
    Cancelled(String),
}

/// A handler driven by its input:
///
/// - `{"progress": n}`: sends n progress updates `0..n` first;
/// - `{"fail": "msg"}`: fails with `InvalidInput`;
/// - `{"panic": true}`: panics;
/// - `{"wait": "cancel"}`: waits until cancelled, tells the test, then returns;
/// - `{"wait": "release"}`: waits for the test's release signal;
/// - `{"wait": "stuck"}`: blocks a blocking-pool thread (holding its context) until released;
/// - `{"big": n}`: returns a string of n bytes;
/// - `{"log": "line"}`: logs the line into the job's ring;
///
/// and otherwise returns `{"echo": input, "extra": <extra keys>}`.
pub struct TestHandler {
    tokens: Tokens,
    seen: mpsc::UnboundedSender<Seen>,
    release: Arc<tokio::sync::Notify>,
    stuck_release: Arc<std::sync::Mutex<Option<std::sync::mpsc::Receiver<()>>>>,
}

pub type Tokens = Arc<std::sync::Mutex<std::collections::HashMap<String, CancellationToken>>>;

pub struct TestHandlerControl {
    /// Each job's cancellation token, by job id.
    pub tokens: Tokens,
    pub seen: mpsc::UnboundedReceiver<Seen>,
    pub release: Arc<tokio::sync::Notify>,
    /// Dropping this releases a `stuck` job.
    pub stuck_release: std::sync::mpsc::Sender<()>,
}

impl TestHandlerControl {
    /// Whether the job's token was cancelled.
    pub fn was_cancelled(&self, id: &str) -> bool {
        self.tokens
            .lock()
            .expect("lock")
            .get(id)
            .map(CancellationToken::is_cancelled)
            .unwrap_or(false)
    }

    pub async fn next_seen(&mut self) -> Seen {
        tokio::time::timeout(WAIT, self.seen.recv())
            .await
            .expect("handler event in time")
            .expect("handler alive")
    }
}

pub fn test_handler() -> (TestHandler, TestHandlerControl) {
    let (seen_tx, seen_rx) = mpsc::unbounded_channel();
    let release = Arc::new(tokio::sync::Notify::new());
    let (stuck_tx, stuck_rx) = std::sync::mpsc::channel();
    let tokens = Tokens::default();
    (
        TestHandler {
            tokens: Arc::clone(&tokens),
            seen: seen_tx,
            release: Arc::clone(&release),
            stuck_release: Arc::new(std::sync::Mutex::new(Some(stuck_rx))),
        },
        TestHandlerControl {
            tokens,
            seen: seen_rx,
            release,
            stuck_release: stuck_tx,
        },
    )
}

impl Handler for TestHandler {
    async fn handle(&self, job: Job, ctx: JobContext) -> Result<Value, HandlerError> {
        let id = job.id.to_string();
        self.tokens
            .lock()
            .expect("lock")
            .insert(id.clone(), ctx.cancellation());
        let input = &job.input;
        // Registered before the test hears of the job, so a release sent as soon as it has
        // cannot be missed.
        let released = self.release.notified();
        tokio::pin!(released);
        released.as_mut().enable();
        let _ = self.seen.send(Seen::Started(id.clone()));
        if let Some(line) = input.get("log").and_then(Value::as_str) {
            ctx.log(line);
        }
        if let Some(count) = input.get("progress").and_then(Value::as_u64) {
            for step in 0..count {
                ctx.progress(Value::from(step));
                tokio::task::yield_now().await;
            }
        }
        if let Some(message) = input.get("fail").and_then(Value::as_str) {
            return Err(HandlerError::invalid_input(message));
        }
        if input.get("panic").is_some() {
            panic!("test handler panics on purpose");
        }
        if let Some(size) = input.get("big").and_then(Value::as_u64) {
            return Ok(Value::String("x".repeat(size as usize)));
        }
        match input.get("wait").and_then(Value::as_str) {
            Some("cancel") => {
                ctx.cancellation().cancelled().await;
                let _ = self.seen.send(Seen::Cancelled(id));
                return Ok(Value::from("cancelled"));
            }
            Some("release") => released.await,
            Some("stuck") => {
                let receiver = self
                    .stuck_release
                    .lock()
                    .expect("lock")
                    .take()
                    .expect("one stuck job per test");
                let _ = ctx.spawn_blocking(move || receiver.recv()).await;
            }
            _ => {}
        }
        Ok(serde_json::json!({"echo": job.input, "extra": job.extra}))
    }
}

/// A worker running against a fake queue.
pub struct RunningWorker {
    pub handle: JoinHandle<Result<(), Error>>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl RunningWorker {
    /// Sends the shutdown signal (as SIGTERM would).
    pub fn shutdown(&mut self) {
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(());
        }
    }

    /// Shuts down and waits for `run_production` to return.
    pub async fn stop(mut self) -> Result<(), Error> {
        self.shutdown();
        tokio::time::timeout(WAIT, self.handle)
            .await
            .expect("worker returns in time")
            .expect("worker task did not panic")
    }
}

pub fn env_for(fake: &FakeQueue, overrides: &[(&str, &str)]) -> RunpodEnv {
    let mut vars = fake.env();
    vars.retain(|(key, _)| overrides.iter().all(|(name, _)| name != key));
    vars.extend(
        overrides
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string())),
    );
    RunpodEnv::from_vars(vars).expect("fake env is valid")
}

pub fn start_worker<H: Handler>(
    fake: &FakeQueue,
    handler: H,
    config: WorkerConfig,
) -> RunningWorker {
    start_worker_with_env(handler, config, env_for(fake, &[]))
}

pub fn start_worker_with_env<H: Handler>(
    handler: H,
    config: WorkerConfig,
    env: RunpodEnv,
) -> RunningWorker {
    let (sender, receiver) = oneshot::channel::<()>();
    let handle = tokio::spawn(runpod::run_production(
        Arc::new(handler),
        config,
        env,
        async move {
            let _ = receiver.await;
        },
    ));
    RunningWorker {
        handle,
        shutdown: Some(sender),
    }
}

/// The JSON error report inside a result body's `error` string.
pub fn error_report(body: &Value) -> Value {
    let text = body["error"].as_str().expect("error is a string");
    serde_json::from_str(text).expect("error string holds JSON")
}
