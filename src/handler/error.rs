//! Job failures: one closed type, [`JobError`], for everything that can fail a job, and one
//! mapping, [`JobError::error_type`], to RunPod's `error_type` strings ([`ErrorType`]).
//!
//! Both matches are exhaustive and have no wildcard, down to the kinds of the errors that
//! they wrap: a new variant (here, in the pipeline's, the output encoders' or delivery's
//! errors) does not compile until it is mapped. The wrapped errors are kept as sources, not
//! flattened to strings; the conversion to [`runpod::HandlerError`] (the wire form) happens in
//! one place, `From<JobError>`.

use tokio::task::JoinError;

use super::request::RequestError;
use crate::delivery::{BucketOrigin, DeliveryError};
use crate::download::DownloadError;
use crate::output::{Format, OutputError};
use crate::pipeline::model::ModelError;
use crate::pipeline::{PipelineError, PipelineErrorKind};

/// How to get results past the inline limit, for `OutputTooLarge` messages.
pub const BUCKET_HINT: &str = "configure a bucket to receive presigned URLs instead (BUCKET_ENDPOINT_URL, BUCKET_ACCESS_KEY_ID and BUCKET_SECRET_ACCESS_KEY on the endpoint, or the job's s3Config with endpointUrl, accessId, accessSecret and bucketName)";

/// RunPod's `error_type` values (DESIGN section 4), typed by the runtime crate.
pub use runpod::ErrorType;

/// Everything that fails a job.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The job input does not parse or validate.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// `image_url` did not deliver an image.
    #[error(transparent)]
    Download(#[from] DownloadError),
    /// The pipeline (decode included) failed.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// The image can never fit the worker's memory budget.
    #[error("image: {width}x{height} needs an estimated {needed_mb} MB to process, more than this worker's memory budget of {budget_mb} MB (input.memory_budget_mb); send a smaller image")]
    MemoryNeverFits {
        /// Image width.
        width: u32,
        /// Image height.
        height: u32,
        /// The job's estimate.
        needed_mb: u64,
        /// The worker's budget.
        budget_mb: u64,
    },
    /// The encoders of the formats asked for can never fit the worker's memory budget.
    #[error("formats: writing {formats} needs an estimated {needed_mb} MB, more than this worker's memory budget of {budget_mb} MB (input.memory_budget_mb); ask for fewer formats, or shrink the output with fewer colours or a larger trace.filter_speckle")]
    EncodingNeverFits {
        /// The formats asked for.
        formats: String,
        /// The encoders' estimate.
        needed_mb: u64,
        /// The worker's budget.
        budget_mb: u64,
    },
    /// An output format could not be written.
    #[error("formats: writing the {format} output failed: {source}")]
    Encode {
        /// The format.
        format: Format,
        /// Why.
        source: OutputError,
    },
    /// The inline outputs are over `output.max_inline_bytes` and no bucket is configured.
    #[error("{what} {bytes} bytes, over output.max_inline_bytes = {limit}; {BUCKET_HINT}, or shrink the output with fewer colours (max_colors or a smaller palette), a larger trace.filter_speckle, or trace.mode = \"polygon\"")]
    OutputTooLarge {
        /// What is too large (`the SVG is`, `the inline outputs (svg 10, pdf 20) are`).
        what: String,
        /// Their size as returned.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// An uploaded output would pass `output.max_file_bytes`; its encoder stopped there.
    #[error("formats: the {format} output would be over output.max_file_bytes = {limit} (at least {at_least} bytes); shrink it with fewer colours (max_colors or a smaller palette), a larger trace.filter_speckle, or trace.mode = \"polygon\"")]
    FileTooLarge {
        /// The format.
        format: Format,
        /// What it had reached when it stopped.
        at_least: usize,
        /// The cap.
        limit: usize,
    },
    /// The SVG grew past `output.max_inline_bytes` while tracing, and no bucket is configured.
    #[error("{source}; or {BUCKET_HINT}")]
    SvgPastInlineLimit {
        /// The pipeline's error (phase 4 stopped at the limit).
        source: PipelineError,
    },
    /// Uploading the outputs failed.
    #[error("{source}")]
    Delivery {
        /// Who configured the bucket (a job's own settings are its input to fix).
        origin: BucketOrigin,
        /// Why.
        source: Box<DeliveryError>,
    },
    /// Blocking work on the pool panicked or was cancelled.
    #[error("{what} stopped unexpectedly: {source}")]
    Stopped {
        /// The work (`the pipeline`, `parsing the job input`).
        what: &'static str,
        /// The join error.
        source: JoinError,
    },
    /// The metadata does not serialise.
    #[error("metadata does not serialise: {0}")]
    Metadata(#[source] serde_json::Error),
}

impl JobError {
    /// The one mapping to RunPod's `error_type`.
    pub fn error_type(&self) -> ErrorType {
        match self {
            JobError::Request(_) | JobError::Download(_) | JobError::MemoryNeverFits { .. } => {
                ErrorType::InvalidInput
            }
            JobError::Pipeline(error) => pipeline_error_type(&error.kind),
            JobError::Encode { source, .. } => output_error_type(source),
            JobError::OutputTooLarge { .. }
            | JobError::FileTooLarge { .. }
            | JobError::EncodingNeverFits { .. }
            | JobError::SvgPastInlineLimit { .. } => ErrorType::OutputTooLarge,
            JobError::Delivery { origin, source } => delivery_error_type(source, *origin),
            JobError::Stopped { .. } | JobError::Metadata(_) => ErrorType::Internal,
        }
    }
}

fn pipeline_error_type(kind: &PipelineErrorKind) -> ErrorType {
    match kind {
        PipelineErrorKind::InvalidInput { .. } => ErrorType::InvalidInput,
        PipelineErrorKind::Cancelled => ErrorType::DeadlineExceeded,
        PipelineErrorKind::Model(ModelError::Cancelled) => ErrorType::DeadlineExceeded,
        PipelineErrorKind::Model(_) => ErrorType::ModelError,
        PipelineErrorKind::GateFailed { .. } => ErrorType::PhaseFailed,
        PipelineErrorKind::OutputTooLarge { .. } => ErrorType::OutputTooLarge,
        PipelineErrorKind::Internal(_) => ErrorType::Internal,
    }
}

fn output_error_type(error: &OutputError) -> ErrorType {
    match error {
        // The rendering of this image would be too large: the client's image to shrink.
        OutputError::TooLarge { .. } | OutputError::OverLimit { .. } => ErrorType::OutputTooLarge,
        OutputError::Cancelled { .. } => ErrorType::DeadlineExceeded,
        // Names and options are checked when the request is parsed; reaching the encoder
        // with one is the worker's fault, as is an SVG of ours that a format cannot carry.
        OutputError::UnknownFormat { .. }
        | OutputError::InvalidOption { .. }
        | OutputError::Svg(_)
        | OutputError::Unsupported { .. }
        | OutputError::Encode { .. } => ErrorType::Internal,
    }
}

fn delivery_error_type(error: &DeliveryError, origin: BucketOrigin) -> ErrorType {
    if error.is_job_input(origin) {
        return ErrorType::InvalidInput;
    }
    match error {
        DeliveryError::Cancelled { .. } => ErrorType::DeadlineExceeded,
        DeliveryError::Address { .. }
        | DeliveryError::Expiry { .. }
        | DeliveryError::Client { .. }
        | DeliveryError::Credentials { .. }
        | DeliveryError::NoSuchBucket { .. }
        | DeliveryError::Upload { .. }
        | DeliveryError::Presign { .. }
        | DeliveryError::Timeout { .. } => ErrorType::Internal,
    }
}

impl From<JobError> for runpod::HandlerError {
    fn from(error: JobError) -> Self {
        runpod::HandlerError::new(error.error_type(), error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Phase;

    #[test]
    fn wire_strings_are_stable() {
        let all = [
            (ErrorType::InvalidInput, "InvalidInput"),
            (ErrorType::DeadlineExceeded, "DeadlineExceeded"),
            (ErrorType::PhaseFailed, "PhaseFailed"),
            (ErrorType::ModelError, "ModelError"),
            (ErrorType::OutputTooLarge, "OutputTooLarge"),
            (ErrorType::Internal, "Internal"),
        ];
        for (kind, text) in all {
            assert_eq!(kind.as_str(), text);
        }
    }

    #[test]
    fn maps_each_failure_to_its_type_and_keeps_the_message() {
        let cases: Vec<(JobError, &str, &str)> = vec![
            (
                PipelineError::new(Phase::Decode, PipelineErrorKind::Cancelled).into(),
                "DeadlineExceeded",
                "cancelled",
            ),
            (
                PipelineError::new(
                    Phase::Trace,
                    PipelineErrorKind::OutputTooLarge { limit: 10 },
                )
                .into(),
                "OutputTooLarge",
                "past 10 bytes",
            ),
            (
                JobError::MemoryNeverFits {
                    width: 9000,
                    height: 9000,
                    needed_mb: 5000,
                    budget_mb: 2000,
                },
                "InvalidInput",
                "image: 9000x9000 needs an estimated 5000 MB",
            ),
            (
                JobError::OutputTooLarge {
                    what: "the SVG is".to_owned(),
                    bytes: 30,
                    limit: 20,
                },
                "OutputTooLarge",
                "BUCKET_ENDPOINT_URL",
            ),
            (
                JobError::Encode {
                    format: Format::Png,
                    source: OutputError::TooLarge {
                        width: 1,
                        height: 2,
                        max_pixels: 1,
                    },
                },
                "OutputTooLarge",
                "formats: writing the png output failed",
            ),
            (
                JobError::Delivery {
                    origin: BucketOrigin::Job,
                    source: Box::new(DeliveryError::Cancelled {
                        endpoint: "http://s".to_owned(),
                        bucket: "b".to_owned(),
                    }),
                },
                "DeadlineExceeded",
                "was cancelled",
            ),
        ];
        for (error, error_type, fragment) in cases {
            let wire = runpod::HandlerError::from(error);
            assert_eq!(wire.error_type.as_str(), error_type, "{}", wire.message);
            assert!(wire.message.contains(fragment), "{}", wire.message);
        }
    }

    #[test]
    fn keeps_sources() {
        let error = JobError::Encode {
            format: Format::Pdf,
            source: OutputError::Svg("bad".to_owned()),
        };
        let source = std::error::Error::source(&error).expect("a source");
        assert_eq!(source.to_string(), "the SVG does not parse: bad");
    }
}
