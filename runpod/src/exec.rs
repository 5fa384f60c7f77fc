//! Running one job under its hard deadline, shared by every mode.
//!
//! The handler runs on its own tokio task. Whichever comes first wins: the handler's result,
//! the deadline (token cancelled, task aborted, `DeadlineExceeded` reported at once), or a stop
//! (job-stop or an abandoned drain: token cancelled, task aborted, nothing reported). After a
//! deadline or stop, a watcher gives the handler `grace` to really finish (its task and every
//! clone of its `JobContext`); if it does not, `on_outlived` runs, which in production marks
//! the worker for refresh.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::config::WorkerConfig;
use crate::context::{ContextParts, JobContext, JobShared, Reporter};
use crate::handler::Handler;
use crate::job::Job;
use crate::report::{HandlerError, HandlerOutput};
use crate::ring::LogRing;

/// How a job ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The handler answered, failed, or ran past its deadline: a final result is owed.
    Finished(Result<HandlerOutput, HandlerError>),
    /// The job was stopped: nothing is posted.
    Stopped,
}

/// The handler's panic payload as text.
fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// Runs one job the same way in every mode: its context (token a child of `stop`, so a stop
/// reaches the handler at once), its progress pump, the handler under its deadline, then the
/// pump closed (any progress post in flight finished) before the caller posts a final result.
pub(crate) async fn run_job<H: Handler>(
    handler: &Arc<H>,
    job: Job,
    config: &WorkerConfig,
    reporter: Arc<dyn Reporter>,
    aggregate: bool,
    stop: CancellationToken,
    on_outlived: impl FnOnce() + Send + 'static,
) -> (Outcome, Arc<JobShared>) {
    let deadline_length = handler
        .job_deadline(&job)
        .map_or(config.job_deadline, |lowered| {
            lowered.min(config.job_deadline)
        });
    let parts = JobContext::create(
        job.id.clone(),
        Instant::now() + deadline_length,
        LogRing::new(config.log_max_lines, config.log_max_bytes),
        Arc::clone(&reporter),
        aggregate,
        &stop,
    );
    let shared = Arc::clone(&parts.shared);
    let pump = {
        let shared = Arc::clone(&shared);
        let interval = config.progress_interval;
        tokio::spawn(async move {
            shared
                .progress
                .pump(reporter.as_ref(), &shared.id, interval)
                .await
        })
    };
    let outcome = execute(
        Arc::clone(handler),
        job,
        parts,
        deadline_length,
        stop,
        config.deadline_grace,
        on_outlived,
    )
    .await;
    shared.progress.close();
    let _ = pump.await;
    (outcome, shared)
}

/// Runs `job` through `handler` until it answers, hits `parts`' deadline or `stop` fires.
pub(crate) async fn execute<H: Handler>(
    handler: Arc<H>,
    job: Job,
    parts: ContextParts,
    deadline_length: Duration,
    stop: CancellationToken,
    grace: Duration,
    on_outlived: impl FnOnce() + Send + 'static,
) -> Outcome {
    let ContextParts {
        context,
        shared,
        gone,
    } = parts;
    let span = shared.span.clone();
    let mut task =
        tokio::spawn(async move { handler.run_job(job, context).await }.instrument(span));
    tokio::select! {
        biased;
        // A stop wins over a result: a handler that returns because it saw the stop's
        // cancellation must not get its answer posted.
        _ = stop.cancelled() => {
            tracing::info!(job_id = %shared.id, "stopping job");
            abandon(&shared, task, gone, grace, on_outlived);
            Outcome::Stopped
        }
        joined = &mut task => match joined {
            Ok(result) => Outcome::Finished(result),
            Err(error) if error.is_panic() => {
                let text = panic_text(error.into_panic());
                tracing::error!(job_id = %shared.id, "handler panicked: {text}");
                Outcome::Finished(Err(HandlerError::internal(format!("handler panicked: {text}"))))
            }
            Err(_) => Outcome::Finished(Err(HandlerError::internal("handler task was cancelled"))),
        },
        _ = tokio::time::sleep_until(shared.deadline) => {
            tracing::error!(job_id = %shared.id, ?deadline_length, "job deadline exceeded");
            abandon(&shared, task, gone, grace, on_outlived);
            Outcome::Finished(Err(HandlerError::deadline_exceeded(deadline_length)))
        }
    }
}

/// Cancels and aborts the handler, then watches that it really ends within `grace`.
fn abandon(
    shared: &JobShared,
    task: JoinHandle<Result<HandlerOutput, HandlerError>>,
    gone: CancellationToken,
    grace: Duration,
    on_outlived: impl FnOnce() + Send + 'static,
) {
    shared.token.cancel();
    task.abort();
    let id = shared.id.clone();
    tokio::spawn(async move {
        let ended = tokio::time::timeout(grace, async {
            let _ = task.await;
            gone.cancelled().await;
        })
        .await;
        if ended.is_err() {
            tracing::error!(job_id = %id, ?grace, "cancelled handler is still running after the grace period");
            on_outlived();
        }
    });
}
