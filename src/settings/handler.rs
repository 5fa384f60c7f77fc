//! `handler.toml` (then `GEMINI3_HANDLER__*` variables): the worker runtime's tunables,
//! deserialised straight into `runpod::WorkerConfig` (serde's remote derive below names the
//! keys the file may set; the others keep the runtime's defaults), and the handler's input and
//! output limits.

use std::num::NonZeroUsize;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::loader::{self, Layer};
use super::{fields, SettingsError, HANDLER_ENV_PREFIX};
use crate::pipeline::decode::DecodeLimits;

/// Validated `handler.toml`.
#[derive(Debug, Clone, Deserialize)]
pub struct HandlerSettings {
    /// The runtime's tunables (`[worker]`).
    #[serde(with = "WorkerDef")]
    pub worker: runpod::WorkerConfig,
    /// Input limits.
    pub input: InputLimits,
    /// Output limits.
    pub output: OutputLimits,
}

/// `[worker]`: the keys of `runpod::WorkerConfig` that `handler.toml` sets, in the file's
/// units. Keys the file does not name keep `runpod::WorkerConfig::default()`.
#[derive(Deserialize)]
#[serde(
    remote = "runpod::WorkerConfig",
    default = "runpod::WorkerConfig::default"
)]
struct WorkerDef {
    #[serde(deserialize_with = "concurrency")]
    concurrency: runpod::Concurrency,
    #[serde(
        rename = "job_deadline_s",
        deserialize_with = "fields::seconds::<_, 86_400>"
    )]
    job_deadline: Duration,
    #[serde(
        rename = "deadline_grace_s",
        deserialize_with = "fields::seconds::<_, 3_600>"
    )]
    deadline_grace: Duration,
    #[serde(deserialize_with = "fields::positive::<_, 100_000>")]
    log_max_lines: NonZeroUsize,
    #[serde(deserialize_with = "fields::positive::<_, { 16 << 20 }>")]
    log_max_bytes: NonZeroUsize,
    #[serde(
        rename = "progress_interval_ms",
        deserialize_with = "fields::millis::<_, 60_000>"
    )]
    progress_interval: Duration,
    #[serde(
        rename = "drain_timeout_s",
        deserialize_with = "fields::seconds::<_, 3_600>"
    )]
    drain_timeout: Duration,
    #[serde(skip)]
    take_timeout: Duration,
    #[serde(skip)]
    post_timeout: Duration,
    #[serde(skip)]
    post_attempts: NonZeroUsize,
    #[serde(skip)]
    result_retry_grace: Duration,
    #[serde(skip)]
    result_backoff: Duration,
    #[serde(skip)]
    result_backoff_cap: Duration,
    #[serde(skip)]
    max_result_bytes: usize,
    #[serde(skip)]
    refresh_worker: bool,
    #[serde(skip)]
    return_aggregate_stream: bool,
    #[serde(skip)]
    registry_bound: NonZeroUsize,
    #[serde(skip)]
    api_body_limit: usize,
    #[serde(skip)]
    api_request_timeout: Duration,
}

fn concurrency<'de, D>(deserializer: D) -> Result<runpod::Concurrency, D::Error>
where
    D: serde::Deserializer<'de>,
{
    fields::positive::<D, 256>(deserializer).map(runpod::Concurrency::Fixed)
}

/// Input limits from `handler.toml [input]`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct InputLimits {
    /// Largest image payload, bytes.
    #[serde(deserialize_with = "fields::int::<_, u64, 1, { 1 << 32 }>")]
    pub max_image_bytes: u64,
    /// Largest image, pixels.
    #[serde(deserialize_with = "fields::int::<_, u64, 1, { 1 << 32 }>")]
    pub max_pixels: u64,
    /// `image_url` download timeout.
    #[serde(
        rename = "download_timeout_s",
        deserialize_with = "fields::seconds::<_, 600>"
    )]
    pub download_timeout: Duration,
    /// Memory the worker's jobs may hold at once (their estimates), bytes. In the file, MiB:
    /// room for one job at the default working size at least, 4 TiB at most.
    #[serde(
        rename = "memory_budget_mb",
        deserialize_with = "fields::mebibytes::<_, 512, { 4 << 20 }>"
    )]
    pub memory_budget_bytes: u64,
}

impl From<&InputLimits> for DecodeLimits {
    fn from(limits: &InputLimits) -> Self {
        Self {
            max_bytes: limits.max_image_bytes,
            max_pixels: limits.max_pixels,
        }
    }
}

/// Output limits from `handler.toml [output]`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct OutputLimits {
    /// Largest inline SVG, bytes.
    #[serde(deserialize_with = "fields::int::<_, usize, 1, 20_000_000>")]
    pub max_inline_bytes: usize,
    /// Largest uploaded output file (each format, the SVG included), bytes.
    #[serde(deserialize_with = "fields::int::<_, usize, 1, 2_000_000_000>")]
    pub max_file_bytes: usize,
    /// How long the presigned URL of an uploaded output stays valid (SigV4 allows 7 days).
    #[serde(
        rename = "presign_expiry_s",
        deserialize_with = "fields::seconds::<_, 604_800>"
    )]
    pub presign_expiry: Duration,
    /// One upload request's timeout.
    #[serde(
        rename = "upload_timeout_s",
        deserialize_with = "fields::seconds::<_, 3600>"
    )]
    pub upload_timeout: Duration,
    /// Retries of a failed upload request (5xx, connection errors, timeouts).
    #[serde(deserialize_with = "fields::int::<_, usize, 0, 10>")]
    pub upload_retries: usize,
}

impl HandlerSettings {
    /// Reads `handler.toml` under `root` (or `path`), then `GEMINI3_HANDLER__*` variables, and
    /// validates.
    pub fn load(
        root: &Path,
        path: Option<&Path>,
        env: &[(String, String)],
    ) -> Result<HandlerSettings, SettingsError> {
        let (file, display) = match path {
            Some(path) => (path.to_path_buf(), path.display().to_string()),
            None => (root.join("handler.toml"), "handler.toml".to_owned()),
        };
        let layers = vec![
            Layer::file(&file, display)?,
            Layer::environment(env, HANDLER_ENV_PREFIX),
        ];
        loader::load::<HandlerSettings>(layers).map(|(settings, _)| settings)
    }
}
