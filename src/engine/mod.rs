//! ONNX Runtime: finding and loading the library, the execution-provider chain, one session per
//! phase model, and run termination.
//!
//! This is the only module that knows `ort`. It implements the phase-model traits of
//! [`crate::pipeline::model`], so no `ort` type, `ndarray` or `ort::Error` leaves it.
//!
//! Sessions are built once, at start-up, and shared across jobs. Running a session needs
//! `&mut Session`, so each sits behind a `std::sync::Mutex` that is locked only inside the
//! blocking call, never across an `.await`. Every run registers its `RunOptions` on the
//! job's [`CancelToken`], whose cancellation calls ONNX Runtime's run termination: a deadline
//! stops inference that is already in flight.
//!
//! Provider selection tries whole sessions in order (`auto`: TensorRT, then CUDA, then CPU),
//! each provider registered with `error_on_failure`, so the provider a session really got is
//! known rather than guessed. Each fallback is logged once per process with its cause (a
//! warning in a worker; `info` in a one-shot command, `EngineSettings::one_shot`);
//! `require_gpu` turns landing on CPU into an error. The phase sessions themselves are in
//! `phases.rs`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use ort::ep;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::{RunOptions, Session};
use ort::value::{TensorElementType, ValueType};

use crate::cancel::CancelToken;
use crate::pipeline::model::{
    CleanModel, ModelError, PhaseModels, Provider, QuantizeModel, SteerModel,
};
use crate::pipeline::options::PipelineSettings;
use crate::pipeline::Phase;

mod phases;
mod settings;

use phases::{OrtClean, OrtQuantize, OrtSteer};
pub use settings::{ConvAlgorithmSearch, CudaSettings, Device, EngineSettings, TensorRtSettings};

/// What went wrong while loading ONNX Runtime or building a session.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No library at any of the places looked at.
    #[error("ONNX Runtime library not found; looked at: {looked}. Fix: run `make onnxruntime` (scripts/fetch-onnxruntime.sh fetches it from the onnxruntime wheel), or set ORT_DYLIB_PATH or hardware.onnxruntime to libonnxruntime.so 1.31 or newer")]
    LibraryNotFound {
        /// Every place looked at, in order.
        looked: String,
    },
    /// A path given explicitly does not exist.
    #[error("{source_name}: {path} does not exist; point it at libonnxruntime.so 1.31 or newer, or unset it to use the project's .ort/lib")]
    LibraryPathMissing {
        /// `hardware.onnxruntime` or `ORT_DYLIB_PATH`.
        source_name: &'static str,
        /// The path given.
        path: String,
    },
    /// The library exists but could not be loaded or has the wrong version.
    #[error("cannot load ONNX Runtime from {path}: {message}. Fix: install ONNX Runtime 1.31 or newer (scripts/fetch-onnxruntime.sh)")]
    LibraryLoad {
        /// The library path.
        path: String,
        /// ort's explanation (dlopen error or version mismatch).
        message: String,
    },
    /// This process already loaded a different library (ONNX Runtime loads once per process).
    #[error("ONNX Runtime was already loaded from {loaded}; cannot switch to {requested} in the same process")]
    LibraryConflict {
        /// The library in use.
        loaded: String,
        /// The one asked for now.
        requested: String,
    },
    /// Creating the ONNX Runtime environment failed.
    #[error("cannot create the ONNX Runtime environment: {0}")]
    Environment(#[source] ort::Error),
    /// No provider in the chain could build a session for a model.
    #[error("{model}: no execution provider could load it: {causes}")]
    NoProvider {
        /// The model file.
        model: String,
        /// Why each provider failed.
        causes: String,
    },
    /// `require_gpu` is set and the session would land on CPU.
    #[error("{model}: hardware.require_gpu is true but no GPU provider is usable: {causes}")]
    GpuRequired {
        /// The model file.
        model: String,
        /// Why each GPU provider failed.
        causes: String,
    },
    /// The model's inputs or outputs break the phase contract.
    #[error("{model}: {message}")]
    Contract {
        /// The model file.
        model: String,
        /// What is wrong.
        message: String,
    },
    /// The warm-up run failed.
    #[error("{model}: warm-up run failed: {message}")]
    Warmup {
        /// The model file.
        model: String,
        /// Why.
        message: String,
    },
}

/// A loaded ONNX Runtime library.
struct Runtime {
    path: PathBuf,
    version: String,
    environment: ort::environment::Environment,
}

/// ONNX Runtime loads once per process; this is that one load.
static RUNTIME: OnceLock<Runtime> = OnceLock::new();
/// Serialises the first load so two threads cannot race `init_from`.
static RUNTIME_INIT: Mutex<()> = Mutex::new(());

/// The loaded runtime plus the settings sessions are built with.
pub struct Engine {
    runtime: &'static Runtime,
    settings: EngineSettings,
    /// Provider fallbacks already logged (provider, cause): each is one fact, logged once.
    reported: Mutex<Vec<(Provider, String)>>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("library", &self.runtime.path)
            .field("version", &self.runtime.version)
            .finish()
    }
}

/// Which provider a phase session got, and why others were skipped.
#[derive(Debug, Clone)]
pub struct SessionReport {
    /// The phase the session serves (`Clean`, `Steer` or `Quantize`).
    pub phase: Phase,
    /// The model file.
    pub model: PathBuf,
    /// The provider the session runs on.
    pub provider: Provider,
    /// Providers tried before it, with the cause of each failure.
    pub fallbacks: Vec<(Provider, String)>,
    /// Input names and types, for `gemini3 check`.
    pub inputs: Vec<String>,
    /// Output names and types.
    pub outputs: Vec<String>,
}

/// The sessions of every enabled phase, with the engine's report of each. It converts into
/// the pipeline's [`PhaseModels`] (`Pipeline::new` takes either).
pub struct LoadedModels {
    /// Phase 1, when enabled.
    pub clean: Option<Arc<dyn CleanModel>>,
    /// Phase 2, when enabled.
    pub steer: Option<Arc<dyn SteerModel>>,
    /// Phase 3.
    pub quantize: Arc<dyn QuantizeModel>,
    /// One report per session built.
    pub reports: Vec<SessionReport>,
}

impl From<LoadedModels> for PhaseModels {
    fn from(loaded: LoadedModels) -> Self {
        PhaseModels {
            clean: loaded.clean,
            steer: loaded.steer,
            quantize: loaded.quantize,
        }
    }
}

/// Where the library may be, in the order looked at.
fn library_candidates(settings: &EngineSettings) -> Result<Vec<PathBuf>, EngineError> {
    if let Some(path) = &settings.onnxruntime {
        if !path.exists() {
            return Err(EngineError::LibraryPathMissing {
                source_name: "hardware.onnxruntime",
                path: path.display().to_string(),
            });
        }
        return Ok(vec![path.clone()]);
    }
    if let Some(path) = &settings.ort_dylib_path {
        if !path.exists() {
            return Err(EngineError::LibraryPathMissing {
                source_name: "ORT_DYLIB_PATH",
                path: path.display().to_string(),
            });
        }
        return Ok(vec![path.clone()]);
    }
    let mut candidates = vec![settings.root.join(".ort/lib/libonnxruntime.so")];
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        candidates.push(exe_dir.join("libonnxruntime.so"));
    }
    candidates.push(PathBuf::from("/opt/onnxruntime/lib/libonnxruntime.so"));
    Ok(candidates)
}

/// Resolves the library path: the first candidate that exists.
pub fn find_library(settings: &EngineSettings) -> Result<PathBuf, EngineError> {
    let candidates = library_candidates(settings)?;
    candidates
        .iter()
        .find(|path| path.exists())
        .cloned()
        .ok_or_else(|| EngineError::LibraryNotFound {
            looked: format!(
                "hardware.onnxruntime (not set), ORT_DYLIB_PATH (not set), {}",
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
}

/// The library's version, read from its real file name (`libonnxruntime.so.1.31.1`).
fn version_from_path(path: &Path) -> String {
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    real.file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.split(".so.").nth(1))
        .map(str::to_owned)
        .unwrap_or_else(|| "unknown".to_owned())
}

fn load_runtime(settings: &EngineSettings) -> Result<&'static Runtime, EngineError> {
    let path = find_library(settings)?;
    let _guard = RUNTIME_INIT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(runtime) = RUNTIME.get() {
        let same = std::fs::canonicalize(&runtime.path).ok() == std::fs::canonicalize(&path).ok();
        if !same {
            return Err(EngineError::LibraryConflict {
                loaded: runtime.path.display().to_string(),
                requested: path.display().to_string(),
            });
        }
        return Ok(runtime);
    }
    // `ort::init()` panics when the library is missing; `init_from` returns an error instead.
    let builder = ort::init_from(&path).map_err(|error| EngineError::LibraryLoad {
        path: path.display().to_string(),
        message: error.to_string(),
    })?;
    let environment = builder
        .with_name("gemini3")
        .build()
        .map_err(EngineError::Environment)?;
    let runtime = Runtime {
        version: version_from_path(&path),
        path,
        environment,
    };
    Ok(RUNTIME.get_or_init(|| runtime))
}

impl Engine {
    /// Loads ONNX Runtime (once per process) for these settings.
    pub fn load(settings: &EngineSettings) -> Result<Engine, EngineError> {
        let runtime = load_runtime(settings)?;
        tracing::info!(
            library = %runtime.path.display(),
            version = %runtime.version,
            "loaded ONNX Runtime"
        );
        Ok(Engine {
            runtime,
            settings: settings.clone(),
            reported: Mutex::new(Vec::new()),
        })
    }

    /// The library file in use.
    pub fn library_path(&self) -> &Path {
        &self.runtime.path
    }

    /// The library's version (`1.31.1`).
    pub fn version(&self) -> &str {
        &self.runtime.version
    }

    /// ONNX Runtime's build information string.
    pub fn build_info(&self) -> &'static str {
        ort::info()
    }

    /// Builds (and warms up, when configured) the session of every enabled phase.
    pub fn load_models(&self, pipeline: &PipelineSettings) -> Result<LoadedModels, EngineError> {
        let mut reports = Vec::new();
        let clean = if pipeline.phase1.enabled {
            let model = OrtClean::load(self, &pipeline.phase1.model, pipeline.working_size)?;
            reports.push(model.session.report(Phase::Clean));
            Some(Arc::new(model) as Arc<dyn CleanModel>)
        } else {
            None
        };
        let steer = match (&pipeline.phase2.model, pipeline.phase2.enabled) {
            (Some(path), true) => {
                let model = OrtSteer::load(self, path)?;
                reports.push(model.session.report(Phase::Steer));
                Some(Arc::new(model) as Arc<dyn SteerModel>)
            }
            _ => None,
        };
        let quantize = OrtQuantize::load(self, &pipeline.phase3.model)?;
        reports.push(quantize.session.report(Phase::Quantize));
        Ok(LoadedModels {
            clean,
            steer,
            quantize: Arc::new(quantize),
            reports,
        })
    }

    /// Builds a steering session from any model file (tests and `check` use this).
    pub fn load_steer(&self, path: &Path) -> Result<Arc<dyn SteerModel>, EngineError> {
        Ok(Arc::new(OrtSteer::load(self, path)?))
    }

    /// Builds a phase session with CPU fallback disabled: any node that would run on CPU is an
    /// error. For the GPU self-test; returns the provider the session got.
    pub fn probe_without_cpu_fallback(&self, path: &Path) -> Result<Provider, EngineError> {
        let session = PhaseSession::build(self, path, true)?;
        Ok(session.provider)
    }

    /// Logs that `failed` was unavailable and sessions fell back to `to`, once per provider and
    /// cause: at `warn` in a worker, where a GPU was expected; at `info` in a one-shot
    /// command (`EngineSettings::one_shot`), where CPU is the usual case.
    fn report_fallback(&self, failed: Provider, to: Provider, cause: &str) {
        let mut reported = self
            .reported
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if reported.iter().any(|(p, c)| *p == failed && c == cause) {
            return;
        }
        reported.push((failed, cause.to_owned()));
        if self.settings.one_shot {
            tracing::info!(provider = %failed, fell_back_to = %to, cause = %cause, "execution provider unavailable, falling back");
        } else {
            tracing::warn!(provider = %failed, fell_back_to = %to, cause = %cause, "execution provider unavailable, falling back");
        }
    }

    /// The provider chain for the configured device, in order.
    fn chain(&self, no_cpu: bool) -> Vec<Provider> {
        let mut chain = match self.settings.device {
            Device::Auto => vec![Provider::TensorRt, Provider::Cuda, Provider::Cpu],
            Device::TensorRt => vec![Provider::TensorRt, Provider::Cpu],
            Device::Cuda => vec![Provider::Cuda, Provider::Cpu],
            Device::Cpu => vec![Provider::Cpu],
        };
        if self.settings.disable_tensorrt {
            chain.retain(|p| *p != Provider::TensorRt);
        }
        if (self.settings.require_gpu || no_cpu) && self.settings.device != Device::Cpu {
            chain.retain(|p| *p != Provider::Cpu);
        }
        chain
    }

    fn cuda_provider(&self) -> ep::ExecutionProviderDispatch {
        let cuda = &self.settings.cuda;
        let mut provider = ep::CUDA::default()
            .with_device_id(self.settings.device_id)
            .with_cuda_graph(cuda.cuda_graph)
            .with_conv_algorithm_search(match cuda.conv_algorithm_search {
                ConvAlgorithmSearch::Heuristic => ep::cuda::ConvAlgorithmSearch::Heuristic,
                ConvAlgorithmSearch::Exhaustive => ep::cuda::ConvAlgorithmSearch::Exhaustive,
                ConvAlgorithmSearch::Default => ep::cuda::ConvAlgorithmSearch::Default,
            });
        if let Some(limit) = cuda.memory_limit_bytes {
            provider = provider.with_memory_limit(limit as usize);
        }
        provider.build().error_on_failure()
    }

    fn tensorrt_provider(
        &self,
        input_name: &str,
        has_palette: bool,
    ) -> ep::ExecutionProviderDispatch {
        let trt = &self.settings.tensorrt;
        let (engine_dir, timing_dir) = cache_dirs(
            &trt.engine_cache_path,
            &trt.timing_cache_path,
            &trt.fallback_cache_path,
        );
        let min = trt.profile_min_side;
        // Fixed shape profiles: the pipeline pads to a multiple of 32 at the working size, so
        // the optimum is the square working size and nothing larger is ever fed; phase 3's
        // model (the one with a palette) also labels phase 2's output, up to 4× that.
        let max = if has_palette {
            self.settings.labels_max_side
        } else {
            self.settings.max_side
        };
        let shapes = |side_h: u32, side_w: u32, palette: u32| {
            let mut s = format!("{input_name}:1x3x{side_h}x{side_w}");
            if has_palette {
                s.push_str(&format!(",palette:{palette}x3"));
            }
            s
        };
        ep::TensorRT::default()
            .with_device_id(self.settings.device_id)
            .with_fp16(trt.fp16)
            .with_engine_cache(trt.engine_cache)
            .with_engine_cache_path(engine_dir.display())
            .with_timing_cache(true)
            .with_timing_cache_path(timing_dir.display())
            .with_builder_optimization_level(trt.builder_optimization_level)
            .with_max_workspace_size(trt.max_workspace_bytes as usize)
            .with_cuda_graph(trt.cuda_graph)
            .with_profile_min_shapes(shapes(min, min, 1))
            .with_profile_opt_shapes(shapes(max, max, 16))
            .with_profile_max_shapes(shapes(max, max, 64))
            .build()
            .error_on_failure()
    }
}

/// Creates the TensorRT cache folders, falling back to a local folder with a warning when
/// they cannot be created or written (no network volume mounted, or a read-only one).
fn cache_dirs(engine: &Path, timing: &Path, fallback: &Path) -> (PathBuf, PathBuf) {
    let ensure = |dir: &Path, kind: &str| -> PathBuf {
        match writable_dir(dir) {
            Ok(()) => dir.to_path_buf(),
            Err(error) => {
                let local = fallback.join(kind);
                tracing::warn!(
                    wanted = %dir.display(),
                    using = %local.display(),
                    %error,
                    "TensorRT cache folder unusable (no network volume?); using a local folder"
                );
                let _ = std::fs::create_dir_all(&local);
                local
            }
        }
    };
    (ensure(engine, "engines"), ensure(timing, "timing"))
}

/// Creates `dir` and proves it writable: `create_dir_all` succeeds on an existing read-only
/// folder, so write and remove a probe file.
fn writable_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(format!(".gemini3-write-probe-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

/// One ONNX Runtime session and the provider it got.
struct PhaseSession {
    model: PathBuf,
    provider: Provider,
    fallbacks: Vec<(Provider, String)>,
    session: Mutex<Session>,
}

fn describe(value_type: &ValueType) -> String {
    match value_type {
        ValueType::Tensor { ty, shape, .. } => {
            let dims: Vec<String> = shape
                .iter()
                .map(|d| {
                    if *d < 0 {
                        "?".to_owned()
                    } else {
                        d.to_string()
                    }
                })
                .collect();
            format!("{ty:?}[{}]", dims.join(","))
        }
        other => format!("{other:?}"),
    }
}

impl PhaseSession {
    fn build(engine: &Engine, model: &Path, no_cpu_fallback: bool) -> Result<Self, EngineError> {
        let model_name = model.display().to_string();
        let chain = engine.chain(no_cpu_fallback);
        let input_name = "image";
        let has_palette = model_has_input(model, "palette");
        let mut fallbacks: Vec<(Provider, String)> = Vec::new();
        for provider in &chain {
            let providers = match provider {
                Provider::TensorRt => vec![
                    engine.tensorrt_provider(input_name, has_palette),
                    engine.cuda_provider(),
                ],
                Provider::Cuda => vec![engine.cuda_provider()],
                Provider::Cpu => vec![ep::CPU::default().build().error_on_failure()],
            };
            match build_session(engine, model, &providers, no_cpu_fallback) {
                Ok(session) => {
                    for (failed, cause) in &fallbacks {
                        engine.report_fallback(*failed, *provider, cause);
                    }
                    return Ok(PhaseSession {
                        model: model.to_path_buf(),
                        provider: *provider,
                        fallbacks,
                        session: Mutex::new(session),
                    });
                }
                Err(cause) => fallbacks.push((*provider, cause.trim().to_owned())),
            }
        }
        let causes = fallbacks
            .iter()
            .map(|(p, c)| format!("{p}: {c}"))
            .collect::<Vec<_>>()
            .join("; ");
        if engine.settings.require_gpu && engine.settings.device != Device::Cpu {
            Err(EngineError::GpuRequired {
                model: model_name,
                causes,
            })
        } else {
            Err(EngineError::NoProvider {
                model: model_name,
                causes,
            })
        }
    }

    fn report(&self, phase: Phase) -> SessionReport {
        let session = self.lock();
        SessionReport {
            phase,
            model: self.model.clone(),
            provider: self.provider,
            fallbacks: self.fallbacks.clone(),
            inputs: session
                .inputs()
                .iter()
                .map(|i| format!("{} {}", i.name(), describe(i.dtype())))
                .collect(),
            outputs: session
                .outputs()
                .iter()
                .map(|o| format!("{} {}", o.name(), describe(o.dtype())))
                .collect(),
        }
    }

    /// The names of the model's inputs.
    fn input_names(&self) -> Vec<String> {
        self.lock()
            .inputs()
            .iter()
            .map(|input| input.name().to_owned())
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Session> {
        // A panic while running leaves the session itself intact; keep using it.
        self.session
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Checks an input or output against the contract: name, element type and rank.
    fn expect(
        &self,
        is_input: bool,
        name: Option<&str>,
        ty: TensorElementType,
        rank: usize,
    ) -> Result<String, EngineError> {
        let session = self.lock();
        let outlets = if is_input {
            session.inputs()
        } else {
            session.outputs()
        };
        let kind = if is_input { "input" } else { "output" };
        let contract = |message: String| EngineError::Contract {
            model: self.model.display().to_string(),
            message,
        };
        let names: Vec<&str> = outlets.iter().map(|o| o.name()).collect();
        let outlet = match name {
            Some(name) => outlets.iter().find(|o| o.name() == name).ok_or_else(|| {
                contract(format!(
                    "{kind} `{name}` is missing (the model has {kind}s: {})",
                    names.join(", ")
                ))
            })?,
            None => {
                if outlets.len() != 1 {
                    return Err(contract(format!(
                        "expected exactly one {kind}, the model has {}: {}",
                        outlets.len(),
                        names.join(", ")
                    )));
                }
                &outlets[0]
            }
        };
        match outlet.dtype() {
            ValueType::Tensor {
                ty: actual, shape, ..
            } if *actual == ty && shape.len() == rank => Ok(outlet.name().to_owned()),
            other => Err(contract(format!(
                "{kind} `{}` is {}, the phase contract needs a {ty:?} tensor of rank {rank}",
                outlet.name(),
                describe(other)
            ))),
        }
    }

    /// Runs with termination wired to `cancel`.
    fn run<F, T>(&self, cancel: &CancelToken, inputs: F) -> Result<T, ModelError>
    where
        F: FnOnce(&mut Session, &RunOptions) -> Result<T, ort::Error>,
    {
        if cancel.is_cancelled() {
            return Err(ModelError::Cancelled);
        }
        let options = Arc::new(RunOptions::new().map_err(|e| ModelError::Failed(Box::new(e)))?);
        let terminator = options.clone();
        let _registration = cancel.on_cancel(move || {
            let _ = terminator.terminate();
        });
        let mut session = self.lock();
        let result = inputs(&mut session, &options);
        match result {
            Ok(value) if !cancel.is_cancelled() => Ok(value),
            Ok(_) => Err(ModelError::Cancelled),
            Err(_) if cancel.is_cancelled() => Err(ModelError::Cancelled),
            Err(error) => Err(ModelError::Failed(Box::new(error))),
        }
    }
}

fn build_session(
    engine: &Engine,
    model: &Path,
    providers: &[ep::ExecutionProviderDispatch],
    no_cpu_fallback: bool,
) -> Result<Session, String> {
    let mut builder = Session::builder(&engine.runtime.environment)
        .map_err(|e| e.to_string())?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(|e| e.to_string())?;
    if let Some(threads) = engine.settings.intra_threads {
        builder = builder
            .with_intra_threads(threads.get())
            .map_err(|e| e.to_string())?;
    }
    // ONNX Runtime's intra-op threads spin for a while after each run, waiting for the next.
    // Our runs are far apart (a phase each) and phases 3 and 4 work on rayon's pool between
    // them: spinning took those CPUs (a 2-core box: phase 4 11 % and a batch of 15 icons
    // 15-20 % slower with it, bench/phase4-speed.md).
    builder = builder
        .with_intra_op_spinning(false)
        .map_err(|e| e.to_string())?;
    if no_cpu_fallback {
        builder = builder
            .with_disable_cpu_fallback()
            .map_err(|e| e.to_string())?;
    }
    let mut builder = builder
        .with_execution_providers(providers)
        .map_err(|e| e.to_string())?;
    builder.commit_from_file(model).map_err(|e| e.to_string())
}

/// Whether the ONNX file names a value `name`, read without a session: the TensorRT profile
/// string must name only inputs that exist, and it is needed before the session is built. A
/// protobuf string field is its tag, its length and its bytes, so this looks for the name as
/// a whole field (`name` is field 1 of ValueInfoProto, tag 0x0a), not as a substring.
fn model_has_input(model: &Path, name: &str) -> bool {
    let Ok(length) = u8::try_from(name.len()) else {
        return false;
    };
    let mut field = vec![0x0a, length];
    field.extend_from_slice(name.as_bytes());
    std::fs::read(model)
        .map(|bytes| bytes.windows(field.len()).any(|w| w == field.as_slice()))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_declared_inputs_by_whole_field() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
        assert!(model_has_input(&root.join("quantize.onnx"), "palette"));
        assert!(model_has_input(&root.join("clean.onnx"), "image"));
        assert!(!model_has_input(&root.join("clean.onnx"), "palette"));
        assert!(!model_has_input(&root.join("clean.onnx"), "imag"));
    }
}
