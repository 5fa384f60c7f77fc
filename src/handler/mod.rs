//! The RunPod handler: a job's `input` in, `{"svg", "metadata", "logs"?}` out.
//!
//! It parses the request ([`request`]), fetches `image_url` under the download rules
//! ([`crate::download`]), reads the image header and reserves the job's estimated memory
//! from the worker's budget ([`memory`]; a job that does not fit waits, one that never can is
//! refused), then runs decode and the pipeline on tokio's blocking pool inside the job's
//! span. The job's cancellation token (deadline, job-stop) is bridged to the
//! pipeline's [`CancelToken`], which terminates ONNX Runtime inference in flight. Pipeline and
//! download errors become job errors in exactly one place, [`job_error`].

pub mod memory;
pub mod request;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::cancel::CancelToken;
use crate::download::{download, DownloadError, DownloadPolicy};
use crate::pipeline::decode::probe;
use crate::pipeline::model::ModelError;
use crate::pipeline::{
    decode, DecodeLimits, Phase, Pipeline, PipelineError, PipelineErrorKind, Progress, Request,
    SteeringRequest as PipelineSteering, TraceOverrides,
};
use crate::settings::{InputLimits, OutputLimits};
use memory::{job_estimate, MemoryBudget};
use request::{ImageSource, JobRequest};

/// What the handler needs besides the pipeline.
#[derive(Debug, Clone, Copy)]
pub struct HandlerConfig {
    /// Input limits from `handler.toml`.
    pub input: InputLimits,
    /// Output limits from `handler.toml`.
    pub output: OutputLimits,
    /// `RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS`.
    pub allow_private_downloads: bool,
}

/// The gemini3 job handler.
pub struct VectorizeHandler {
    pipeline: Arc<Pipeline>,
    config: HandlerConfig,
    memory: MemoryBudget,
}

impl VectorizeHandler {
    /// A handler over a ready pipeline (sessions built and warmed up), with a memory budget
    /// of `config.input.memory_budget_bytes` shared by its jobs.
    pub fn new(pipeline: Arc<Pipeline>, config: HandlerConfig) -> Self {
        let memory = MemoryBudget::new(config.input.memory_budget_bytes);
        Self {
            pipeline,
            config,
            memory,
        }
    }

    /// The memory budget the jobs reserve their estimates from.
    pub fn memory_budget(&self) -> &MemoryBudget {
        &self.memory
    }

    /// Reads the header (on the blocking pool: a bounded but not free parse), estimates the
    /// job's peak memory and reserves it, waiting for room; refuses a job that can never fit.
    async fn reserve_memory(
        &self,
        bytes: Vec<u8>,
        limits: DecodeLimits,
        ctx: &runpod::JobContext,
    ) -> Result<(Vec<u8>, memory::MemoryReservation), runpod::HandlerError> {
        let (bytes, header) = ctx
            .spawn_blocking(move || {
                let header = probe(&bytes, &limits);
                (bytes, header)
            })
            .await
            .map_err(|join_error| {
                runpod::HandlerError::internal(format!(
                    "reading the image header stopped unexpectedly: {join_error}"
                ))
            })?;
        let header = header.map_err(|error| job_error(&error))?;
        let settings = self.pipeline.settings();
        let estimate = job_estimate(
            header.width,
            header.height,
            bytes.len() as u64,
            settings.working_size,
            settings.pad_multiple,
        );
        let (width, height) = (header.width, header.height);
        let reservation = match self.memory.try_reserve(estimate) {
            Err(never) => {
                return Err(runpod::HandlerError::invalid_input(format!(
                    "image: {width}x{height} needs an estimated {} MB to process, more than this worker's memory budget of {} MB (input.memory_budget_mb); send a smaller image",
                    never.needed_mb, never.budget_mb
                )))
            }
            Ok(Some(reservation)) => reservation,
            Ok(None) => {
                let state = self.memory.state();
                ctx.log(format!(
                    "waiting for {} MB of the memory budget ({} of {} MB in use)",
                    memory::megabytes(estimate),
                    state.reserved_mb,
                    self.memory.total_mb()
                ));
                let cancellation = ctx.cancellation();
                tokio::select! {
                    reservation = self.memory.reserve(estimate) => {
                        reservation.expect("checked to fit by try_reserve")
                    }
                    _ = cancellation.cancelled() => {
                        return Err(job_error(&PipelineError::new(
                            Phase::Decode,
                            PipelineErrorKind::Cancelled,
                        )))
                    }
                }
            }
        };
        ctx.log(format!(
            "{width}x{height} image: {} MB of the memory budget reserved",
            reservation.megabytes()
        ));
        Ok((bytes, reservation))
    }

    async fn process(
        &self,
        job: runpod::Job,
        ctx: &runpod::JobContext,
    ) -> Result<Value, runpod::HandlerError> {
        // Parsing decodes up to max_image_bytes of base64: blocking work, off the runtime.
        let input = job.input;
        let max_image_bytes = self.config.input.max_image_bytes;
        let mut request = ctx
            .spawn_blocking(move || request::parse(&input, max_image_bytes))
            .await
            .map_err(|join_error| {
                runpod::HandlerError::internal(format!(
                    "parsing the job input stopped unexpectedly: {join_error}"
                ))
            })?
            .map_err(|error| runpod::HandlerError::invalid_input(error.to_string()))?;
        let return_logs = request.return_logs;
        let bytes = match &mut request.source {
            // Taken, not copied: one copy of the encoded image per job.
            ImageSource::Inline(bytes) => std::mem::take(bytes),
            ImageSource::Url(url) => {
                ctx.log(format!("downloading image_url ({} chars)", url.len()));
                let policy = DownloadPolicy {
                    max_bytes: self.config.input.max_image_bytes,
                    timeout: self.config.input.download_timeout,
                    allow_private: self.config.allow_private_downloads,
                };
                download(url, &policy).await.map_err(download_error)?
            }
        };
        ctx.log(format!("image: {} bytes", bytes.len()));
        let limits = DecodeLimits {
            max_bytes: self.config.input.max_image_bytes,
            max_pixels: self.config.input.max_pixels,
        };
        let (bytes, reservation) = self.reserve_memory(bytes, limits, ctx).await?;

        let cancel = CancelToken::new();
        let bridge = {
            let token = ctx.cancellation();
            let cancel = cancel.clone();
            tokio::spawn(async move {
                token.cancelled().await;
                cancel.cancel();
            })
        };
        let pipeline = Arc::clone(&self.pipeline);
        let progress_ctx = ctx.clone();
        let max_svg_bytes = self.config.output.max_inline_bytes;
        let result = ctx
            .spawn_blocking(move || {
                // Held until the blocking work ends, even if the handler stops waiting.
                let _reservation = reservation;
                let image = decode(&bytes, &limits)?;
                drop(bytes);
                let pipeline_request = pipeline_request(image, &request, max_svg_bytes);
                let mut on_progress = |progress: Progress| {
                    tracing::info!(phase = %progress.phase, percent = progress.percent, "{}", progress.message);
                    progress_ctx.progress(json!({
                        "phase": progress.phase.to_string(),
                        "percent": progress.percent,
                        "message": progress.message,
                    }));
                };
                pipeline.run(&pipeline_request, &cancel, &mut on_progress)
            })
            .await;
        bridge.abort();
        let output = match result {
            Ok(output) => output.map_err(|error| job_error(&error))?,
            Err(join_error) => {
                return Err(runpod::HandlerError::internal(format!(
                    "the pipeline stopped unexpectedly: {join_error}"
                )))
            }
        };
        let svg_bytes = output.svg.len();
        if svg_bytes > self.config.output.max_inline_bytes {
            return Err(runpod::HandlerError::new(
                "OutputTooLarge",
                format!(
                    "the SVG is {svg_bytes} bytes, over output.max_inline_bytes = {}; shrink it with fewer colours (max_colors or a smaller palette), a larger trace.filter_speckle, or trace.mode = \"polygon\"",
                    self.config.output.max_inline_bytes
                ),
            ));
        }
        let metadata = serde_json::to_value(&output.metadata).map_err(|error| {
            runpod::HandlerError::internal(format!("metadata does not serialise: {error}"))
        })?;
        let mut result = json!({"svg": output.svg, "metadata": metadata});
        if return_logs {
            result["logs"] = json!(ctx.logs());
        }
        Ok(result)
    }
}

impl runpod::Handler for VectorizeHandler {
    async fn handle(
        &self,
        job: runpod::Job,
        ctx: runpod::JobContext,
    ) -> Result<Value, runpod::HandlerError> {
        let result = self.process(job, &ctx).await;
        if let Err(error) = &result {
            tracing::warn!(error_type = %error.error_type, "job failed: {}", error.message);
        }
        result
    }

    fn job_deadline(&self, job: &runpod::Job) -> Option<Duration> {
        request::requested_deadline(&job.input)
    }
}

fn pipeline_request(
    image: crate::pipeline::DecodedImage,
    request: &JobRequest,
    max_svg_bytes: usize,
) -> Request {
    Request {
        image,
        palette: request.palette.clone(),
        max_colors: request.max_colors,
        steering: request.steering.map(|s| PipelineSteering {
            enabled: s.enabled.unwrap_or(true),
            seed: s.seed,
            strength: s.strength,
        }),
        trace: TraceOverrides {
            mode: request.trace_mode,
            filter_speckle: request.filter_speckle,
        },
        alpha: request.alpha,
        max_svg_bytes: Some(max_svg_bytes),
    }
}

/// A URL that does not deliver an image is the client's input to fix.
fn download_error(error: DownloadError) -> runpod::HandlerError {
    runpod::HandlerError::invalid_input(error.to_string())
}

/// The one mapping from pipeline errors to RunPod job errors.
pub fn job_error(error: &PipelineError) -> runpod::HandlerError {
    let error_type = match &error.kind {
        PipelineErrorKind::InvalidInput { .. } => "InvalidInput",
        PipelineErrorKind::Cancelled => "DeadlineExceeded",
        PipelineErrorKind::Model(ModelError::Cancelled) => "DeadlineExceeded",
        PipelineErrorKind::Model(_) => "ModelError",
        PipelineErrorKind::GateFailed { .. } => "PhaseFailed",
        PipelineErrorKind::OutputTooLarge { .. } => "OutputTooLarge",
        // No wildcard: a new kind of pipeline failure does not compile until it is mapped.
        PipelineErrorKind::Internal(_) => "Internal",
    };
    runpod::HandlerError::new(error_type, error.to_string())
}
