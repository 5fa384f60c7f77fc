//! The RunPod handler: a job's `input` in, `{"svg", "metadata", "logs"?}` out.
//!
//! It parses the request ([`request`]), fetches `image_url` under the download rules
//! ([`crate::download`]), then runs decode and the pipeline on tokio's blocking pool inside
//! the job's span. The job's cancellation token (deadline, job-stop) is bridged to the
//! pipeline's [`CancelToken`], which terminates ONNX Runtime inference in flight. Pipeline and
//! download errors become job errors in exactly one place, [`job_error`].

pub mod request;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::cancel::CancelToken;
use crate::download::{download, DownloadError, DownloadPolicy};
use crate::pipeline::model::ModelError;
use crate::pipeline::{
    decode, DecodeLimits, Pipeline, PipelineError, PipelineErrorKind, Progress, Request,
    SteeringRequest as PipelineSteering, TraceOverrides,
};
use crate::settings::{InputLimits, OutputLimits};
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
}

impl VectorizeHandler {
    /// A handler over a ready pipeline (sessions built and warmed up).
    pub fn new(pipeline: Arc<Pipeline>, config: HandlerConfig) -> Self {
        Self { pipeline, config }
    }

    async fn process(
        &self,
        job: runpod::Job,
        ctx: &runpod::JobContext,
    ) -> Result<Value, runpod::HandlerError> {
        let request = request::parse(&job.input, self.config.input.max_image_bytes)
            .map_err(|error| runpod::HandlerError::invalid_input(error.to_string()))?;
        let return_logs = request.return_logs;
        let bytes = match &request.source {
            ImageSource::Inline(bytes) => bytes.clone(),
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
        let limits = DecodeLimits {
            max_bytes: self.config.input.max_image_bytes,
            max_pixels: self.config.input.max_pixels,
        };
        let progress_ctx = ctx.clone();
        let result = ctx
            .spawn_blocking(move || {
                let image = decode(&bytes, &limits)?;
                let pipeline_request = pipeline_request(image, &request);
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

fn pipeline_request(image: crate::pipeline::DecodedImage, request: &JobRequest) -> Request {
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
        _ => "Internal",
    };
    runpod::HandlerError::new(error_type, error.to_string())
}
