//! `handler.toml` (then `GEMINI3_HANDLER__*` variables): the worker runtime's tunables,
//! deserialised straight into `runpod::WorkerConfig` (serde's remote derive below names the
//! keys the file may set; the others keep the runtime's defaults), and the handler's input and
//! output limits.

use std::num::NonZeroUsize;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::loader::{self, Layer};
use super::{SettingsError, HANDLER_ENV_PREFIX};
use crate::fields;
use crate::handler::{InputLimits, OutputLimits};

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
