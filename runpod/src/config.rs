//! Worker tunables ([`WorkerConfig`]) and the concurrency policy ([`Concurrency`]).
//!
//! The application fills `WorkerConfig` from its own settings file; the values are typed
//! (`Duration`, `NonZeroUsize`), and [`WorkerConfig::validate`] (called by every mode at start-up)
//! refuses the few that are typed but absurd, such as a 1 ns deadline.

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use crate::error::Error;

/// The shortest job deadline accepted ([`WorkerConfig::validate`]).
pub const MIN_JOB_DEADLINE: Duration = Duration::from_secs(1);

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

impl From<NonZeroUsize> for Concurrency {
    fn from(value: NonZeroUsize) -> Self {
        Concurrency::Fixed(value)
    }
}

/// A fixed concurrency from a count; zero is refused.
impl TryFrom<usize> for Concurrency {
    type Error = std::num::TryFromIntError;

    fn try_from(value: usize) -> Result<Self, Self::Error> {
        NonZeroUsize::try_from(value).map(Concurrency::Fixed)
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
    /// Hard deadline per job, from the moment it starts running (at once after its take,
    /// unless a take over-delivered and it waited for a free slot). A handler may lower it per
    /// job ([`crate::Handler::job_deadline`]). At least 1 s ([`MIN_JOB_DEADLINE`]). Default 300 s.
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
    /// Attempts at posting one stream chunk before giving up (at least 1). Default 6. Final
    /// results are not bounded by a count: see `result_retry_grace`.
    pub post_attempts: NonZeroUsize,
    /// A final result is retried (capped exponential back-off with jitter) for as long as its
    /// job's own deadline plus this grace, counted from when it was first posted; only then is
    /// it given up and logged as lost. Default 10 min.
    pub result_retry_grace: Duration,
    /// First wait between two attempts at posting a result (each wait is drawn from
    /// [d/2, d], d doubling up to `result_backoff_cap`). Default 200 ms; at least 1 ms.
    pub result_backoff: Duration,
    /// Longest wait between two attempts at posting a result. Default 5 s.
    pub result_backoff_cap: Duration,
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
            result_retry_grace: Duration::from_secs(600),
            result_backoff: Duration::from_millis(200),
            result_backoff_cap: Duration::from_secs(5),
            max_result_bytes: DEFAULT_MAX_RESULT_BYTES,
            refresh_worker: false,
            return_aggregate_stream: false,
            registry_bound: NonZeroUsize::new(1000).expect("1000 is not zero"),
            api_body_limit: DEFAULT_MAX_RESULT_BYTES,
            api_request_timeout: Duration::from_secs(330),
        }
    }
}

impl WorkerConfig {
    /// Refuses values that type-check but cannot work: a job deadline under
    /// [`MIN_JOB_DEADLINE`], a take or post timeout under 1 s or 100 ms, a result back-off
    /// under 1 ms or a cap under it. The error names the field and the value.
    pub fn validate(&self) -> Result<(), Error> {
        let at_least = |name: &'static str, value: Duration, low: Duration| {
            if value < low {
                Err(Error::invalid(
                    name,
                    format!("{value:?}"),
                    format!("must be at least {low:?}"),
                ))
            } else {
                Ok(())
            }
        };
        at_least("job_deadline", self.job_deadline, MIN_JOB_DEADLINE)?;
        at_least("take_timeout", self.take_timeout, Duration::from_secs(1))?;
        at_least(
            "post_timeout",
            self.post_timeout,
            Duration::from_millis(100),
        )?;
        at_least(
            "result_backoff",
            self.result_backoff,
            Duration::from_millis(1),
        )?;
        at_least(
            "result_backoff_cap",
            self.result_backoff_cap,
            self.result_backoff,
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_absurd_values_are_refused_by_name() {
        assert!(WorkerConfig::default().validate().is_ok());
        let config = WorkerConfig {
            job_deadline: Duration::from_secs_f64(1e-12),
            ..WorkerConfig::default()
        };
        let error = config.validate().expect_err("1 ps deadline");
        assert!(matches!(
            error,
            Error::InvalidSetting {
                name: "job_deadline",
                ..
            }
        ));
        assert!(
            error
                .to_string()
                .contains("job_deadline = 0ns: must be at least 1s"),
            "{error}"
        );
        let config = WorkerConfig {
            result_backoff_cap: Duration::from_millis(1),
            ..WorkerConfig::default()
        };
        assert!(config.validate().is_err());
    }

    #[test]
    fn dynamic_concurrency_sees_the_current_value() {
        let concurrency = Concurrency::Dynamic(Arc::new(|current| {
            NonZeroUsize::new(current + 1).unwrap_or(NonZeroUsize::MIN)
        }));
        assert_eq!(concurrency.next(3).get(), 4);
        assert_eq!(format!("{concurrency:?}"), "Dynamic(<fn>)");
    }
}
