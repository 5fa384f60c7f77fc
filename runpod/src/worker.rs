//! Production mode: the take loop, the job-stop poll, job execution and posting, the
//! heartbeat, and the drain on shutdown (spec §3–§8).
//!
//! Shape of a run:
//!
//! 1. the heartbeat thread starts (when key, pod id and ping URL are set);
//! 2. the take loop asks for `concurrency − held` jobs (job-take-batch when more than one),
//!    re-reading the concurrency before every take so that changes apply at once;
//! 3. each job runs on its own task: handler under its deadline, progress pump, final post;
//!    it is held in the registry (and so listed by the heartbeat) until its result is posted;
//! 4. the job-stop poll cancels listed jobs; nothing is posted for them;
//! 5. on shutdown the take loop stops at once (the in-flight long poll is dropped), running
//!    jobs get `drain_timeout` to finish and post, the rest are abandoned, and it returns.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

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
use crate::job::{Job, TakeAnswer};
use crate::registry::JobRegistry;
use crate::report::{final_body, HandlerOutput};

/// How often a full worker re-reads a dynamic concurrency while waiting for a free slot.
const CONCURRENCY_RECHECK: Duration = Duration::from_secs(1);

/// Minimum spacing of job-stop polls that come back empty (the SDK's 1 s).
const STOP_POLL_MIN_SPACING: Duration = Duration::from_secs(1);

/// Pause after a failed job-stop poll (the SDK's 1 s).
const STOP_POLL_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// A job the worker holds: taken, not yet posted.
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
    slot_freed: Notify,
    /// Set when a cancelled handler outlived its grace period: every later result asks RunPod
    /// to replace this worker.
    refresh_marked: Arc<AtomicBool>,
    /// Cancelled on shutdown, and after the first job with `refresh_worker`.
    stop_taking: CancellationToken,
}

/// Runs the production worker until `shutdown` completes (then drains) or, with
/// `refresh_worker`, until the first job has been posted.
pub async fn run_production<H: Handler>(
    handler: Arc<H>,
    config: WorkerConfig,
    env: RunpodEnv,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
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
    let worker = Arc::new(Worker {
        handler,
        config,
        transport,
        held,
        slot_freed: Notify::new(),
        refresh_marked: Arc::new(AtomicBool::new(false)),
        stop_taking: CancellationToken::new(),
    });
    let shutdown = shutdown;
    tokio::pin!(shutdown);
    let stop_poll = tokio::spawn(stop_poll_loop(Arc::clone(&worker)));
    tracing::info!(worker_id = %env.worker_id, "worker started");
    let mut jobs = JoinSet::new();
    take_loop(&worker, &mut jobs, shutdown.as_mut()).await;
    stop_poll.abort();
    drain(&worker, &mut jobs).await;
    if let Some(heartbeat) = heartbeat {
        heartbeat.stop().await;
    }
    tracing::info!("worker stopped");
    Ok(())
}

async fn take_loop<H: Handler>(
    worker: &Arc<Worker<H>>,
    jobs: &mut JoinSet<()>,
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
        // Reap finished job tasks so the set stays small.
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
        let held = worker.held.in_flight();
        if held >= concurrency {
            or_shutdown! {
                _ = worker.slot_freed.notified() => {}
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
                for job in taken {
                    start_job(worker, jobs, job);
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

fn start_job<H: Handler>(worker: &Arc<Worker<H>>, jobs: &mut JoinSet<()>, job: Job) {
    let held = HeldJob {
        stop: CancellationToken::new(),
    };
    if let Err(error) = worker.held.insert(job.id.clone(), held.clone()) {
        // The job is ours now and must still run; it only misses the heartbeat's list.
        tracing::error!(job_id = %job.id, "{error}");
    }
    let worker = Arc::clone(worker);
    jobs.spawn(async move {
        let id = job.id.clone();
        run_job(&worker, job, held.stop).await;
        worker.held.remove(&id);
        worker.slot_freed.notify_one();
        if worker.config.refresh_worker {
            worker.stop_taking.cancel();
        }
    });
}

async fn run_job<H: Handler>(worker: &Arc<Worker<H>>, job: Job, stop: CancellationToken) {
    let config = &worker.config;
    let refresh_marked = Arc::clone(&worker.refresh_marked);
    let (outcome, shared) = exec::run_job(
        &worker.handler,
        job,
        config,
        worker.transport.clone(),
        config.return_aggregate_stream,
        stop,
        move || refresh_marked.store(true, Ordering::SeqCst),
    )
    .await;
    let result = match outcome {
        Outcome::Stopped => {
            tracing::info!(job_id = %shared.id, "job stopped; no result is posted");
            return;
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
    if worker
        .transport
        .post_final(&shared.id, &body, is_stream, || shared.logs())
        .await
        .is_ok()
    {
        tracing::debug!(job_id = %shared.id, "finished");
    }
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

async fn drain<H: Handler>(worker: &Arc<Worker<H>>, jobs: &mut JoinSet<()>) {
    if jobs.is_empty() {
        return;
    }
    tracing::info!(jobs = jobs.len(), timeout = ?worker.config.drain_timeout, "draining running jobs");
    let drained = tokio::time::timeout(worker.config.drain_timeout, async {
        while jobs.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        let abandoned = worker.held.in_flight_ids();
        tracing::warn!(?abandoned, "drain timeout: abandoning running jobs");
        for held in worker.held.in_flight_values() {
            held.stop.cancel();
        }
        // Stopped jobs return at once (their handlers are aborted); posts in flight are cut.
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while jobs.join_next().await.is_some() {}
        })
        .await;
        jobs.abort_all();
    }
}
