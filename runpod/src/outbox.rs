//! The result outbox: no final result is dropped while the worker lives (spec §4.1, issue 12).
//!
//! Every final result, once its job ends, waits here in order of completion. One delivery
//! task posts them to job-done one at a time, head first, so they arrive in that order:
//!
//! - a retryable failure (5xx, 408, 429, connection error, timeout) is retried with capped,
//!   jittered exponential back-off (`result_backoff` → `result_backoff_cap`) for as long as the
//!   job's own deadline plus `result_retry_grace`, counted from the first attempt; only then is
//!   the result given up, and that is logged with the job id;
//! - another 4xx replaces the result with a short `ResultRejected` error once (rp#309);
//! - a job-stop for the job drops its result (the platform no longer wants it);
//! - from a result's first failed attempt until the outbox is empty again the outbox is
//!   *stalled*: the take loop takes no new job, so an outage cannot pile up more results.
//!
//! A job stays held (listed by the heartbeat, counted against the concurrency) until its
//! result is delivered, dropped or abandoned.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::http::{Backoff, Transport};
use crate::job::JobId;
use crate::report::{replacement_body, HandlerError};

/// A final result waiting for job-done.
pub(crate) struct PendingResult {
    pub(crate) id: JobId,
    /// Whether the final post carries `isStream=true`.
    pub(crate) is_stream: bool,
    /// The encoded body (already within `max_result_bytes`).
    pub(crate) body: Bytes,
    pub(crate) stop_pod: bool,
    /// The last log lines, for a `ResultRejected` replacement.
    pub(crate) logs_tail: Vec<String>,
    /// How long to keep retrying: the job's deadline plus `result_retry_grace`.
    pub(crate) retry_for: Duration,
    /// The job's stop token (job-stop).
    pub(crate) stop: CancellationToken,
}

/// How one result's delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// job-done acknowledged it.
    Delivered,
    /// Its retry window ended, or the replacement was refused too: logged as lost.
    Lost,
    /// The job was stopped: the result is dropped.
    Stopped,
}

struct Inner {
    queue: VecDeque<PendingResult>,
    /// The job whose result the delivery task holds now.
    current: Option<JobId>,
}

/// The ordered queue of undelivered results.
pub(crate) struct Outbox {
    inner: Mutex<Inner>,
    added: Notify,
    stalled: AtomicBool,
}

impl Outbox {
    pub(crate) fn new() -> Self {
        Outbox {
            inner: Mutex::new(Inner {
                queue: VecDeque::new(),
                current: None,
            }),
            added: Notify::new(),
            stalled: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues a result behind every earlier one.
    pub(crate) fn push(&self, result: PendingResult) {
        self.lock().queue.push_back(result);
        self.added.notify_one();
    }

    /// Whether a result has failed at least once and the outbox has not emptied since.
    pub(crate) fn is_stalled(&self) -> bool {
        self.stalled.load(Ordering::SeqCst)
    }

    /// Whether no result is waiting or being delivered.
    pub(crate) fn is_empty(&self) -> bool {
        let inner = self.lock();
        inner.queue.is_empty() && inner.current.is_none()
    }

    /// Takes the next result, waiting for one.
    async fn next(&self) -> PendingResult {
        loop {
            let added = self.added.notified();
            tokio::pin!(added);
            added.as_mut().enable();
            {
                let mut inner = self.lock();
                if let Some(result) = inner.queue.pop_front() {
                    inner.current = Some(result.id.clone());
                    return result;
                }
            }
            added.await;
        }
    }

    /// The delivery task is done with the current result.
    fn finish_current(&self) {
        let mut inner = self.lock();
        inner.current = None;
        if inner.queue.is_empty() {
            self.stalled.store(false, Ordering::SeqCst);
        }
    }

    /// The ids of every undelivered result, the one being delivered first.
    pub(crate) fn ids(&self) -> Vec<JobId> {
        let inner = self.lock();
        inner
            .current
            .iter()
            .cloned()
            .chain(inner.queue.iter().map(|result| result.id.clone()))
            .collect()
    }

    /// Empties the outbox; returns the ids of every result still undelivered (the one being
    /// delivered first).
    pub(crate) fn abandon_all(&self) -> Vec<JobId> {
        let mut inner = self.lock();
        let mut ids: Vec<JobId> = inner.current.take().into_iter().collect();
        ids.extend(inner.queue.drain(..).map(|result| result.id));
        self.stalled.store(false, Ordering::SeqCst);
        ids
    }
}

/// Told how each result's delivery ended.
pub(crate) type OnFinished = Box<dyn Fn(&JobId, Delivery) + Send + Sync>;

/// What the delivery task needs from the worker.
pub(crate) struct Delivering {
    pub(crate) outbox: Arc<Outbox>,
    pub(crate) transport: Arc<Transport>,
    pub(crate) backoff: (Duration, Duration),
    /// Called after each result's delivery ends, whatever the way.
    pub(crate) on_finished: OnFinished,
}

/// Delivers results until cancelled (then the result in hand stays `current`, for
/// [`Outbox::abandon_all`]).
pub(crate) async fn deliver_loop(delivering: Delivering, cancel: CancellationToken) {
    loop {
        let result = tokio::select! {
            biased;
            _ = cancel.cancelled() => return,
            result = delivering.outbox.next() => result,
        };
        let id = result.id.clone();
        let outcome = tokio::select! {
            biased;
            _ = cancel.cancelled() => return,
            outcome = deliver(&delivering, result) => outcome,
        };
        delivering.outbox.finish_current();
        (delivering.on_finished)(&id, outcome);
    }
}

/// Posts one result until it is delivered, dropped or its retry window ends.
async fn deliver(delivering: &Delivering, result: PendingResult) -> Delivery {
    let transport = &delivering.transport;
    let url = transport.urls.done_url(&result.id, result.is_stream);
    let give_up_at = Instant::now() + result.retry_for;
    let mut backoff = Backoff::new(delivering.backoff.0, delivering.backoff.1);
    let mut body = result.body;
    let mut replaced = false;
    let mut attempt: u64 = 0;
    loop {
        if result.stop.is_cancelled() {
            tracing::info!(job_id = %result.id, "job stopped; its undelivered result is dropped");
            return Delivery::Stopped;
        }
        attempt += 1;
        let error = match transport
            .post_once("job-done", &url, &result.id, body.clone())
            .await
        {
            Ok(()) => {
                if attempt > 1 {
                    tracing::info!(job_id = %result.id, attempt, "result delivered after retries");
                }
                return Delivery::Delivered;
            }
            Err(error) => error,
        };
        match &error {
            Error::Status { status, .. }
                if (400..500).contains(status) && !error.is_retryable() && !replaced =>
            {
                tracing::error!(job_id = %result.id, status, "job-done refused the result; posting a short error instead");
                let refusal = HandlerError::new(
                    crate::report::ErrorType::ResultRejected,
                    format!(
                        "RunPod refused the job result ({} bytes) with HTTP {status}",
                        body.len()
                    ),
                );
                body = Bytes::from(replacement_body(
                    &refusal,
                    &transport.identity,
                    result.logs_tail.clone(),
                    result.stop_pod,
                ));
                replaced = true;
                continue;
            }
            _ if !error.is_retryable() => {
                tracing::error!(job_id = %result.id, "result lost: {error}");
                return Delivery::Lost;
            }
            _ => {}
        }
        delivering.outbox.stalled.store(true, Ordering::SeqCst);
        let now = Instant::now();
        if now >= give_up_at {
            tracing::error!(job_id = %result.id, attempts = attempt, retried_for = ?result.retry_for, "result lost: job-done kept failing: {error}");
            return Delivery::Lost;
        }
        let wait = backoff.next_wait().min(give_up_at - now);
        tracing::warn!(job_id = %result.id, attempt, ?wait, "job-done failed, retrying: {error}");
        tokio::select! {
            biased;
            _ = result.stop.cancelled() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}
