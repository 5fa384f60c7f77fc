//! `runpod`: a RunPod serverless worker runtime, wire-compatible with RunPod's Python worker
//! (`runpod.serverless.start`) and free of its known failures.
//!
//! # Layout
//!
//! - [`env`]: RunPod's environment variables ([`RunpodEnv`]) and mode selection ([`select_mode`]).
//! - [`config`]: the worker's tunables ([`WorkerConfig`], [`Concurrency`]).
//! - [`job`]: [`Job`], [`JobId`] and decoding of job-take answers.
//! - [`handler`]: the [`Handler`] and [`StreamHandler`] traits.
//! - [`context`]: [`JobContext`] (progress, logs, cancellation, deadline).
//! - [`report`]: [`HandlerError`] and the result bodies posted to job-done.
//! - `http`: URLs (every part percent-encoded) and requests; `heartbeat`: the ping thread;
//!   `exec`: one job under its deadline; `outbox`: ordered, retried result delivery;
//!   `worker`: production mode ([`run_production`]).
//! - [`local`]: one-shot local mode ([`run_local`]); [`api`]: the local API server ([`serve`]).
//! - [`ring`], [`registry`]: the bounded log ring and job registry.
//! - [`logging`]: RunPod's log line formats and capture of job events into log rings.
//! - `fake` (feature `fake`): [`fake::FakeQueue`], a real loopback RunPod queue for tests.
//!
//! # Entry points
//!
//! `main` parses [`RunpodEnv`] from `std::env::vars()`, calls [`logging::init`], picks a
//! [`Mode`] with [`select_mode`], then calls [`run_production`], [`run_local`] or [`serve`]
//! with an `Arc` of its handler, a [`WorkerConfig`] and (for the long-running modes) a
//! shutdown future that completes on SIGTERM/SIGINT.
//!
//! **Use a multi-threaded tokio runtime**: the deadline is enforced from another runtime
//! thread, so a handler that blocks its thread cannot stop the `DeadlineExceeded` post.

pub mod api;
pub mod config;
pub mod context;
pub mod env;
pub mod error;
mod exec;
#[cfg(feature = "fake")]
pub mod fake;
pub mod handler;
mod heartbeat;
mod http;
pub mod job;
pub mod local;
pub mod logging;
mod outbox;
pub mod registry;
pub mod report;
pub mod ring;
mod worker;

pub use api::{serve, serve_with, ApiClock, ApiLimits, ApiOptions};
pub use config::{Concurrency, WorkerConfig};
pub use context::JobContext;
pub use env::{
    check_web_url, redact_url, select_mode, Mode, RunpodEnv, WebUrlError, RUNPOD_SDK_VERSION,
};
pub use error::Error;
pub use handler::{Handler, StreamHandler, Streaming};
pub use http::{report_unhealthy, report_unhealthy_from_vars, USER_AGENT_VALUE};
pub use job::{Job, JobId};
pub use local::{run_local, LocalOutcome};
pub use report::{ErrorType, HandlerError, HandlerOutput};
pub use worker::run_production;
