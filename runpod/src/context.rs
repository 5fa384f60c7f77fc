//! [`JobContext`]: what a handler gets besides its job.
//!
//! It offers the job id, progress updates, the job's bounded log ring, a cancellation token and
//! the deadline. The runtime keeps its own handle on the shared state and never holds a
//! `JobContext`; so when every clone of a job's context is gone, the handler and everything it
//! handed the context to has finished. That is how the runtime tells whether a cancelled job
//! really stopped (see [`crate::WorkerConfig::deadline_grace`]).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::Value;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::job::JobId;
use crate::logging;
use crate::ring::LogRing;

/// Where progress updates and stream chunks of a job go: job-done/job-stream in production,
/// the job store of the local API, the log in a local test run.
pub(crate) trait Reporter: Send + Sync + 'static {
    /// Delivers one progress update; called in order, one at a time per job.
    fn progress<'a>(&'a self, id: &'a JobId, value: Value) -> BoxFuture<'a, ()>;
    /// Delivers one stream chunk; awaited before the stream is polled again.
    fn chunk<'a>(&'a self, id: &'a JobId, value: Value) -> BoxFuture<'a, ()>;
}

/// The latest undelivered progress update of a job (coalescing keeps only one).
pub(crate) struct ProgressSlot {
    state: Mutex<ProgressState>,
    notify: Notify,
    closed: CancellationToken,
}

struct ProgressState {
    pending: Option<Value>,
    closed: bool,
}

impl ProgressSlot {
    fn new() -> Self {
        ProgressSlot {
            state: Mutex::new(ProgressState {
                pending: None,
                closed: false,
            }),
            notify: Notify::new(),
            closed: CancellationToken::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ProgressState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn offer(&self, value: Value) {
        let mut state = self.lock();
        if state.closed {
            return;
        }
        state.pending = Some(value);
        drop(state);
        self.notify.notify_one();
    }

    fn take(&self) -> Option<Value> {
        let mut state = self.lock();
        if state.closed {
            return None;
        }
        state.pending.take()
    }

    /// Refuses further updates and drops the pending one; the pump exits after any post it
    /// has in flight.
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.pending = None;
        drop(state);
        self.closed.cancel();
    }

    /// Delivers updates in order, at most one per `interval`, until closed.
    pub(crate) async fn pump(&self, reporter: &dyn Reporter, id: &JobId, interval: Duration) {
        loop {
            tokio::select! {
                biased;
                _ = self.closed.cancelled() => return,
                _ = self.notify.notified() => {}
            }
            let Some(value) = self.take() else {
                continue;
            };
            reporter.progress(id, value).await;
            tokio::select! {
                biased;
                _ = self.closed.cancelled() => return,
                _ = tokio::time::sleep(interval) => {}
            }
        }
    }
}

/// State shared by a job's contexts and the runtime.
pub(crate) struct JobShared {
    pub(crate) id: JobId,
    pub(crate) token: CancellationToken,
    pub(crate) deadline: Instant,
    pub(crate) ring: Arc<Mutex<LogRing>>,
    pub(crate) progress: ProgressSlot,
    pub(crate) reporter: Arc<dyn Reporter>,
    pub(crate) aggregate: bool,
    pub(crate) span: tracing::Span,
    /// Cancelled once every clone of the job's context has been dropped: the handler and all
    /// the blocking work it started ([`JobContext::spawn_blocking`]) have really ended.
    pub(crate) ended: CancellationToken,
}

impl JobShared {
    pub(crate) fn logs(&self) -> Vec<String> {
        self.ring
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .snapshot()
    }
}

impl Drop for JobShared {
    fn drop(&mut self) {
        logging::unregister_ring(&self.id, &self.ring);
    }
}

/// Cancels `gone` when the last context clone drops.
struct AliveGuard {
    gone: CancellationToken,
}

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.gone.cancel();
    }
}

/// What a handler gets besides its job. Cheap to clone; every clone refers to the same job.
#[derive(Clone)]
pub struct JobContext {
    shared: Arc<JobShared>,
    _alive: Arc<AliveGuard>,
}

impl std::fmt::Debug for JobContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobContext")
            .field("id", &self.shared.id)
            .field("deadline", &self.shared.deadline)
            .finish_non_exhaustive()
    }
}

/// The runtime's side of a new job context.
pub(crate) struct ContextParts {
    pub(crate) context: JobContext,
    pub(crate) shared: Arc<JobShared>,
    /// Cancelled once every clone of the context has been dropped.
    pub(crate) gone: CancellationToken,
}

impl JobContext {
    pub(crate) fn create(
        id: JobId,
        deadline: Instant,
        ring: LogRing,
        reporter: Arc<dyn Reporter>,
        aggregate: bool,
        parent: &CancellationToken,
    ) -> ContextParts {
        let ring = Arc::new(Mutex::new(ring));
        logging::register_ring(&id, &ring);
        let span = tracing::error_span!("runpod_job", job_id = %id);
        let gone = CancellationToken::new();
        let shared = Arc::new(JobShared {
            id,
            token: parent.child_token(),
            deadline,
            ring,
            progress: ProgressSlot::new(),
            reporter,
            aggregate,
            span,
            ended: gone.clone(),
        });
        let context = JobContext {
            shared: Arc::clone(&shared),
            _alive: Arc::new(AliveGuard { gone: gone.clone() }),
        };
        ContextParts {
            context,
            shared,
            gone,
        }
    }

    pub(crate) fn shared_state(&self) -> Arc<JobShared> {
        Arc::clone(&self.shared)
    }

    /// The job id.
    pub fn id(&self) -> &JobId {
        &self.shared.id
    }

    /// Sends a progress update (`{"status":"IN_PROGRESS","output":value}` to job-done).
    ///
    /// Never blocks. Updates of a job are delivered in order; updates closer together than the
    /// configured interval are coalesced (the latest wins), and none is delivered after the
    /// job's final result.
    pub fn progress(&self, value: Value) {
        self.shared.progress.offer(value);
    }

    /// Adds a line to the job's bounded log ring (and logs it at info level). Error results
    /// carry the ring.
    pub fn log(&self, line: impl Into<String>) {
        let line = line.into();
        {
            let _entered = self.shared.span.enter();
            tracing::info!(target: logging::JOB_LOG_TARGET, "{line}");
        }
        self.shared
            .ring
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(line);
    }

    /// A snapshot of the job's log ring, oldest line first.
    pub fn logs(&self) -> Vec<String> {
        self.shared.logs()
    }

    /// Cancelled at the deadline, on job-stop, and when a shutdown gives up draining.
    pub fn cancellation(&self) -> CancellationToken {
        self.shared.token.clone()
    }

    /// Whether the job has been cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.shared.token.is_cancelled()
    }

    /// The job's hard deadline.
    pub fn deadline(&self) -> Instant {
        self.shared.deadline
    }

    /// The job's tracing span; events inside it land in the job's log ring.
    pub fn span(&self) -> &tracing::Span {
        &self.shared.span
    }

    /// Runs blocking work on tokio's blocking pool inside the job's span.
    ///
    /// The closure holds a clone of this context, so the runtime knows the job is still
    /// running while it does: work that outlives the deadline by more than the grace period
    /// marks the worker for refresh.
    pub fn spawn_blocking<F, R>(&self, work: F) -> tokio::task::JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let context = self.clone();
        tokio::task::spawn_blocking(move || {
            let _entered = context.shared.span.enter();
            let result = work();
            drop(_entered);
            drop(context);
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroUsize;

    #[derive(Default)]
    struct Recorder {
        seen: Mutex<Vec<Value>>,
        delivered: Notify,
    }

    impl Reporter for Recorder {
        fn progress<'a>(&'a self, _id: &'a JobId, value: Value) -> BoxFuture<'a, ()> {
            Box::pin(async move {
                self.seen.lock().expect("lock").push(value);
                self.delivered.notify_one();
            })
        }
        fn chunk<'a>(&'a self, _id: &'a JobId, _value: Value) -> BoxFuture<'a, ()> {
            Box::pin(async {})
        }
    }

    fn parts(reporter: Arc<Recorder>) -> ContextParts {
        JobContext::create(
            JobId::from("job"),
            Instant::now() + Duration::from_secs(60),
            LogRing::new(NonZeroUsize::MIN, NonZeroUsize::MIN.saturating_add(99)),
            reporter,
            false,
            &CancellationToken::new(),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn progress_is_coalesced_ordered_and_never_delivered_after_close() {
        let recorder = Arc::new(Recorder::default());
        let ContextParts {
            context, shared, ..
        } = parts(Arc::clone(&recorder));
        let pump = {
            let shared = Arc::clone(&shared);
            let reporter: Arc<dyn Reporter> = recorder.clone();
            tokio::spawn(async move {
                shared
                    .progress
                    .pump(reporter.as_ref(), &shared.id, Duration::from_secs(1))
                    .await
            })
        };
        context.progress(Value::from(1));
        recorder.delivered.notified().await;
        // Within the coalescing interval: only the latest of these is delivered.
        for value in 2..=5 {
            context.progress(Value::from(value));
        }
        recorder.delivered.notified().await;
        context.progress(Value::from(6));
        shared.progress.close();
        context.progress(Value::from(7));
        pump.await.expect("pump finished");
        assert_eq!(
            *recorder.seen.lock().expect("lock"),
            vec![Value::from(1), Value::from(5)]
        );
    }

    #[tokio::test]
    async fn gone_fires_when_the_last_context_clone_drops() {
        let ContextParts { context, gone, .. } = parts(Arc::new(Recorder::default()));
        let clone = context.clone();
        drop(context);
        assert!(!gone.is_cancelled());
        let handle = clone.spawn_blocking(|| 7);
        drop(clone);
        assert_eq!(handle.await.expect("joined"), 7);
        gone.cancelled().await;
    }

    #[test]
    fn log_lines_land_in_the_ring() {
        let ContextParts { context, .. } = parts(Arc::new(Recorder::default()));
        context.log("first");
        context.log("second");
        assert_eq!(context.logs(), ["second"]);
    }
}
