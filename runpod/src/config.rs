//! Worker tunables ([`WorkerConfig`]) and the concurrency policy ([`Concurrency`]).
//!
//! The application fills `WorkerConfig` from its own settings file; every value here is already
//! typed and validated (`Duration`, `NonZeroUsize`), so the runtime never re-checks them.

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

/// Platform limit on a `/runsync` result (spec §4.1): RunPod refuses larger job-done bodies.
pub const DEFAULT_MAX_RESULT_BYTES: usize = 20 * 1000 * 1000;

/// How many jobs the worker runs at once.
#[derive(Clone)]
pub enum Concurrency {
    /// Always this many.
    Fixed(NonZeroUsize),
    /// A function of the current value, asked before every take (the SDK's
    /// `concurrency_modifier`). Its result can never be zero or absent (rp#458).
    Dynamic(Arc<dyn Fn(usize) -> NonZeroUsize + Send + Sync>),
}

impl Concurrency {
    /// The concurrency to use now, given the current one.
    pub fn next(&self, current: usize) -> NonZeroUsize {
        match self {
            Concurrency::Fixed(value) => *value,
            Concurrency::Dynamic(modifier) => modifier(current),
        }
    }
}

impl fmt::Debug for Concurrency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Concurrency::Fixed(value) => write!(f, "Fixed({value})"),
            Concurrency::Dynamic(_) => f.write_str("Dynamic(<fn>)"),
        }
    }
}

/// The worker's tunables. `Default` gives the values documented on each field.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Jobs run at once. Default: fixed 1.
    pub concurrency: Concurrency,
    /// Hard deadline per job, from the moment it is taken. A handler may lower it per job
    /// ([`crate::Handler::job_deadline`]). Default 300 s.
    pub job_deadline: Duration,
    /// How long a cancelled handler (or work holding its `JobContext`) may outlive its deadline
    /// before the worker is marked for refresh (`stopPod` on a later result). Default 10 s.
    pub deadline_grace: Duration,
    /// Per-job log ring bound in lines. Default 200.
    pub log_max_lines: NonZeroUsize,
    /// Per-job log ring bound in bytes. Default 64 KiB.
    pub log_max_bytes: NonZeroUsize,
    /// Progress updates closer together than this are coalesced (the latest wins). Default 500 ms.
    pub progress_interval: Duration,
    /// On shutdown, how long running jobs may take to finish and post. Default 30 s.
    pub drain_timeout: Duration,
    /// Client-side bound on the job-take and job-stop long polls (the SDK's 90 s).
    pub take_timeout: Duration,
    /// Client timeout of one job-done, job-stream or progress request. Default 30 s.
    pub post_timeout: Duration,
    /// Attempts at posting one result before giving up (at least 1). Default 6.
    pub post_attempts: NonZeroUsize,
    /// A result body larger than this is replaced by a short error result. Default 20 MB.
    pub max_result_bytes: usize,
    /// Add `stopPod: true` to every result (RunPod recycles the worker after each job) and stop
    /// taking jobs after the first one, as the SDK's `refresh_worker`.
    pub refresh_worker: bool,
    /// For streaming handlers, the final result carries every chunk (`{"output":[..]}`) instead
    /// of `{"output":[]}`.
    pub return_aggregate_stream: bool,
    /// Bound of the job registry (jobs held by the worker, jobs kept by the local API). Default 1000.
    pub registry_bound: NonZeroUsize,
    /// Local API: largest accepted request body. Default 20 MB (RunPod's `/runsync` limit).
    pub api_body_limit: usize,
    /// Local API: per-request timeout. Default 330 s (a `/runsync` may wait for a whole job).
    pub api_request_timeout: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            concurrency: Concurrency::Fixed(NonZeroUsize::MIN),
            job_deadline: Duration::from_secs(300),
            deadline_grace: Duration::from_secs(10),
            log_max_lines: NonZeroUsize::new(200).expect("200 is not zero"),
            log_max_bytes: NonZeroUsize::new(64 * 1024).expect("64 KiB is not zero"),
            progress_interval: Duration::from_millis(500),
            drain_timeout: Duration::from_secs(30),
            take_timeout: Duration::from_secs(90),
            post_timeout: Duration::from_secs(30),
            post_attempts: NonZeroUsize::new(6).expect("6 is not zero"),
            max_result_bytes: DEFAULT_MAX_RESULT_BYTES,
            refresh_worker: false,
            return_aggregate_stream: false,
            registry_bound: NonZeroUsize::new(1000).expect("1000 is not zero"),
            api_body_limit: DEFAULT_MAX_RESULT_BYTES,
            api_request_timeout: Duration::from_secs(330),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_concurrency_sees_the_current_value() {
        let concurrency = Concurrency::Dynamic(Arc::new(|current| {
            NonZeroUsize::new(current + 1).unwrap_or(NonZeroUsize::MIN)
        }));
        assert_eq!(concurrency.next(3).get(), 4);
        assert_eq!(format!("{concurrency:?}"), "Dynamic(<fn>)");
    }
}
