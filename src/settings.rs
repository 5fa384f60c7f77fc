//! Configuration: the only module that reads config files or environment variables.
//!
//! Two stages, as in ripgrep's flag handling. First the layers are read and merged with the
//! `config` crate into raw structs that mirror the files (`deny_unknown_fields`; each layer
//! is also checked for unknown keys so the error names the file or variable). Then
//! [`Settings::load`] validates the raw values once into typed structs (`Duration`, closed
//! enums, checked paths, [`Palette`]) that the rest of the program receives. Every error names
//! where the value came from, the full key, the bad value and what is allowed.
//!
//! Layers, lowest first: `configs/default.toml`, the profile (`GEMINI3_PROFILE`, or
//! `rtx5090` when `GPU_MODEL=RTX_5090`), `--config FILE`, `GEMINI3__SECTION__KEY` variables,
//! then command-line overrides. `handler.toml` is loaded the same way with the
//! `GEMINI3_HANDLER__` prefix.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::pipeline::alpha::{self, AlphaMode};
use crate::pipeline::decode::DecodeLimits;
use crate::pipeline::palette::{Palette, MAX_COLORS};

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

// ---------------------------------------------------------------------------------------------
// Raw structs: close to the files. Defaults exist only to derive the key schema.

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    pipeline: RawPipeline,
    hardware: RawHardware,
    phase1: RawPhase1,
    phase2: RawPhase2,
    phase3: RawPhase3,
    phase4: RawPhase4,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    working_size: i64,
    pad_multiple: i64,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawHardware {
    device: String,
    require_gpu: bool,
    device_id: i64,
    onnxruntime: String,
    intra_threads: i64,
    warmup: bool,
    disable_tensorrt: bool,
    tensorrt: RawTensorRt,
    cuda: RawCuda,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawTensorRt {
    fp16: bool,
    engine_cache: bool,
    engine_cache_path: String,
    timing_cache_path: String,
    fallback_cache_path: String,
    builder_optimization_level: i64,
    max_workspace_bytes: i64,
    cuda_graph: bool,
    profile_min_side: i64,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawCuda {
    cuda_graph: bool,
    memory_limit_bytes: i64,
    conv_algorithm_search: String,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawPhase1 {
    enabled: bool,
    model: String,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawPhase2 {
    enabled: bool,
    model: String,
    strength: f64,
    seed: i64,
    iou_retry: RawIouRetry,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawIouRetry {
    max_retries: i64,
    iou_threshold: f64,
    allow_skip_on_failure: bool,
    strength_decay: f64,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawPhase3 {
    model: String,
    default_palette: Vec<String>,
    max_colors: i64,
    kmeans_iterations: i64,
    kmeans_sample: i64,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawPhase4 {
    mode: String,
    filter_speckle: i64,
    corner_threshold: f64,
    fit_tolerance: f64,
    path_precision: i64,
    alpha: String,
    alpha_levels: i64,
    supersample: i64,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawHandler {
    worker: RawWorker,
    input: RawInput,
    output: RawOutput,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawWorker {
    concurrency: i64,
    job_deadline_s: f64,
    deadline_grace_s: f64,
    log_max_lines: i64,
    log_max_bytes: i64,
    progress_interval_ms: i64,
    drain_timeout_s: f64,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawInput {
    max_image_bytes: i64,
    max_pixels: i64,
    download_timeout_s: f64,
    memory_budget_mb: i64,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawOutput {
    max_inline_bytes: i64,
}

// ---------------------------------------------------------------------------------------------
// Typed settings: what the rest of the program receives.

/// Validated pipeline and hardware settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The project root that relative paths were resolved against.
    pub root: PathBuf,
    /// The profile overlay in use, if any.
    pub profile: Option<String>,
    /// The layers that were read, lowest first (for the start-up log).
    pub sources: Vec<String>,
    /// Everything the pipeline needs.
    pub pipeline: PipelineSettings,
    /// Everything the ONNX Runtime engine needs.
    pub engine: EngineSettings,
}

pub use crate::pipeline::options::{
    CleanSettings, IouRetrySettings, PipelineSettings, QuantizeSettings, SteerSettings, TraceMode,
    TraceOptions,
};

/// The execution device asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// TensorRT, then CUDA, then CPU.
    Auto,
    /// TensorRT (CUDA for what TensorRT does not take), then CPU unless `require_gpu`.
    TensorRt,
    /// CUDA, then CPU unless `require_gpu`.
    Cuda,
    /// CPU only.
    Cpu,
}

/// How cuDNN picks convolution algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvAlgorithmSearch {
    /// Cheap heuristics (fast start-up).
    Heuristic,
    /// Benchmarks every algorithm (slow first run, fastest kernels).
    Exhaustive,
    /// cuDNN's default algorithm.
    Default,
}

/// ONNX Runtime and execution-provider settings.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// The device chain asked for.
    pub device: Device,
    /// A CPU fallback is a start-up failure.
    pub require_gpu: bool,
    /// CUDA device ordinal.
    pub device_id: i32,
    /// Explicit library path (`hardware.onnxruntime`); must exist when given.
    pub onnxruntime: Option<PathBuf>,
    /// `ORT_DYLIB_PATH` from the environment; must exist when given.
    pub ort_dylib_path: Option<PathBuf>,
    /// Project root, where `.ort/lib` is searched.
    pub root: PathBuf,
    /// Intra-op threads; `None` lets ONNX Runtime choose.
    pub intra_threads: Option<NonZeroUsize>,
    /// Warm every session up at start-up.
    pub warmup: bool,
    /// TensorRT dropped from the chain (`hardware.disable_tensorrt` or `DISABLE_TENSORRT=1`).
    pub disable_tensorrt: bool,
    /// TensorRT options.
    pub tensorrt: TensorRtSettings,
    /// CUDA options.
    pub cuda: CudaSettings,
    /// Longest padded side the models see (the TensorRT profile's max and opt).
    pub max_side: u32,
}

/// TensorRT execution-provider options.
#[derive(Debug, Clone)]
pub struct TensorRtSettings {
    /// fp16 kernels.
    pub fp16: bool,
    /// Serialised engines cached on disk.
    pub engine_cache: bool,
    /// Engine cache folder.
    pub engine_cache_path: PathBuf,
    /// Timing cache folder.
    pub timing_cache_path: PathBuf,
    /// Used when the cache folders cannot be created.
    pub fallback_cache_path: PathBuf,
    /// 0..=5.
    pub builder_optimization_level: u8,
    /// Tactic workspace, bytes.
    pub max_workspace_bytes: u64,
    /// CUDA graphs.
    pub cuda_graph: bool,
    /// Smallest side of the shape profile.
    pub profile_min_side: u32,
}

/// CUDA execution-provider options.
#[derive(Debug, Clone)]
pub struct CudaSettings {
    /// CUDA graphs.
    pub cuda_graph: bool,
    /// Arena limit, bytes.
    pub memory_limit_bytes: Option<u64>,
    /// cuDNN convolution algorithm search.
    pub conv_algorithm_search: ConvAlgorithmSearch,
}

/// Validated `handler.toml`.
#[derive(Debug, Clone)]
pub struct HandlerSettings {
    /// Worker tunables (turned into `runpod::WorkerConfig`).
    pub worker: WorkerSettings,
    /// Input limits.
    pub input: InputLimits,
    /// Output limits.
    pub output: OutputLimits,
}

/// Worker tunables from `handler.toml [worker]`.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Jobs at once.
    pub concurrency: NonZeroUsize,
    /// Hard deadline per job.
    pub job_deadline: Duration,
    /// Grace after the deadline before the worker is marked for refresh.
    pub deadline_grace: Duration,
    /// Log ring bound, lines.
    pub log_max_lines: NonZeroUsize,
    /// Log ring bound, bytes.
    pub log_max_bytes: NonZeroUsize,
    /// Progress coalescing interval.
    pub progress_interval: Duration,
    /// SIGTERM drain bound.
    pub drain_timeout: Duration,
}

/// Input limits from `handler.toml [input]`.
#[derive(Debug, Clone, Copy)]
pub struct InputLimits {
    /// Largest image payload, bytes.
    pub max_image_bytes: u64,
    /// Largest image, pixels.
    pub max_pixels: u64,
    /// `image_url` download timeout.
    pub download_timeout: Duration,
    /// Memory the worker's jobs may hold at once (their estimates), bytes.
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
#[derive(Debug, Clone, Copy)]
pub struct OutputLimits {
    /// Largest inline SVG, bytes.
    pub max_inline_bytes: usize,
}

// ---------------------------------------------------------------------------------------------
// Loading.

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

/// One configuration layer, kept to check unknown keys and to find where a value came from.
struct Layer {
    origin: String,
    /// For environment layers: full key -> variable name.
    env_names: BTreeMap<String, String>,
    table: toml::Table,
}

struct Layers {
    layers: Vec<Layer>,
}

impl Layers {
    /// The origin of the last layer that sets `key` (dotted).
    fn origin_of(&self, key: &str) -> String {
        for layer in self.layers.iter().rev() {
            if lookup(&layer.table, key).is_some() {
                return layer
                    .env_names
                    .get(key)
                    .cloned()
                    .unwrap_or_else(|| layer.origin.clone());
            }
        }
        "configuration".to_owned()
    }

    fn sources(&self) -> Vec<String> {
        self.layers
            .iter()
            .filter(|l| !l.table.is_empty())
            .map(|l| l.origin.clone())
            .collect()
    }
}

fn lookup<'a>(table: &'a toml::Table, key: &str) -> Option<&'a toml::Value> {
    let mut parts = key.split('.');
    let mut value = table.get(parts.next()?)?;
    for part in parts {
        value = value.as_table()?.get(part)?;
    }
    Some(value)
}

fn insert(table: &mut toml::Table, key: &str, value: toml::Value) {
    let parts: Vec<&str> = key.split('.').collect();
    let mut current = table;
    for part in &parts[..parts.len() - 1] {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        current = entry.as_table_mut().expect("entry was just made a table");
    }
    current.insert(parts[parts.len() - 1].to_owned(), value);
}

/// Reports the first key of `table` that the schema does not have.
fn check_keys(
    table: &toml::Table,
    schema: &toml::Table,
    prefix: &str,
    layer: &Layer,
) -> Result<(), SettingsError> {
    for (key, value) in table {
        let full = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let origin = || {
            layer
                .env_names
                .get(&full)
                .cloned()
                .unwrap_or_else(|| layer.origin.clone())
        };
        match schema.get(key) {
            None => return Err(SettingsError::new(origin(), format!("{full}: unknown key"))),
            Some(toml::Value::Table(sub_schema)) => match value {
                toml::Value::Table(sub) => check_keys(sub, sub_schema, &full, layer)?,
                other => {
                    return Err(SettingsError::new(
                        origin(),
                        format!("{full}: {other} is not a table of settings"),
                    ))
                }
            },
            Some(_) => {}
        }
    }
    Ok(())
}

fn read_file_layer(path: &Path, display: String) -> Result<Layer, SettingsError> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| SettingsError::new(display.clone(), format!("cannot read: {error}")))?;
    let table: toml::Table = toml::from_str(&text)
        .map_err(|error| SettingsError::new(display.clone(), format!("invalid TOML: {error}")))?;
    Ok(Layer {
        origin: display,
        env_names: BTreeMap::new(),
        table,
    })
}

/// Environment variables `PREFIX__A__B=v` as a layer with key `a.b`. Values are parsed as
/// TOML scalars when they look like one (numbers, booleans), else kept as strings; a value
/// with commas for a list-valued key becomes a list.
fn env_layer(env: &[(String, String)], prefix: &str, schema: &toml::Table) -> Layer {
    let mut table = toml::Table::new();
    let mut env_names = BTreeMap::new();
    let head = format!("{prefix}__");
    for (name, raw) in env {
        let Some(rest) = name.strip_prefix(&head) else {
            continue;
        };
        let key = rest.to_ascii_lowercase().replace("__", ".");
        let is_list = matches!(lookup(schema, &key), Some(toml::Value::Array(_)));
        let value = if is_list {
            toml::Value::Array(
                raw.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| toml::Value::String(s.to_owned()))
                    .collect(),
            )
        } else {
            parse_scalar(raw)
        };
        insert(&mut table, &key, value);
        env_names.insert(key, name.clone());
    }
    Layer {
        origin: format!("{prefix}__* environment"),
        env_names,
        table,
    }
}

fn parse_scalar(raw: &str) -> toml::Value {
    if let Ok(value) = raw.parse::<i64>() {
        return toml::Value::Integer(value);
    }
    if let Ok(value) = raw.parse::<f64>() {
        if raw.contains(['.', 'e', 'E']) {
            return toml::Value::Float(value);
        }
    }
    match raw {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(raw.to_owned()),
    }
}

/// Merges the layers with the `config` crate and deserialises the raw struct.
fn merge<R: DeserializeOwned + Serialize + Default>(
    layers: Vec<Layer>,
) -> Result<(R, Layers), SettingsError> {
    let schema = schema_of::<R>();
    for layer in &layers {
        check_keys(&layer.table, &schema, "", layer)?;
    }
    let mut builder = config::Config::builder();
    for layer in &layers {
        let text = toml::to_string(&layer.table).map_err(|error| {
            SettingsError::new(layer.origin.clone(), format!("cannot re-encode: {error}"))
        })?;
        builder = builder.add_source(config::File::from_str(&text, config::FileFormat::Toml));
    }
    let layers = Layers { layers };
    let merged = builder
        .build()
        .map_err(|error| SettingsError::new("configuration", error.to_string()))?;
    let raw = merged.try_deserialize::<R>().map_err(|error| {
        let message = error.to_string();
        // The config crate names the key in its message ("... for key `a.b`"): use it to name
        // the layer that set it.
        let origin = message
            .split("for key `")
            .nth(1)
            .and_then(|rest| rest.split('`').next())
            .map(|key| layers.origin_of(key))
            .unwrap_or_else(|| "configuration".to_owned());
        SettingsError::new(origin, message)
    })?;
    Ok((raw, layers))
}

fn schema_of<R: Serialize + Default>() -> toml::Table {
    match toml::Value::try_from(R::default()) {
        Ok(toml::Value::Table(table)) => table,
        _ => unreachable!("raw settings serialise to a table"),
    }
}

/// The name of the profile to apply: `GEMINI3_PROFILE`, else `rtx5090` for
/// `GPU_MODEL=RTX_5090`.
fn profile_name(options: &LoadOptions) -> Option<String> {
    if let Some(profile) = options.env_value("GEMINI3_PROFILE") {
        if !profile.is_empty() {
            return Some(profile.to_owned());
        }
    }
    match options.env_value("GPU_MODEL") {
        Some(model) if model.eq_ignore_ascii_case("RTX_5090") => Some("rtx5090".to_owned()),
        _ => None,
    }
}

fn truthy(value: Option<&str>) -> bool {
    matches!(
        value.map(|v| v.trim().to_ascii_lowercase()).as_deref(),
        Some("1" | "true" | "yes" | "on")
    )
}

impl Settings {
    /// Reads every layer and validates the result. Invalid settings stop start-up.
    pub fn load(options: &LoadOptions) -> Result<Settings, SettingsError> {
        let root = &options.root;
        let mut layers = vec![read_file_layer(
            &root.join("configs/default.toml"),
            "configs/default.toml".to_owned(),
        )?];
        let profile = profile_name(options);
        if let Some(name) = &profile {
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            let path = root.join("configs").join(format!("{name}.toml"));
            if !valid || !path.is_file() {
                return Err(SettingsError::new(
                    "GEMINI3_PROFILE",
                    format!(
                        "profile {name:?} has no file configs/{name}.toml (known: {})",
                        known_profiles(root).join(", ")
                    ),
                ));
            }
            layers.push(read_file_layer(&path, format!("configs/{name}.toml"))?);
        }
        if let Some(overlay) = &options.overlay {
            layers.push(read_file_layer(overlay, overlay.display().to_string())?);
        }
        layers.push(env_layer(
            &options.env,
            ENV_PREFIX,
            &schema_of::<RawSettings>(),
        ));
        if !options.overrides.is_empty() {
            let mut table = toml::Table::new();
            for (key, value) in &options.overrides {
                insert(&mut table, key, value.clone());
            }
            layers.push(Layer {
                origin: "command line".to_owned(),
                env_names: BTreeMap::new(),
                table,
            });
        }
        let (raw, layers) = merge::<RawSettings>(layers)?;
        let disable_tensorrt = truthy(options.env_value("DISABLE_TENSORRT"));
        let mut settings = validate(raw, &layers, root, profile, disable_tensorrt)?;
        settings.engine.ort_dylib_path = options
            .env_value("ORT_DYLIB_PATH")
            .filter(|value| !value.trim().is_empty())
            .map(PathBuf::from);
        Ok(settings)
    }
}

fn known_profiles(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("configs"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".toml")?;
            (stem != "default").then(|| stem.to_owned())
        })
        .collect();
    names.sort();
    names
}

/// Validation helpers: each returns an error naming the origin, the key and the value.
struct Check<'a> {
    layers: &'a Layers,
}

impl Check<'_> {
    fn fail(&self, key: &str, detail: String) -> SettingsError {
        SettingsError::new(self.layers.origin_of(key), format!("{key}: {detail}"))
    }

    fn int_in(&self, key: &str, value: i64, low: i64, high: i64) -> Result<i64, SettingsError> {
        if value < low || value > high {
            return Err(self.fail(key, format!("{value} is outside {low}..={high}")));
        }
        Ok(value)
    }

    fn unit_interval(&self, key: &str, value: f64) -> Result<f32, SettingsError> {
        if !(value > 0.0 && value <= 1.0) {
            return Err(self.fail(key, format!("{value} is outside (0, 1]")));
        }
        Ok(value as f32)
    }

    fn seconds(&self, key: &str, value: f64, max: f64) -> Result<Duration, SettingsError> {
        if !(value > 0.0 && value <= max) {
            return Err(self.fail(key, format!("{value} is outside (0, {max}] seconds")));
        }
        Ok(Duration::from_secs_f64(value))
    }

    fn one_of<T: Copy>(
        &self,
        key: &str,
        value: &str,
        allowed: &[(&str, T)],
    ) -> Result<T, SettingsError> {
        allowed
            .iter()
            .find(|(name, _)| *name == value)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                let names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
                self.fail(key, format!("{value:?} is not one of {}", names.join(", ")))
            })
    }

    fn model(&self, key: &str, value: &str, root: &Path) -> Result<PathBuf, SettingsError> {
        let path = resolve(root, value);
        if !path.is_file() {
            return Err(self.fail(
                key,
                format!("{value:?} does not exist (looked for {})", path.display()),
            ));
        }
        Ok(path)
    }
}

fn resolve(root: &Path, value: &str) -> PathBuf {
    let path = PathBuf::from(value);
    if path.is_absolute() {
        path
    } else {
        root.join(path)
    }
}

fn validate(
    raw: RawSettings,
    layers: &Layers,
    root: &Path,
    profile: Option<String>,
    disable_tensorrt_env: bool,
) -> Result<Settings, SettingsError> {
    let check = Check { layers };
    let working_size =
        check.int_in("pipeline.working_size", raw.pipeline.working_size, 64, 8192)? as u32;
    let pad_multiple =
        check.int_in("pipeline.pad_multiple", raw.pipeline.pad_multiple, 1, 256)? as u32;

    let phase1 = CleanSettings {
        enabled: raw.phase1.enabled,
        model: if raw.phase1.enabled {
            check.model("phase1.model", &raw.phase1.model, root)?
        } else {
            resolve(root, &raw.phase1.model)
        },
    };

    let steer_model = if raw.phase2.enabled {
        if raw.phase2.model.trim().is_empty() {
            return Err(SettingsError::new(
                layers.origin_of("phase2.enabled"),
                "phase2.enabled is true but phase2.model is not set",
            ));
        }
        Some(check.model("phase2.model", &raw.phase2.model, root)?)
    } else if raw.phase2.model.trim().is_empty() {
        None
    } else {
        Some(resolve(root, &raw.phase2.model))
    };
    let phase2 = SteerSettings {
        enabled: raw.phase2.enabled,
        model: steer_model,
        strength: check.unit_interval("phase2.strength", raw.phase2.strength)?,
        seed: raw.phase2.seed,
        iou_retry: IouRetrySettings {
            max_retries: check.int_in(
                "phase2.iou_retry.max_retries",
                raw.phase2.iou_retry.max_retries,
                0,
                10,
            )? as u32,
            iou_threshold: check.unit_interval(
                "phase2.iou_retry.iou_threshold",
                raw.phase2.iou_retry.iou_threshold,
            )?,
            allow_skip_on_failure: raw.phase2.iou_retry.allow_skip_on_failure,
            strength_decay: check.unit_interval(
                "phase2.iou_retry.strength_decay",
                raw.phase2.iou_retry.strength_decay,
            )?,
        },
    };

    let default_palette = if raw.phase3.default_palette.is_empty() {
        None
    } else {
        Some(
            Palette::from_hex(&raw.phase3.default_palette)
                .map_err(|error| check.fail("phase3.default_palette", error.to_string()))?,
        )
    };
    let phase3 = QuantizeSettings {
        model: check.model("phase3.model", &raw.phase3.model, root)?,
        default_palette,
        max_colors: check.int_in(
            "phase3.max_colors",
            raw.phase3.max_colors,
            1,
            MAX_COLORS as i64,
        )? as u8,
        kmeans_iterations: check.int_in(
            "phase3.kmeans_iterations",
            raw.phase3.kmeans_iterations,
            1,
            1000,
        )? as u32,
        kmeans_sample: check.int_in(
            "phase3.kmeans_sample",
            raw.phase3.kmeans_sample,
            64,
            16_777_216,
        )? as usize,
    };

    let phase4 = TraceOptions {
        mode: check.one_of(
            "phase4.mode",
            &raw.phase4.mode,
            &[
                ("spline", TraceMode::Spline),
                ("polygon", TraceMode::Polygon),
                ("pixel", TraceMode::Pixel),
                ("auto", TraceMode::Auto),
            ],
        )?,
        filter_speckle: check.int_in("phase4.filter_speckle", raw.phase4.filter_speckle, 0, 1024)?
            as u32,
        corner_threshold: float_in(
            &check,
            "phase4.corner_threshold",
            raw.phase4.corner_threshold,
            0.0,
            180.0,
        )?,
        fit_tolerance: float_in(
            &check,
            "phase4.fit_tolerance",
            raw.phase4.fit_tolerance,
            0.05,
            4.0,
        )?,
        path_precision: check.int_in("phase4.path_precision", raw.phase4.path_precision, 0, 8)?
            as u32,
        alpha: check.one_of("phase4.alpha", &raw.phase4.alpha, &AlphaMode::ALL)?,
        alpha_levels: check.int_in(
            "phase4.alpha_levels",
            raw.phase4.alpha_levels,
            i64::from(*alpha::LEVELS_RANGE.start()),
            i64::from(*alpha::LEVELS_RANGE.end()),
        )? as u8,
        supersample: check.int_in("phase4.supersample", raw.phase4.supersample, 1, 8)? as u32,
    };

    let hardware = &raw.hardware;
    let device = check.one_of(
        "hardware.device",
        &hardware.device,
        &[
            ("auto", Device::Auto),
            ("tensorrt", Device::TensorRt),
            ("cuda", Device::Cuda),
            ("cpu", Device::Cpu),
        ],
    )?;
    let onnxruntime = if hardware.onnxruntime.trim().is_empty() {
        None
    } else {
        Some(resolve(root, &hardware.onnxruntime))
    };
    let intra_threads = check.int_in("hardware.intra_threads", hardware.intra_threads, 0, 1024)?;
    let trt = &hardware.tensorrt;
    let padded_max = working_size.div_ceil(pad_multiple) * pad_multiple;
    let engine = EngineSettings {
        device,
        require_gpu: hardware.require_gpu,
        device_id: check.int_in("hardware.device_id", hardware.device_id, 0, 63)? as i32,
        onnxruntime,
        ort_dylib_path: None,
        root: root.to_path_buf(),
        intra_threads: NonZeroUsize::new(intra_threads as usize),
        warmup: hardware.warmup,
        disable_tensorrt: hardware.disable_tensorrt || disable_tensorrt_env,
        tensorrt: TensorRtSettings {
            fp16: trt.fp16,
            engine_cache: trt.engine_cache,
            engine_cache_path: resolve(root, &trt.engine_cache_path),
            timing_cache_path: resolve(root, &trt.timing_cache_path),
            fallback_cache_path: resolve(root, &trt.fallback_cache_path),
            builder_optimization_level: check.int_in(
                "hardware.tensorrt.builder_optimization_level",
                trt.builder_optimization_level,
                0,
                5,
            )? as u8,
            max_workspace_bytes: check.int_in(
                "hardware.tensorrt.max_workspace_bytes",
                trt.max_workspace_bytes,
                1 << 20,
                1 << 40,
            )? as u64,
            cuda_graph: trt.cuda_graph,
            profile_min_side: check.int_in(
                "hardware.tensorrt.profile_min_side",
                trt.profile_min_side,
                1,
                i64::from(padded_max),
            )? as u32,
        },
        cuda: CudaSettings {
            cuda_graph: hardware.cuda.cuda_graph,
            memory_limit_bytes: match check.int_in(
                "hardware.cuda.memory_limit_bytes",
                hardware.cuda.memory_limit_bytes,
                0,
                i64::MAX,
            )? {
                0 => None,
                bytes => Some(bytes as u64),
            },
            conv_algorithm_search: check.one_of(
                "hardware.cuda.conv_algorithm_search",
                &hardware.cuda.conv_algorithm_search,
                &[
                    ("heuristic", ConvAlgorithmSearch::Heuristic),
                    ("exhaustive", ConvAlgorithmSearch::Exhaustive),
                    ("default", ConvAlgorithmSearch::Default),
                ],
            )?,
        },
        max_side: padded_max,
    };

    Ok(Settings {
        root: root.to_path_buf(),
        profile,
        sources: layers.sources(),
        pipeline: PipelineSettings {
            working_size,
            pad_multiple,
            phase1,
            phase2,
            phase3,
            phase4,
        },
        engine,
    })
}

fn float_in(
    check: &Check<'_>,
    key: &str,
    value: f64,
    low: f64,
    high: f64,
) -> Result<f64, SettingsError> {
    if !(value >= low && value <= high) {
        return Err(check.fail(key, format!("{value} is outside [{low}, {high}]")));
    }
    Ok(value)
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
            read_file_layer(&file, display)?,
            env_layer(env, HANDLER_ENV_PREFIX, &schema_of::<RawHandler>()),
        ];
        let (raw, layers) = merge::<RawHandler>(layers)?;
        let check = Check { layers: &layers };
        let positive = |key: &str, value: i64, high: i64| -> Result<NonZeroUsize, SettingsError> {
            let value = check.int_in(key, value, 1, high)?;
            Ok(NonZeroUsize::new(value as usize).expect("checked to be at least 1"))
        };
        Ok(HandlerSettings {
            worker: WorkerSettings {
                concurrency: positive("worker.concurrency", raw.worker.concurrency, 256)?,
                job_deadline: check.seconds(
                    "worker.job_deadline_s",
                    raw.worker.job_deadline_s,
                    86_400.0,
                )?,
                deadline_grace: check.seconds(
                    "worker.deadline_grace_s",
                    raw.worker.deadline_grace_s,
                    3_600.0,
                )?,
                log_max_lines: positive("worker.log_max_lines", raw.worker.log_max_lines, 100_000)?,
                log_max_bytes: positive(
                    "worker.log_max_bytes",
                    raw.worker.log_max_bytes,
                    16 << 20,
                )?,
                progress_interval: Duration::from_millis(check.int_in(
                    "worker.progress_interval_ms",
                    raw.worker.progress_interval_ms,
                    0,
                    60_000,
                )? as u64),
                drain_timeout: check.seconds(
                    "worker.drain_timeout_s",
                    raw.worker.drain_timeout_s,
                    3_600.0,
                )?,
            },
            input: InputLimits {
                max_image_bytes: check.int_in(
                    "input.max_image_bytes",
                    raw.input.max_image_bytes,
                    1,
                    1 << 32,
                )? as u64,
                max_pixels: check.int_in("input.max_pixels", raw.input.max_pixels, 1, 1 << 32)?
                    as u64,
                download_timeout: check.seconds(
                    "input.download_timeout_s",
                    raw.input.download_timeout_s,
                    600.0,
                )?,
                memory_budget_bytes: (check.int_in(
                    "input.memory_budget_mb",
                    raw.input.memory_budget_mb,
                    // Room for one job at the default working size; at most 4 TiB.
                    512,
                    4 << 20,
                )? as u64)
                    << 20,
            },
            output: OutputLimits {
                max_inline_bytes: check.int_in(
                    "output.max_inline_bytes",
                    raw.output.max_inline_bytes,
                    1,
                    20_000_000,
                )? as usize,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    fn load_with(overlay: Option<&str>, env: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let dir = tempfile::tempdir().unwrap();
        let overlay_path = overlay.map(|text| {
            let path = dir.path().join("overlay.toml");
            std::fs::write(&path, text).unwrap();
            path
        });
        Settings::load(&LoadOptions {
            root: root(),
            overlay: overlay_path,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            overrides: Vec::new(),
        })
    }

    #[test]
    fn defaults_load_and_validate() {
        let settings = load_with(None, &[]).unwrap();
        assert_eq!(settings.pipeline.working_size, 1024);
        assert_eq!(settings.engine.device, Device::Auto);
        assert!(!settings.pipeline.phase2.enabled);
        assert_eq!(settings.pipeline.phase4.mode, TraceMode::Auto);
        assert_eq!(settings.profile, None);
    }

    #[test]
    fn bad_device_names_key_value_and_allowed() {
        let error = load_with(Some("[hardware]\ndevice = \"gpu9000\"\n"), &[]).unwrap_err();
        assert!(error.origin.ends_with("overlay.toml"), "{error}");
        assert_eq!(
            error.detail,
            "hardware.device: \"gpu9000\" is not one of auto, tensorrt, cuda, cpu"
        );
    }

    #[test]
    fn threshold_out_of_range_is_refused() {
        let error = load_with(Some("[phase2.iou_retry]\niou_threshold = 1.5\n"), &[]).unwrap_err();
        assert_eq!(
            error.detail,
            "phase2.iou_retry.iou_threshold: 1.5 is outside (0, 1]"
        );
    }

    #[test]
    fn enabled_steering_needs_a_model() {
        let error = load_with(Some("[phase2]\nenabled = true\n"), &[]).unwrap_err();
        assert_eq!(
            error.detail,
            "phase2.enabled is true but phase2.model is not set"
        );
        assert!(error.origin.ends_with("overlay.toml"));
    }

    #[test]
    fn unknown_key_is_refused_with_its_file() {
        let error = load_with(Some("[phase1]\nmodle = \"x.onnx\"\n"), &[]).unwrap_err();
        assert!(error.origin.ends_with("overlay.toml"));
        assert_eq!(error.detail, "phase1.modle: unknown key");
        let error = load_with(Some("[phase9]\nenabled = true\n"), &[]).unwrap_err();
        assert_eq!(error.detail, "phase9: unknown key");
    }

    #[test]
    fn missing_model_file_is_refused() {
        let error = load_with(Some("[phase1]\nmodel = \"models/nope.onnx\"\n"), &[]).unwrap_err();
        assert!(
            error
                .detail
                .starts_with("phase1.model: \"models/nope.onnx\" does not exist"),
            "{error}"
        );
    }

    #[test]
    fn environment_overrides_and_is_named_in_errors() {
        let settings = load_with(None, &[("GEMINI3__HARDWARE__DEVICE", "cpu")]).unwrap();
        assert_eq!(settings.engine.device, Device::Cpu);
        let error = load_with(None, &[("GEMINI3__HARDWARE__DEVICE", "gpu9000")]).unwrap_err();
        assert_eq!(error.origin, "GEMINI3__HARDWARE__DEVICE");
        let error = load_with(None, &[("GEMINI3__PHASE1__MODLE", "x")]).unwrap_err();
        assert_eq!(error.origin, "GEMINI3__PHASE1__MODLE");
        assert_eq!(error.detail, "phase1.modle: unknown key");
        let settings = load_with(
            None,
            &[("GEMINI3__PHASE3__DEFAULT_PALETTE", "ff0000, #00FF00")],
        )
        .unwrap();
        assert_eq!(
            settings.pipeline.phase3.default_palette.unwrap().hex_list(),
            vec!["#ff0000", "#00ff00"]
        );
    }

    #[test]
    fn wrong_type_names_key_and_file() {
        let error = load_with(Some("[pipeline]\nworking_size = \"big\"\n"), &[]).unwrap_err();
        assert!(error.origin.ends_with("overlay.toml"), "{error}");
        assert!(error.detail.contains("pipeline.working_size"), "{error}");
        assert!(error.detail.contains("big"), "{error}");
    }

    #[test]
    fn gpu_model_selects_rtx5090_profile() {
        let settings = load_with(None, &[("GPU_MODEL", "RTX_5090")]).unwrap();
        assert_eq!(settings.profile.as_deref(), Some("rtx5090"));
        assert!(settings.engine.require_gpu);
        assert!(settings.engine.tensorrt.fp16);
        assert!(settings
            .engine
            .tensorrt
            .engine_cache_path
            .starts_with("/runpod-volume"));
        let error = load_with(None, &[("GEMINI3_PROFILE", "h100")]).unwrap_err();
        assert!(error.detail.contains("\"h100\""), "{error}");
        assert!(error.detail.contains("rtx5090"), "{error}");
    }

    #[test]
    fn disable_tensorrt_variable_is_honoured() {
        let settings = load_with(None, &[("DISABLE_TENSORRT", "1")]).unwrap();
        assert!(settings.engine.disable_tensorrt);
    }

    #[test]
    fn bad_default_palette_names_value() {
        let error = load_with(
            Some("[phase3]\ndefault_palette = [\"ff0000\", \"zz\"]\n"),
            &[],
        )
        .unwrap_err();
        assert!(
            error
                .detail
                .starts_with("phase3.default_palette: palette[1]: \"zz\""),
            "{error}"
        );
    }

    #[test]
    fn handler_toml_loads_and_validates() {
        let settings = HandlerSettings::load(&root(), None, &[]).unwrap();
        assert_eq!(settings.worker.job_deadline, Duration::from_secs(300));
        assert_eq!(settings.output.max_inline_bytes, 9_000_000);
        assert_eq!(settings.input.memory_budget_bytes, 16384 << 20);
        let env = vec![(
            "GEMINI3_HANDLER__INPUT__MEMORY_BUDGET_MB".to_owned(),
            "10".to_owned(),
        )];
        let error = HandlerSettings::load(&root(), None, &env).unwrap_err();
        assert!(
            error
                .detail
                .starts_with("input.memory_budget_mb: 10 is outside"),
            "{error}"
        );
        let env = vec![(
            "GEMINI3_HANDLER__WORKER__CONCURRENCY".to_owned(),
            "0".to_owned(),
        )];
        let error = HandlerSettings::load(&root(), None, &env).unwrap_err();
        assert_eq!(error.origin, "GEMINI3_HANDLER__WORKER__CONCURRENCY");
        assert_eq!(error.detail, "worker.concurrency: 0 is outside 1..=256");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("handler.toml");
        std::fs::write(
            &path,
            std::fs::read_to_string(root().join("handler.toml")).unwrap() + "\n[extra]\nx = 1\n",
        )
        .unwrap();
        let error = HandlerSettings::load(&root(), Some(&path), &[]).unwrap_err();
        assert_eq!(error.detail, "extra: unknown key");
    }

    proptest::proptest! {
        #[test]
        fn out_of_range_thresholds_are_refused(value in proptest::prop_oneof![-10.0f64..=0.0, 1.0001f64..10.0]) {
            let text = format!("[phase2.iou_retry]\niou_threshold = {value:?}\n");
            let error = load_with(Some(&text), &[]).unwrap_err();
            proptest::prop_assert!(error.detail.starts_with("phase2.iou_retry.iou_threshold"));
        }
    }
}
