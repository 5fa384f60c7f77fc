//! The crate's one error type.
//!
//! Every fallible function in `runpod` returns [`Error`]. The variants are the ones a caller can
//! act on (retry a transport failure, fix a configuration, report a deadline), and
//! [`Error::is_retryable`] is the single place that decides which failures are worth another
//! attempt, so that the take loop, the result poster and the heartbeat share one retry policy.

use std::time::Duration;

/// What went wrong in the worker runtime.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The HTTP request never produced a complete response: connection refused or reset,
    /// dropped connection, DNS failure, or a body that broke off.
    #[error("{what}: transport error: {source}")]
    Transport {
        /// Which request failed (`job-take`, `job-done`, `ping`, ...).
        what: &'static str,
        /// The underlying client error.
        #[source]
        source: reqwest::Error,
    },
    /// The request did not answer within its client-side timeout.
    #[error("{what}: no answer within {after:?}")]
    Timeout {
        /// Which request timed out.
        what: &'static str,
        /// The timeout that expired.
        after: Duration,
    },
    /// The server answered with a status the caller did not expect.
    #[error("{what}: unexpected HTTP status {status}")]
    Status {
        /// Which request was refused.
        what: &'static str,
        /// The HTTP status code.
        status: u16,
    },
    /// A body could not be decoded (malformed job JSON, bad test input, ...).
    #[error("cannot decode {what}: {message}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// Why it failed.
        message: String,
    },
    /// A job ran past its hard deadline.
    #[error("job exceeded its deadline of {0:?}")]
    Deadline(Duration),
    /// The operation was cancelled (job-stop or shutdown).
    #[error("cancelled")]
    Cancelled,
    /// The configuration or environment is invalid; the message names the key and the rule.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// One setting (a `RUNPOD_*` variable or a [`crate::WorkerConfig`] field) holds a value the
    /// runtime refuses at start-up.
    #[error("invalid {name} = {value}: {rule}")]
    InvalidSetting {
        /// The variable or field (`RUNPOD_WEBHOOK_GET_JOB`, `job_deadline`, ...).
        name: &'static str,
        /// The value as given (credentials in a URL are redacted).
        value: String,
        /// What a valid value looks like.
        rule: String,
    },
    /// The bounded job registry is full of in-flight jobs.
    #[error("job registry is full: {bound} jobs in flight")]
    RegistryFull {
        /// The registry bound.
        bound: usize,
    },
    /// Local I/O failed (binding a listener, reading the test input file).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Whether another attempt at the same request may succeed: transport failures, timeouts,
    /// 5xx, 408 and 429 are retryable; other statuses, decoding and configuration errors are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { .. } | Error::Timeout { .. } => true,
            Error::Status { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            _ => false,
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::Config(message.into())
    }

    pub(crate) fn invalid(
        name: &'static str,
        value: impl Into<String>,
        rule: impl Into<String>,
    ) -> Self {
        Error::InvalidSetting {
            name,
            value: value.into(),
            rule: rule.into(),
        }
    }

    pub(crate) fn decode(what: &'static str, message: impl Into<String>) -> Self {
        Error::Decode {
            what,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_and_timeouts_are_retryable_but_client_errors_are_not() {
        let status = |status| Error::Status {
            what: "job-done",
            status,
        };
        assert!(status(500).is_retryable());
        assert!(status(503).is_retryable());
        assert!(status(429).is_retryable());
        assert!(status(408).is_retryable());
        assert!(!status(400).is_retryable());
        assert!(!status(413).is_retryable());
        assert!(Error::Timeout {
            what: "job-done",
            after: Duration::from_secs(1)
        }
        .is_retryable());
        assert!(!Error::config("x").is_retryable());
        assert!(!Error::Cancelled.is_retryable());
        assert!(!Error::invalid("RUNPOD_PING_INTERVAL", "\"0\"", "at least 100 ms").is_retryable());
    }
}
