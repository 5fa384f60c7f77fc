//! The handler traits: [`Handler`] for one value per job, [`StreamHandler`] (wrapped in
//! [`Streaming`]) for a stream of chunks.
//!
//! The traits declare `fn … -> impl Future<…> + Send`, so implementations are plain
//! `async fn`s (the compiler checks that their futures are `Send`), with no boxing and no
//! `async_trait`:
//!
//! ```
//! use runpod::{Handler, HandlerError, Job, JobContext};
//! struct Echo;
//! impl Handler for Echo {
//!     async fn handle(&self, job: Job, _ctx: JobContext) -> Result<serde_json::Value, HandlerError> {
//!         Ok(job.input)
//!     }
//! }
//! ```

use std::future::Future;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use serde_json::Value;

use crate::context::JobContext;
use crate::job::Job;
use crate::report::{HandlerError, HandlerOutput};

/// A job handler: one result value per job.
///
/// The runtime runs `handle` on a tokio task. At the job's deadline, on job-stop, or when a
/// shutdown stops waiting, the context's token is cancelled and the future is dropped; CPU-bound
/// work belongs in [`JobContext::spawn_blocking`], which should watch the token.
pub trait Handler: Send + Sync + 'static {
    /// Handles one job.
    fn handle(
        &self,
        job: Job,
        ctx: JobContext,
    ) -> impl Future<Output = Result<Value, HandlerError>> + Send;

    /// Lowers the worker's deadline for this job (the runtime takes the smaller of the two).
    /// The default keeps the worker's deadline.
    fn job_deadline(&self, _job: &Job) -> Option<Duration> {
        None
    }

    /// Whether the final post is a stream's (`isStream=true`). Only [`Streaming`] says yes.
    #[doc(hidden)]
    fn is_streaming(&self) -> bool {
        false
    }

    /// How the runtime runs a job. Plain handlers keep the default, which calls
    /// [`Handler::handle`]; [`Streaming`] overrides it to post chunks. Not meant to be
    /// overridden elsewhere.
    #[doc(hidden)]
    fn run_job(
        &self,
        job: Job,
        ctx: JobContext,
    ) -> impl Future<Output = Result<HandlerOutput, HandlerError>> + Send {
        async move { self.handle(job, ctx).await.map(HandlerOutput::Single) }
    }
}

/// A streaming handler: a stream of chunks per job, posted to job-stream in order.
///
/// An `Err` item ends the job with that error. Wrap it in [`Streaming`] to run it.
pub trait StreamHandler: Send + Sync + 'static {
    /// Produces the chunks of one job.
    fn stream(
        &self,
        job: Job,
        ctx: JobContext,
    ) -> impl Stream<Item = Result<Value, HandlerError>> + Send;

    /// As [`Handler::job_deadline`].
    fn job_deadline(&self, _job: &Job) -> Option<Duration> {
        None
    }
}

/// Adapts a [`StreamHandler`] to the runtime: chunks go to job-stream one at a time (each post
/// is awaited before the stream is polled again), then the final post has `isStream=true`.
/// `handle` alone (without the runtime) collects the chunks into an array.
#[derive(Debug, Clone, Default)]
pub struct Streaming<S>(pub S);

impl<S: StreamHandler> Handler for Streaming<S> {
    async fn handle(&self, job: Job, ctx: JobContext) -> Result<Value, HandlerError> {
        let stream = self.0.stream(job, ctx);
        futures_util::pin_mut!(stream);
        let mut chunks = Vec::new();
        while let Some(item) = stream.next().await {
            chunks.push(item?);
        }
        Ok(Value::Array(chunks))
    }

    fn job_deadline(&self, job: &Job) -> Option<Duration> {
        self.0.job_deadline(job)
    }

    fn is_streaming(&self) -> bool {
        true
    }

    async fn run_job(&self, job: Job, ctx: JobContext) -> Result<HandlerOutput, HandlerError> {
        let shared = ctx.shared_state();
        let stream = self.0.stream(job, ctx);
        futures_util::pin_mut!(stream);
        let mut chunks = Vec::new();
        while let Some(item) = stream.next().await {
            let chunk = item?;
            if shared.aggregate {
                chunks.push(chunk.clone());
            }
            shared.reporter.chunk(&shared.id, chunk).await;
        }
        Ok(HandlerOutput::Stream(chunks))
    }
}
