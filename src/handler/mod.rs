//! The RunPod handler: a job's `input` in, `{"svg", "metadata", "logs"?}` out (or
//! `{"outputs", "metadata", "logs"?}` when the job asks for other formats or a bucket is
//! configured; see [`VectorizeHandler`]).
//!
//! It parses the request ([`request`]) and the job's `s3Config`, checks a job bucket's
//! endpoint against the address policy before any work, fetches `image_url` under the
//! download rules ([`crate::download`]), reads the image header and reserves the job's
//! estimated memory from the worker's budget ([`memory`]; a job that does not fit waits, one
//! that never can is refused), then runs decode, the pipeline and the output encoders
//! ([`crate::output`]) on tokio's blocking pool inside the job's span. The job's cancellation
//! token (deadline, job-stop) is bridged to the pipeline's [`CancelToken`], which terminates
//! ONNX Runtime inference in flight, and stops uploads ([`crate::delivery`]). Every failure
//! is a [`JobError`], mapped to RunPod's `error_type` in one place ([`error`]).

pub mod error;
mod limits;
pub mod memory;
pub mod request;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::cancel::CancelToken;
use crate::delivery::{Bucket, DeliveryOptions, OutputFile, Uploader};
use crate::download::{download, DownloadPolicy};
use crate::output::{
    encode_limited, encode_memory_estimate, EncodeLimits, Format, OutputError, OutputOptions,
};
use crate::pipeline::decode::probe;
use crate::pipeline::{
    decode, DecodeLimits, JobOptions, Output, Phase, Pipeline, PipelineError, PipelineErrorKind,
    Progress, Request,
};
pub use error::{ErrorType, JobError};
pub use limits::{InputLimits, OutputLimits};
use memory::{job_estimate, MemoryBudget};
use request::ImageSource;

/// What the handler needs besides the pipeline.
#[derive(Debug, Clone)]
pub struct HandlerConfig {
    /// Input limits from `handler.toml`.
    pub input: InputLimits,
    /// Output limits from `handler.toml`.
    pub output: OutputLimits,
    /// `RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS`: also lets a job's `s3Config` name a private
    /// endpoint.
    pub allow_private_downloads: bool,
    /// The operator's bucket from RunPod's `BUCKET_*` variables ([`Bucket::from_env`]); a
    /// job's `s3Config` takes its place for that job.
    pub bucket: Option<Bucket>,
}

/// The gemini3 job handler.
///
/// The result is `{"svg", "metadata", "logs"?}` when the job asks for the SVG only (the
/// default `formats`) and no bucket is configured. Otherwise it is
/// `{"outputs": {FORMAT: {...}}, "metadata", "logs"?}`, one entry per format asked for:
///
/// - inline (no bucket): `{"media_type", "bytes", "text"}` for SVG, EPS and DXF, or
///   `{"media_type", "bytes", "base64"}` for PDF and PNG; the inline total is bounded by
///   `output.max_inline_bytes` (over it: `OutputTooLarge`, saying how to configure a bucket);
/// - uploaded (the environment's bucket or the job's `s3Config`): `{"media_type", "bytes",
///   "key", "url", "expires_at"}`, the object at `{job_id}/output.{ext}` and a presigned GET
///   URL. A failed upload fails the job; there is no partial result.
pub struct VectorizeHandler {
    pipeline: Arc<Pipeline>,
    config: HandlerConfig,
    memory: MemoryBudget,
    delivery: DeliveryOptions,
    encoding: OutputOptions,
}

/// What the blocking work hands back besides the metadata.
enum Body {
    /// The SVG alone (the default `formats`), not copied.
    Svg(String),
    /// Every format asked for, encoded, in order.
    Files(Vec<(Format, Vec<u8>)>),
}

/// Where the job's files go.
enum Delivery {
    /// Inline in the result.
    Inline,
    /// Uploaded, with URLs in the result.
    Bucket(Box<Uploader>),
}

impl VectorizeHandler {
    /// A handler over a ready pipeline (sessions built and warmed up), with a memory budget
    /// of `config.input.memory_budget_bytes` shared by its jobs.
    pub fn new(pipeline: Arc<Pipeline>, config: HandlerConfig) -> Self {
        let memory = MemoryBudget::new(config.input.memory_budget_bytes);
        let delivery = DeliveryOptions {
            presign_expiry: config.output.presign_expiry,
            upload_timeout: config.output.upload_timeout,
            upload_retries: config.output.upload_retries,
        };
        Self {
            pipeline,
            config,
            memory,
            delivery,
            encoding: OutputOptions::default(),
        }
    }

    /// The encoders' options (`configs/*.toml [output]`); the defaults otherwise.
    pub fn with_output_options(mut self, options: OutputOptions) -> Self {
        self.encoding = options;
        self
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
    ) -> Result<(Vec<u8>, memory::MemoryReservation), JobError> {
        let (bytes, header) = ctx
            .spawn_blocking(move || {
                let header = probe(&bytes, &limits);
                (bytes, header)
            })
            .await
            .map_err(|source| JobError::Stopped {
                what: "reading the image header",
                source,
            })?;
        let header = header?;
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
                return Err(JobError::MemoryNeverFits {
                    width,
                    height,
                    needed_mb: never.needed_mb,
                    budget_mb: never.budget_mb,
                })
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
                        return Err(PipelineError::new(
                            Phase::Decode,
                            PipelineErrorKind::Cancelled,
                        ).into())
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

    /// Memory for the encoders (`needed` bytes) beside the pipeline's `reservation`: taken at
    /// once when there is room; else the pipeline's is given back and the whole of `needed`
    /// waited for (so no job waits while holding memory another job waits for). Refused with
    /// `OutputTooLarge` when it can never fit.
    async fn reserve_encoding(
        &self,
        reservation: memory::MemoryReservation,
        needed: u64,
        formats: &[Format],
        ctx: &runpod::JobContext,
    ) -> Result<Vec<memory::MemoryReservation>, JobError> {
        let names = || {
            formats
                .iter()
                .map(|format| format.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let never = |never: memory::NeverFits| JobError::EncodingNeverFits {
            formats: names(),
            needed_mb: never.needed_mb,
            budget_mb: never.budget_mb,
        };
        match self.memory.try_reserve(needed).map_err(never)? {
            Some(extra) => return Ok(vec![reservation, extra]),
            None => drop(reservation),
        }
        ctx.log(format!(
            "waiting for {} MB of the memory budget to write {}",
            memory::megabytes(needed),
            names()
        ));
        let cancellation = ctx.cancellation();
        tokio::select! {
            reserved = self.memory.reserve(needed) => Ok(vec![reserved.map_err(never)?]),
            _ = cancellation.cancelled() => Err(PipelineError::new(
                Phase::Trace,
                PipelineErrorKind::Cancelled,
            ).into()),
        }
    }

    /// The job's bucket (its `s3Config`, else the operator's), its endpoint checked against
    /// the address policy and its client built: a bad bucket fails the job before any work.
    async fn delivery(
        &self,
        job: &runpod::Job,
        ctx: &runpod::JobContext,
    ) -> Result<Delivery, JobError> {
        let bucket = match job.extra.get("s3Config") {
            Some(Value::Null) | None => self.config.bucket.clone(),
            Some(value) => Some(request::parse_s3_config(value)?),
        };
        let Some(bucket) = bucket else {
            return Ok(Delivery::Inline);
        };
        let origin = bucket.origin();
        let delivery_error = |source| JobError::Delivery {
            origin,
            source: Box::new(source),
        };
        let destination = bucket
            .resolve(self.config.allow_private_downloads)
            .await
            .map_err(delivery_error)?;
        ctx.log(format!(
            "outputs go to the bucket {:?} at {} ({:?} settings)",
            bucket.name(),
            bucket.endpoint(),
            origin
        ));
        let uploader = Uploader::new(destination, self.delivery).map_err(delivery_error)?;
        Ok(Delivery::Bucket(Box::new(uploader)))
    }

    /// One job: its bucket checked, its image fetched and reserved for, the pipeline run,
    /// the outputs encoded and delivered. Each step is a function below.
    async fn process(&self, job: runpod::Job, ctx: &runpod::JobContext) -> Result<Value, JobError> {
        let delivery = self.delivery(&job, ctx).await?;
        let job_id = job.id.as_str().to_owned();
        let (request, bytes) = self.image(job.input, ctx).await?;
        let limits = DecodeLimits {
            max_bytes: self.config.input.max_image_bytes,
            max_pixels: self.config.input.max_pixels,
        };
        // Every output is capped: inline by the inline limit, uploaded ones by max_file_bytes
        // (the SVG included, stopped while tracing).
        let caps = match delivery {
            Delivery::Inline => EncodeCaps {
                inline: true,
                max_bytes: self.config.output.max_inline_bytes,
            },
            Delivery::Bucket(_) => EncodeCaps {
                inline: false,
                max_bytes: self.config.output.max_file_bytes,
            },
        };
        let (bytes, reservation) = self.reserve_memory(bytes, limits, ctx).await?;
        let cancel = CancelToken::new();
        let bridge = CancelBridge::new(ctx, &cancel);
        let traced = self
            .trace(
                bytes,
                limits,
                request.options,
                caps,
                reservation,
                &cancel,
                ctx,
            )
            .await?;
        let body = self
            .encode(traced, &request.formats, caps, &cancel, ctx)
            .await?;
        drop(bridge);
        let metadata = body.1;
        let mut result = self
            .respond(body.0, delivery, metadata, &job_id, ctx)
            .await?;
        if request.return_logs {
            result["logs"] = json!(ctx.logs());
        }
        Ok(result)
    }

    /// The job input parsed (off the runtime: it decodes up to `max_image_bytes` of base64)
    /// and the encoded image, inline or downloaded from `image_url`.
    async fn image(
        &self,
        input: Value,
        ctx: &runpod::JobContext,
    ) -> Result<(request::JobRequest, Vec<u8>), JobError> {
        let max_image_bytes = self.config.input.max_image_bytes;
        let mut request = ctx
            .spawn_blocking(move || request::parse(&input, max_image_bytes))
            .await
            .map_err(|source| JobError::Stopped {
                what: "parsing the job input",
                source,
            })??;
        let bytes = match &mut request.source {
            // Taken, not copied: one copy of the encoded image per job.
            ImageSource::Inline(bytes) => std::mem::take(bytes),
            ImageSource::Url(url) => {
                ctx.log(format!("downloading image_url ({} chars)", url.len()));
                let policy = DownloadPolicy {
                    max_bytes: max_image_bytes,
                    timeout: self.config.input.download_timeout,
                    allow_private: self.config.allow_private_downloads,
                };
                download(url, &policy).await?
            }
        };
        ctx.log(format!("image: {} bytes", bytes.len()));
        Ok((request, bytes))
    }

    /// Decode and the pipeline, on the blocking pool, holding the job's memory reservation
    /// until that work ends (even if the handler stops waiting).
    #[allow(clippy::too_many_arguments)]
    async fn trace(
        &self,
        bytes: Vec<u8>,
        limits: DecodeLimits,
        options: JobOptions,
        caps: EncodeCaps,
        reservation: memory::MemoryReservation,
        cancel: &CancelToken,
        ctx: &runpod::JobContext,
    ) -> Result<Traced, JobError> {
        let pipeline = Arc::clone(&self.pipeline);
        let progress_ctx = ctx.clone();
        let cancel = cancel.clone();
        let result = ctx
            .spawn_blocking(move || {
                let image = decode(&bytes, &limits)?;
                drop(bytes);
                let request = Request {
                    image,
                    options,
                    max_svg_bytes: Some(caps.max_bytes),
                };
                let mut on_progress = |progress: Progress| {
                    tracing::info!(phase = %progress.phase, percent = progress.percent, "{}", progress.message);
                    progress_ctx.progress(json!({
                        "phase": progress.phase.to_string(),
                        "percent": progress.percent,
                        "message": progress.message,
                    }));
                };
                let output = pipeline.run(&request, &cancel, &mut on_progress)?;
                Ok::<_, JobError>(Traced {
                    output,
                    size: (request.image.width, request.image.height),
                    reservation,
                })
            })
            .await;
        result
            .map_err(|source| JobError::Stopped {
                what: "the pipeline",
                source,
            })
            .and_then(|outcome| outcome)
            .map_err(|error| match error {
                // Inline: say how to lift the bound (a bucket); uploads: the file cap's error.
                JobError::Pipeline(source)
                    if caps.inline
                        && matches!(source.kind, PipelineErrorKind::OutputTooLarge { .. }) =>
                {
                    JobError::SvgPastInlineLimit { source }
                }
                error => error,
            })
    }

    /// The formats asked for: the SVG as it is, or every format encoded on the blocking pool
    /// under its cap, once the encoders' memory is reserved. Returns the body and the
    /// metadata as JSON.
    async fn encode(
        &self,
        traced: Traced,
        formats: &[Format],
        caps: EncodeCaps,
        cancel: &CancelToken,
        ctx: &runpod::JobContext,
    ) -> Result<(Body, Value), JobError> {
        let Traced {
            output,
            size: (width, height),
            reservation,
        } = traced;
        let metadata = serde_json::to_value(&output.metadata).map_err(JobError::Metadata)?;
        if formats == [Format::Svg] {
            return Ok((Body::Svg(output.svg), metadata));
        }
        // The encoders' memory, now that the SVG's size is known: reserved beside the
        // pipeline's, or (when that has to wait) alone, the pipeline's given back first, so
        // that jobs waiting to encode never hold memory others wait for.
        let needed =
            encode_memory_estimate(formats, width, height, output.svg.len(), caps.max_bytes);
        let held = self
            .reserve_encoding(reservation, needed, formats, ctx)
            .await?;
        let svg = output.svg;
        let encoding = self.encoding.clone();
        let formats = formats.to_vec();
        let cancel = cancel.clone();
        let encoded = ctx
            .spawn_blocking(move || {
                // Held until the blocking work ends, even if the handler stops waiting.
                let _held = held;
                encode_all(&svg, &formats, &encoding, caps, &cancel)
            })
            .await;
        let files = encoded.map_err(|source| JobError::Stopped {
            what: "the output encoders",
            source,
        })??;
        Ok((Body::Files(files), metadata))
    }

    /// The job's result: the outputs inline (the SVG alone in the original result shape), or
    /// uploaded with their URLs.
    async fn respond(
        &self,
        body: Body,
        delivery: Delivery,
        metadata: Value,
        job_id: &str,
        ctx: &runpod::JobContext,
    ) -> Result<Value, JobError> {
        let max_inline_bytes = self.config.output.max_inline_bytes;
        match (body, delivery) {
            (Body::Svg(svg), Delivery::Inline) => {
                if svg.len() > max_inline_bytes {
                    return Err(JobError::OutputTooLarge {
                        what: "the SVG is".to_owned(),
                        bytes: svg.len(),
                        limit: max_inline_bytes,
                    });
                }
                Ok(json!({"svg": svg, "metadata": metadata}))
            }
            (Body::Files(files), Delivery::Inline) => {
                // Base64 of up to the inline limit: on the blocking pool.
                let outputs = ctx
                    .spawn_blocking(move || inline_outputs(files, max_inline_bytes))
                    .await
                    .map_err(|source| JobError::Stopped {
                        what: "writing the inline outputs",
                        source,
                    })??;
                Ok(json!({"outputs": outputs, "metadata": metadata}))
            }
            (body, Delivery::Bucket(uploader)) => {
                let files = match body {
                    Body::Svg(svg) => vec![(Format::Svg, svg.into_bytes())],
                    Body::Files(files) => files,
                };
                let formats: Vec<Format> = files.iter().map(|(format, _)| *format).collect();
                let uploads = files
                    .into_iter()
                    .map(|(format, bytes)| OutputFile {
                        file_name: format!("output.{}", format.extension()),
                        media_type: format.media_type(),
                        bytes: bytes.into(),
                    })
                    .collect();
                let origin = uploader.origin();
                let delivered = uploader
                    .deliver(job_id, uploads, &ctx.cancellation())
                    .await
                    .map_err(|source| JobError::Delivery {
                        origin,
                        source: Box::new(source),
                    })?;
                let mut outputs = Map::new();
                for (format, file) in formats.into_iter().zip(delivered) {
                    ctx.log(format!("uploaded {} ({} bytes)", file.key, file.bytes));
                    outputs.insert(
                        format.name().to_owned(),
                        json!({
                            "media_type": format.media_type(),
                            "bytes": file.bytes,
                            "key": file.key,
                            "url": file.url,
                            "expires_at": file.expires_at,
                        }),
                    );
                }
                Ok(json!({"outputs": outputs, "metadata": metadata}))
            }
        }
    }
}

/// The pipeline's output, the input's size and the memory reservation still held for it.
struct Traced {
    output: Output,
    size: (u32, u32),
    reservation: memory::MemoryReservation,
}

/// Cancels the job's blocking work when the runtime cancels the job (its deadline, or the
/// queue's cancel), for as long as it lives.
struct CancelBridge(tokio::task::JoinHandle<()>);

impl CancelBridge {
    fn new(ctx: &runpod::JobContext, cancel: &CancelToken) -> Self {
        let token = ctx.cancellation();
        let cancel = cancel.clone();
        Self(tokio::spawn(async move {
            token.cancelled().await;
            cancel.cancel();
        }))
    }
}

impl Drop for CancelBridge {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How [`encode_all`] bounds each output.
#[derive(Debug, Clone, Copy)]
struct EncodeCaps {
    /// Inline: the outputs share `max_bytes` (binary ones as base64); else each file has it.
    inline: bool,
    max_bytes: usize,
}

/// Every format asked for, in order; the SVG is the pipeline's own text (not re-parsed).
/// Each encoder runs under the bytes left to it and the job's cancellation, so an output
/// that passes its cap stops there (`OutputTooLarge` naming the format and the limit).
fn encode_all(
    svg: &str,
    formats: &[Format],
    options: &OutputOptions,
    caps: EncodeCaps,
    cancel: &CancelToken,
) -> Result<Vec<(Format, Vec<u8>)>, JobError> {
    let mut files = Vec::with_capacity(formats.len());
    let mut inline_left = caps.max_bytes;
    for &format in formats {
        if cancel.is_cancelled() {
            return Err(PipelineError::new(Phase::Trace, PipelineErrorKind::Cancelled).into());
        }
        let max_bytes = match (caps.inline, format.is_binary()) {
            (false, _) => caps.max_bytes,
            (true, false) => inline_left,
            // Inline binary outputs are base64: 4 characters per 3 bytes.
            (true, true) => inline_left / 4 * 3,
        };
        let limits = EncodeLimits {
            max_bytes,
            cancel: Some(cancel),
        };
        let bytes = match encode_limited(svg, format, options, &limits) {
            Ok(bytes) => bytes,
            Err(OutputError::OverLimit { at_least, .. }) if caps.inline => {
                let mut sizes: Vec<String> = files
                    .iter()
                    .map(|(format, bytes): &(Format, Vec<u8>)| format!("{format} {}", bytes.len()))
                    .collect();
                sizes.push(format!("{format} at least {at_least}"));
                return Err(JobError::OutputTooLarge {
                    what: format!("the inline outputs ({}) are", sizes.join(", ")),
                    bytes: caps.max_bytes - inline_left + at_least,
                    limit: caps.max_bytes,
                });
            }
            Err(OutputError::OverLimit {
                at_least, limit, ..
            }) => {
                return Err(JobError::FileTooLarge {
                    format,
                    at_least,
                    limit,
                })
            }
            Err(source) => return Err(JobError::Encode { format, source }),
        };
        if caps.inline {
            let inlined = if format.is_binary() {
                bytes.len().div_ceil(3) * 4
            } else {
                bytes.len()
            };
            inline_left = inline_left.saturating_sub(inlined);
        }
        files.push((format, bytes));
    }
    Ok(files)
}

/// The inline `outputs` object: text formats as text, binary ones as base64; refused when
/// the total is over `limit`.
fn inline_outputs(
    files: Vec<(Format, Vec<u8>)>,
    limit: usize,
) -> Result<Map<String, Value>, JobError> {
    let mut outputs = Map::new();
    let mut sizes = Vec::with_capacity(files.len());
    let mut total = 0usize;
    for (format, bytes) in files {
        let size = bytes.len();
        let (key, data) = match (format.is_binary(), String::from_utf8(bytes)) {
            (false, Ok(text)) => ("text", text),
            (_, Ok(text)) => (
                "base64",
                base64::engine::general_purpose::STANDARD.encode(text),
            ),
            (_, Err(error)) => (
                "base64",
                base64::engine::general_purpose::STANDARD.encode(error.into_bytes()),
            ),
        };
        total += data.len();
        sizes.push(format!("{format} {}", data.len()));
        outputs.insert(
            format.name().to_owned(),
            json!({"media_type": format.media_type(), "bytes": size, key: data}),
        );
    }
    if total > limit {
        return Err(JobError::OutputTooLarge {
            what: format!("the inline outputs ({}) are", sizes.join(", ")),
            bytes: total,
            limit,
        });
    }
    Ok(outputs)
}

impl runpod::Handler for VectorizeHandler {
    async fn handle(
        &self,
        job: runpod::Job,
        ctx: runpod::JobContext,
    ) -> Result<Value, runpod::HandlerError> {
        self.process(job, &ctx).await.map_err(|error| {
            tracing::warn!(error_type = %error.error_type(), "job failed: {error}");
            runpod::HandlerError::from(error)
        })
    }

    fn job_deadline(&self, job: &runpod::Job) -> Option<Duration> {
        request::requested_deadline(&job.input)
    }
}
