//! The engine's settings (`[hardware]` in `configs/*.toml`): ONNX Runtime and the
//! execution providers. The engine owns these types; `crate::settings` reads them from the
//! configuration (ranges and value sets are on the fields, [`crate::fields`]) and resolves
//! their paths against the project root.

use std::num::NonZeroUsize;
use std::path::PathBuf;

use serde::Deserialize;

use crate::fields;

/// The execution device asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConvAlgorithmSearch {
    /// Cheap heuristics (fast start-up).
    Heuristic,
    /// Benchmarks every algorithm (slow first run, fastest kernels).
    Exhaustive,
    /// cuDNN's default algorithm.
    Default,
}

/// ONNX Runtime and execution-provider settings (`[hardware]`).
#[derive(Debug, Clone, Deserialize)]
pub struct EngineSettings {
    /// The device chain asked for.
    #[serde(deserialize_with = "fields::one_of")]
    pub device: Device,
    /// A CPU fallback is a start-up failure.
    pub require_gpu: bool,
    /// CUDA device ordinal.
    #[serde(deserialize_with = "fields::int::<_, i32, 0, 63>")]
    pub device_id: i32,
    /// Explicit library path (`hardware.onnxruntime`); must exist when given.
    #[serde(deserialize_with = "fields::optional_path")]
    pub onnxruntime: Option<PathBuf>,
    /// `ORT_DYLIB_PATH` from the environment; must exist when given.
    #[serde(skip)]
    pub ort_dylib_path: Option<PathBuf>,
    /// Project root, where `.ort/lib` is searched.
    #[serde(skip)]
    pub root: PathBuf,
    /// Intra-op threads; `None` (0 in the file) lets ONNX Runtime choose.
    #[serde(deserialize_with = "threads")]
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
    #[serde(skip)]
    pub max_side: u32,
    /// Longest side phase 3's model sees: `max_side`, or phase 2's largest output when phase
    /// 2 runs (its output, up to 4× its padded input, is labelled at that size).
    #[serde(skip)]
    pub labels_max_side: u32,
    /// Set by one-shot commands (`vectorize`, `check`), never by a file: provider fallbacks
    /// are logged at `info` instead of `warn` (a worker expected its GPU).
    #[serde(skip)]
    pub one_shot: bool,
}

/// TensorRT execution-provider options (`[hardware.tensorrt]`).
#[derive(Debug, Clone, Deserialize)]
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
    #[serde(deserialize_with = "fields::int::<_, u8, 0, 5>")]
    pub builder_optimization_level: u8,
    /// Tactic workspace, bytes.
    #[serde(deserialize_with = "fields::int::<_, u64, { 1 << 20 }, { 1 << 40 }>")]
    pub max_workspace_bytes: u64,
    /// CUDA graphs.
    pub cuda_graph: bool,
    /// Smallest side of the shape profile, at most the padded working size (checked in
    /// `crate::settings` when it loads the configuration).
    #[serde(deserialize_with = "fields::int::<_, u32, 1, { i32::MAX as i64 }>")]
    pub profile_min_side: u32,
}

/// CUDA execution-provider options (`[hardware.cuda]`).
#[derive(Debug, Clone, Deserialize)]
pub struct CudaSettings {
    /// CUDA graphs.
    pub cuda_graph: bool,
    /// Arena limit, bytes (0 in the file: no limit).
    #[serde(deserialize_with = "fields::limit")]
    pub memory_limit_bytes: Option<u64>,
    /// cuDNN convolution algorithm search.
    #[serde(deserialize_with = "fields::one_of")]
    pub conv_algorithm_search: ConvAlgorithmSearch,
}

fn threads<'de, D>(deserializer: D) -> Result<Option<NonZeroUsize>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    fields::int::<D, usize, 0, 1024>(deserializer).map(NonZeroUsize::new)
}
