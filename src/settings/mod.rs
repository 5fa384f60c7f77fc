//! Configuration: the only module that reads config files or environment variables.
//!
//! Two parts. [`loader`] is generic: it reads the layers (files, `PREFIX__SECTION__KEY`
//! variables, command-line overrides) as TOML tables, merges them lowest first and
//! deserialises the result once into a schema; it knows no key. The schemas are typed:
//! `pipeline.rs` (`configs/*.toml` into the pipeline's own option types), `hardware.rs`
//! (`[hardware]` into [`EngineSettings`]) and `handler.rs` (`handler.toml` into
//! `runpod::WorkerConfig` and the handler's limits). Each key's range or set of values is
//! written once, on its field ([`fields`]); enums are serde enums. Every error names where the
//! value came from, the full key, the bad value and what is allowed; a key the schema does not
//! have is refused, naming the file or variable that set it.
//!
//! Layers, lowest first: `configs/default.toml`, the profile (`GEMINI3_PROFILE`, or
//! `rtx5090` when `GPU_MODEL=RTX_5090`), `--config FILE`, `GEMINI3__SECTION__KEY` variables,
//! then command-line overrides. `handler.toml` is loaded the same way with the
//! `GEMINI3_HANDLER__` prefix.
//!
//! Adding a key: a field on the section's type (with its range as `deserialize_with`), its
//! default and comment in `configs/default.toml` (or `handler.toml`); nothing else.

mod handler;
mod hardware;
mod loader;
mod pipeline;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use crate::pipeline::options::{
    CleanSettings, IouRetrySettings, PipelineSettings, QuantizeSettings, SteerSettings, TraceMode,
    TraceOptions,
};
pub use handler::HandlerSettings;
pub use pipeline::Settings;

/// Environment prefix of pipeline settings (`GEMINI3__HARDWARE__DEVICE=cpu`).
pub const ENV_PREFIX: &str = "GEMINI3";
/// Environment prefix of handler settings (`GEMINI3_HANDLER__WORKER__CONCURRENCY=2`).
pub const HANDLER_ENV_PREFIX: &str = "GEMINI3_HANDLER";

/// A configuration error: where the value came from and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {detail}")]
pub struct SettingsError {
    /// The file or environment variable the value came from.
    pub origin: String,
    /// Key, value and what is allowed.
    pub detail: String,
}

impl SettingsError {
    fn new(origin: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            origin: origin.into(),
            detail: detail.into(),
        }
    }
}

/// What [`Settings::load`] reads, gathered by the binary's edge.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Project root: holds `configs/`, `handler.toml` and `models/`.
    pub root: PathBuf,
    /// `--config FILE`.
    pub overlay: Option<PathBuf>,
    /// The process environment (or a literal list in tests).
    pub env: Vec<(String, String)>,
    /// Command-line overrides, as full keys (`phase3.max_colors`) and TOML values.
    pub overrides: Vec<(String, toml::Value)>,
}

impl LoadOptions {
    /// Options over the real process environment.
    pub fn from_process(root: PathBuf, overlay: Option<PathBuf>) -> Self {
        Self {
            root,
            overlay,
            env: std::env::vars().collect(),
            overrides: Vec::new(),
        }
    }

    fn env_value(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Finds the project root: `GEMINI3_ROOT`, else the first of the current directory and the
/// executable's ancestors that holds `configs/default.toml`, else the source tree.
pub fn find_root(env: &[(String, String)]) -> PathBuf {
    if let Some((_, root)) = env.iter().find(|(k, _)| k == "GEMINI3_ROOT") {
        return PathBuf::from(root);
    }
    let mut candidates = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        candidates.push(cwd);
    }
    if let Ok(exe) = std::env::current_exe() {
        candidates.extend(exe.ancestors().skip(1).map(Path::to_path_buf));
    }
    candidates
        .into_iter()
        .find(|dir| dir.join("configs/default.toml").is_file())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// Whether an environment switch is on: `1`, `true`, `yes` or `on`, any case, trimmed.
pub fn truthy(value: Option<&str>) -> bool {
    matches!(
        value.map(|v| v.trim().to_ascii_lowercase()).as_deref(),
        Some("1" | "true" | "yes" | "on")
    )
}
