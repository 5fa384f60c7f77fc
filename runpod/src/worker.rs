//! Production mode: the take loop, the job-stop poll, job execution, the result outbox, the
//! heartbeat, and the drain on shutdown (spec §3–§8).
//!
//! Shape of a run:
//!
//! 1. the heartbeat thread and the outbox's delivery task start (the heartbeat when key, pod
//!    id and ping URL are set);
//! 2. the take loop asks for `concurrency − held` jobs (job-take-batch when more than one),
//!    re-reading the concurrency before every take so that changes apply at once. A job is
//!    *held* from its take until its result is delivered, dropped or abandoned, and the
//!    heartbeat lists every held job. No take is made while the outbox is stalled (a result
//!    failed and is still undelivered) or while taken jobs still wait to run;
//! 3. at most `concurrency` jobs run at once whatever a take answer holds: extra jobs wait in
//!    a local FIFO (held, so listed in pings; bounded by `registry_bound` held jobs, beyond
//!    which a job gets a `WorkerOverloaded` error result at once) and start as slots free up.
//!    A job's deadline counts from when it starts running;
//! 4. each job runs on its own task under its deadline; its final result goes to the outbox
//!    (`outbox.rs`), which posts results one at a time in order of completion and retries each
//!    for its job's deadline plus `result_retry_grace`;
//! 5. the job-stop poll cancels listed jobs, whether running, waiting to run or waiting for
//!    delivery; nothing is posted for them;
//! 6. on shutdown the take loop stops at once (the in-flight long poll is dropped); waiting
//!    jobs still run, running jobs finish and undelivered results keep being retried, all for
//!    up to `drain_timeout`; then every job and result left is abandoned, each logged with
//!    its id, and it returns.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::WorkerConfig;
use crate::env::RunpodEnv;
use crate::error::Error;
use crate::exec::{self, Outcome};
use crate::handler::Handler;
use crate::heartbeat::Heartbeat;
use crate::http::{Backoff, Take, Transport, TOO_MANY_REQUESTS_PAUSE};
use crate::job::{Job, JobId, TakeAnswer};
use crate::outbox::{deliver_loop, Delivering, Delivery, Outbox, PendingResult};
use crate::registry::JobRegistry;
use crate::report::{encode_body, final_body, replacement_body, HandlerError, HandlerOutput};

/// How often a full worker re-reads a dynamic concurrency while waiting for a free slot.
const CONCURRENCY_RECHECK: Duration = Duration::from_secs(1);

/// Minimum spacing of job-stop polls that come back empty (the SDK's 1 s).
const STOP_POLL_MIN_SPACING: Duration = Duration::from_secs(1);

/// Pause after a failed job-stop poll (the SDK's 1 s).
const STOP_POLL_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// Log lines kept with an undelivered result for a `ResultRejected` replacement.
const REPLACEMENT_LOG_LINES: usize = 20;

/// A job the worker holds: taken, and its result not yet delivered.
#[derive(Clone)]
pub(crate) struct HeldJob {
    /// Cancelled by job-stop or an abandoned drain.
    stop: CancellationToken,
}

struct Worker<H> {
    handler: Arc<H>,
    config: WorkerConfig,
    transport: Arc<Transport>,
    held: Arc<JobRegistry<HeldJob>>,
    outbox: Arc<Outbox>,
    /// Woken when a job ends or a result leaves the outbox.
    slot_freed: Arc<Notify>,
    /// Set when a cancelled handler outlived its grace period: every later result asks RunPod
    /// to replace this worker.
    refresh_marked: Arc<AtomicBool>,
    /// Cancelled on shutdown, and after the first job with `refresh_worker`.
    stop_taking: CancellationToken,
}

/// Jobs taken and not started yet, in take order.
struct Waiting {
    jobs: VecDeque<(Job, HeldJob)>,
}

/// Runs the production worker until `shutdown` completes (then drains) or, with
/// `refresh_worker`, until the first job has been posted.
///
/// Fails at once, before any request, when `config` is invalid ([`WorkerConfig::validate`]) or
/// the job-take or job-done template is missing.
pub async fn run_production<H: Handler>(
    handler: Arc<H>,
    config: WorkerConfig,
    env: RunpodEnv,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    config.validate()?;
    let transport = Arc::new(Transport::new(&env, &config)?);
    let held = Arc::new(JobRegistry::new(config.registry_bound));
    let heartbeat = match (env.heartbeat_enabled(), transport.urls.ping_base()) {
        (true, Some(base)) => Some(Heartbeat::start(
            base.to_owned(),
            env.api_key().to_owned(),
            env.ping_interval,
            Arc::clone(&held),
        )?),
        _ => {
            tracing::warn!("heartbeat disabled: RUNPOD_AI_API_KEY, RUNPOD_POD_ID and RUNPOD_WEBHOOK_PING must all be set");
            None
        }
    };
    let stop_taking = CancellationToken::new();
    let slot_freed = Arc::new(Notify::new());
    let outbox = Arc::new(Outbox::new());
    let delivery_cancel = CancellationToken::new();
    let delivery = tokio::spawn(deliver_loop(
        Delivering {
            outbox: Arc::clone(&outbox),
            transport: Arc::clone(&transport),
            backoff: (config.result_backoff, config.result_backoff_cap),
            on_finished: {
                let held = Arc::clone(&held);
                let slot_freed = Arc::clone(&slot_freed);
                let stop_taking = stop_taking.clone();
                let refresh_worker = config.refresh_worker;
                Box::new(move |id: &JobId, delivery: Delivery| {
                    if delivery == Delivery::Delivered {
                        tracing::debug!(job_id = %id, "finished");
                    }
                    held.remove(id);
                    slot_freed.notify_one();
                    if refresh_worker {
                        stop_taking.cancel();
                    }
                })
            },
        },
        delivery_cancel.clone(),
    ));
    let worker = Arc::new(Worker {
        handler,
        config,
        transport,
        held,
        outbox,
        slot_freed,
        refresh_marked: Arc::new(AtomicBool::new(false)),
        stop_taking,
    });
    let shutdown = shutdown;
    tokio::pin!(shutdown);
    let stop_poll = tokio::spawn(stop_poll_loop(Arc::clone(&worker)));
    tracing::info!(worker_id = %env.worker_id, "worker started");
    let mut jobs = JoinSet::new();
    let mut waiting = Waiting {
        jobs: VecDeque::new(),
    };
    take_loop(&worker, &mut jobs, &mut waiting, shutdown.as_mut()).await;
    let drained = drain(&worker, &mut jobs, &mut waiting).await;
    stop_poll.abort();
    delivery_cancel.cancel();
    let _ = delivery.await;
    if !drained {
        abandon(&worker, &mut jobs, &mut waiting).await;
    }
    if let Some(heartbeat) = heartbeat {
        heartbeat.stop().await;
    }
    tracing::info!("worker stopped");
    Ok(())
}

/// Starts waiting jobs while fewer than `concurrency` run; skips (and releases) stopped ones.
fn start_waiting<H: Handler>(
    worker: &Arc<Worker<H>>,
    jobs: &mut JoinSet<()>,
    waiting: &mut Waiting,
    concurrency: usize,
) {
    while jobs.len() < concurrency {
        let Some((job, held)) = waiting.jobs.pop_front() else {
            return;
        };
        if held.stop.is_cancelled() {
            tracing::info!(job_id = %job.id, "job stopped before it ran; no result is posted");
            worker.held.remove(&job.id);
            worker.slot_freed.notify_one();
            continue;
        }
        start_job(worker, jobs, job, held);
    }
}

async fn take_loop<H: Handler>(
    worker: &Arc<Worker<H>>,
    jobs: &mut JoinSet<()>,
    waiting: &mut Waiting,
    mut shutdown: Pin<&mut impl Future<Output = ()>>,
) {
    let mut concurrency = worker.config.concurrency.next(1).get();
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(10));
    // The shutdown future is polled right before every take and raced against every wait, so
    // a signal that came before a slot freed up is always seen before the next take.
    macro_rules! or_shutdown {
        ($($branch:tt)*) => {
            tokio::select! {
                biased;
                _ = &mut shutdown => {
                    tracing::info!("shutdown requested: no more jobs will be taken");
                    worker.stop_taking.cancel();
                    return;
                }
                _ = worker.stop_taking.cancelled() => return,
                $($branch)*
            }
        };
    }
    loop {
        // Reap finished job tasks so that `jobs.len()` counts running jobs.
        while jobs.try_join_next().is_some() {}
        if worker.stop_taking.is_cancelled() {
            return;
        }
        if shutdown.as_mut().now_or_never().is_some() {
            tracing::info!("shutdown requested: no more jobs will be taken");
            worker.stop_taking.cancel();
            return;
        }
        concurrency = worker.config.concurrency.next(concurrency).get();
        start_waiting(worker, jobs, waiting, concurrency);
        // Jobs whose result is owed, and jobs answered but still stopping, both hold a slot.
        let held = worker.held.in_flight().max(jobs.len());
        if held >= concurrency || !waiting.jobs.is_empty() || worker.outbox.is_stalled() {
            or_shutdown! {
                _ = worker.slot_freed.notified() => {}
                Some(_) = jobs.join_next(), if !jobs.is_empty() => {}
                _ = tokio::time::sleep(CONCURRENCY_RECHECK) => {}
            }
            continue;
        }
        let wanted = concurrency - held;
        let answer = or_shutdown! {
            answer = worker.transport.take(wanted, held > 0) => answer,
        };
        let pause = match answer {
            Ok(Take::Answer(TakeAnswer::Jobs {
                jobs: taken,
                skipped,
            })) => {
                backoff.reset();
                for reason in skipped {
                    tracing::error!("skipped a malformed job in a batch: {reason}");
                }
                if taken.len() > wanted {
                    tracing::warn!(
                        asked = wanted,
                        got = taken.len(),
                        "job-take delivered more jobs than asked for; the extra jobs wait for a free slot"
                    );
                }
                for job in taken {
                    hold_job(worker, waiting, job);
                }
                None
            }
            Ok(Take::Answer(TakeAnswer::NoJob)) => {
                backoff.reset();
                None
            }
            Ok(Take::Answer(TakeAnswer::Malformed(reason))) => {
                tracing::error!("skipped a malformed job: {reason}");
                None
            }
            Ok(Take::TooManyRequests) => {
                tracing::info!("job-take answered 429: pausing");
                Some(TOO_MANY_REQUESTS_PAUSE)
            }
            Err(error) => {
                let wait = backoff.next_wait();
                tracing::warn!(?wait, "failed to get a job: {error}");
                Some(wait)
            }
        };
        if let Some(pause) = pause {
            or_shutdown! {
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }
}

/// Registers a taken job as held and queues it to run. A job the registry cannot hold (a take
/// answer far over what was asked) gets a `WorkerOverloaded` error result at once.
fn hold_job<H: Handler>(worker: &Arc<Worker<H>>, waiting: &mut Waiting, job: Job) {
    let held = HeldJob {
        stop: CancellationToken::new(),
    };
    if let Err(error) = worker.held.insert(job.id.clone(), held.clone()) {
        tracing::error!(job_id = %job.id, "refusing a job: {error}");
        let refusal = HandlerError::new(
            crate::report::ErrorType::WorkerOverloaded,
            format!("this worker cannot hold another job ({error}); the queue delivered more jobs than it asked for"),
        );
        let stop_pod = worker.config.refresh_worker || worker.refresh_marked.load(Ordering::SeqCst);
        let body = replacement_body(&refusal, &worker.transport.identity, Vec::new(), stop_pod);
        worker.outbox.push(PendingResult {
            id: job.id,
            is_stream: worker.handler.is_streaming(),
            body: Bytes::from(body),
            stop_pod,
            logs_tail: Vec::new(),
            retry_for: worker.config.job_deadline + worker.config.result_retry_grace,
            stop: held.stop,
        });
        return;
    }
    waiting.jobs.push_back((job, held));
}

fn start_job<H: Handler>(worker: &Arc<Worker<H>>, jobs: &mut JoinSet<()>, job: Job, held: HeldJob) {
    let worker = Arc::clone(worker);
    jobs.spawn(async move {
        let id = job.id.clone();
        if !run_job(&worker, job, held.stop).await {
            // Stopped: no result will come, so the job is released here.
            worker.held.remove(&id);
            if worker.config.refresh_worker {
                worker.stop_taking.cancel();
            }
        }
        worker.slot_freed.notify_one();
    });
}

/// Runs one job and queues its result; false when the job was stopped (nothing to post).
async fn run_job<H: Handler>(worker: &Arc<Worker<H>>, job: Job, stop: CancellationToken) -> bool {
    let config = &worker.config;
    let refresh_marked = Arc::clone(&worker.refresh_marked);
    let started = Instant::now();
    let (outcome, shared) = exec::run_job(
        &worker.handler,
        job,
        config,
        worker.transport.clone(),
        config.return_aggregate_stream,
        stop.clone(),
        move || refresh_marked.store(true, Ordering::SeqCst),
    )
    .await;
    let result = match outcome {
        Outcome::Stopped => {
            tracing::info!(job_id = %shared.id, "job stopped; no result is posted");
            // The slot is free only once the job's work has really stopped (or outlived grace).
            ended_or_outlived(&shared, config.deadline_grace).await;
            return false;
        }
        Outcome::Finished(result) => result,
    };
    let is_stream = worker.handler.is_streaming() || matches!(result, Ok(HandlerOutput::Stream(_)));
    let stop_pod = config.refresh_worker || worker.refresh_marked.load(Ordering::SeqCst);
    let body = final_body(
        result,
        &worker.transport.identity,
        || shared.logs(),
        stop_pod,
        config.return_aggregate_stream,
    );
    let bytes = encode_body(
        &body,
        worker.transport.max_result_bytes,
        &worker.transport.identity,
        || shared.logs(),
    );
    drop(body);
    let logs = shared.logs();
    let logs_tail = logs[logs.len().saturating_sub(REPLACEMENT_LOG_LINES)..].to_vec();
    let deadline_length = shared.deadline.saturating_duration_since(started);
    worker.outbox.push(PendingResult {
        id: shared.id.clone(),
        is_stream,
        body: Bytes::from(bytes),
        stop_pod,
        logs_tail,
        retry_for: deadline_length + config.result_retry_grace,
        stop,
    });
    // The result is on its way; the slot stays taken until the job's work has really stopped
    // (a job past its deadline may still be finishing blocking work that ignored its
    // cancellation for a moment), so the next job does not run on top of it.
    ended_or_outlived(&shared, config.deadline_grace).await;
    true
}

/// Waits until every clone of the job's context is gone (its handler and blocking work have
/// ended), for at most `grace`: work that outlives that is stuck, the worker has been marked
/// for refresh (`exec::abandon`), and the slot goes to the next job, whose result carries
/// `stopPod`.
pub(crate) async fn ended_or_outlived(shared: &crate::context::JobShared, grace: Duration) {
    let _ = tokio::time::timeout(grace, shared.ended.cancelled()).await;
}

async fn stop_poll_loop<H: Handler>(worker: Arc<Worker<H>>) {
    loop {
        let started = Instant::now();
        let answer = tokio::select! {
            biased;
            _ = worker.stop_taking.cancelled() => return,
            answer = worker.transport.stop_poll() => answer,
        };
        let pause = match answer {
            Ok(None) => {
                tracing::warn!("job-stop disabled: the job-take template has no /job-take/");
                return;
            }
            Ok(Some(ids)) => {
                for id in &ids {
                    match worker.held.get(id) {
                        Some(held) => held.stop.cancel(),
                        None => tracing::debug!(job_id = %id, "job-stop for a job not held"),
                    }
                }
                if ids.is_empty() {
                    STOP_POLL_MIN_SPACING.saturating_sub(started.elapsed())
                } else {
                    Duration::ZERO
                }
            }
            Err(Error::Status { status: 429, .. }) => TOO_MANY_REQUESTS_PAUSE,
            Err(error) => {
                tracing::debug!("job-stop poll failed: {error}");
                STOP_POLL_ERROR_PAUSE
            }
        };
        if !pause.is_zero() {
            tokio::select! {
                biased;
                _ = worker.stop_taking.cancelled() => return,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }
}

/// Runs what is left (waiting jobs included) and delivers what is undelivered, for up to
/// `drain_timeout`; returns whether everything finished.
async fn drain<H: Handler>(
    worker: &Arc<Worker<H>>,
    jobs: &mut JoinSet<()>,
    waiting: &mut Waiting,
) -> bool {
    let busy = |jobs: &JoinSet<()>, waiting: &Waiting| {
        !jobs.is_empty() || !waiting.jobs.is_empty() || !worker.outbox.is_empty()
    };
    if !busy(jobs, waiting) {
        return true;
    }
    tracing::info!(
        running = jobs.len(),
        waiting = waiting.jobs.len(),
        timeout = ?worker.config.drain_timeout,
        "draining: finishing jobs and delivering their results"
    );
    let mut concurrency = worker.config.concurrency.next(1).get();
    tokio::time::timeout(worker.config.drain_timeout, async {
        loop {
            while jobs.try_join_next().is_some() {}
            concurrency = worker.config.concurrency.next(concurrency).get();
            start_waiting(worker, jobs, waiting, concurrency);
            if !busy(jobs, waiting) {
                return;
            }
            tokio::select! {
                _ = worker.slot_freed.notified() => {}
                Some(_) = jobs.join_next(), if !jobs.is_empty() => {}
                _ = tokio::time::sleep(CONCURRENCY_RECHECK) => {}
            }
        }
    })
    .await
    .is_ok()
}

/// After a drain timeout (the delivery task already stopped): abandons every job and result
/// left, logging each by id. Nothing more is posted; RunPod sees them leave the pings.
async fn abandon<H: Handler>(
    worker: &Arc<Worker<H>>,
    jobs: &mut JoinSet<()>,
    waiting: &mut Waiting,
) {
    let mut accounted: HashSet<JobId> = worker.outbox.ids().into_iter().collect();
    for (job, _) in waiting.jobs.drain(..) {
        tracing::warn!(job_id = %job.id, "drain timeout: abandoning a job that never ran");
        accounted.insert(job.id);
    }
    for id in worker.held.in_flight_ids() {
        if !accounted.contains(&id) {
            tracing::warn!(job_id = %id, "drain timeout: abandoning a running job");
        }
    }
    for held in worker.held.in_flight_values() {
        held.stop.cancel();
    }
    // Stopped jobs return at once (their handlers are aborted); one finishing in this moment
    // still queues its result, which is then abandoned below with the others.
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while jobs.join_next().await.is_some() {}
    })
    .await;
    jobs.abort_all();
    for id in worker.outbox.abandon_all() {
        tracing::error!(job_id = %id, "drain timeout: result abandoned undelivered");
    }
}
