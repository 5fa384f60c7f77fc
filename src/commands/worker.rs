//! `gemini3 worker` (and the start-up that `gemini3 serve` shares): start-up checks, session
//! warm-up, then the `runpod` runtime with the vectorize handler.
//!
//! Start-up order: RunPod's environment, logging, mode selection, settings, ONNX Runtime and
//! every phase session (built and warmed up before the first job-take). In production a
//! start-up failure is reported to the ping URL as an unhealthy fitness check (as RunPod's
//! SDK does) before exiting non-zero.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use crate::engine::Engine;
use crate::handler::{HandlerConfig, VectorizeHandler};
use crate::pipeline::Pipeline;
use crate::settings::{HandlerSettings, LoadOptions, Settings};

/// Everything the worker is started with, gathered at the edge.
pub struct WorkerStart {
    /// The process environment.
    pub env: Vec<(String, String)>,
    /// Project root.
    pub root: PathBuf,
    /// `--config FILE`.
    pub overlay: Option<PathBuf>,
}

/// The runtime's tunables from `handler.toml` (`[worker]` deserialises into them).
pub fn worker_config(settings: &runpod::WorkerConfig) -> runpod::WorkerConfig {
    settings.clone()
}

/// Whether the switch `key` is on in `env` (the settings' one reading of a switch).
fn truthy(env: &[(String, String)], key: &str) -> bool {
    crate::settings::truthy(
        env.iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str()),
    )
}

/// A started worker: the handler, the runtime's tunables, and what `serve`'s playground
/// reports about it.
pub(crate) struct Ready {
    pub(crate) handler: VectorizeHandler,
    pub(crate) config: runpod::WorkerConfig,
    /// The pipeline settings in force.
    pub(crate) pipeline: crate::settings::PipelineSettings,
    /// Whether phase 2 has a model and is enabled.
    pub(crate) steering_available: bool,
    /// `(phase, provider)` of every session built.
    pub(crate) phases: Vec<(String, String)>,
    /// `input.max_image_bytes`.
    pub(crate) max_image_bytes: u64,
}

/// Loads settings, ONNX Runtime and every phase session; returns the handler and the worker
/// configuration. A failure names the check that failed (for the unhealthy report).
pub(crate) fn start(start: &WorkerStart) -> Result<Ready, (String, anyhow::Error)> {
    let settings = Settings::load(&LoadOptions {
        root: start.root.clone(),
        overlay: start.overlay.clone(),
        env: start.env.clone(),
        overrides: Vec::new(),
    })
    .context("invalid configuration")
    .map_err(|e| ("configuration".to_owned(), e))?;
    let handler_settings = HandlerSettings::load(&start.root, None, &start.env)
        .context("invalid handler.toml")
        .map_err(|e| ("configuration".to_owned(), e))?;
    // RunPod's BUCKET_* variables: the operator's bucket for every job's outputs.
    let bucket = crate::delivery::Bucket::from_env(&start.env)
        .context("invalid bucket settings")
        .map_err(|e| ("configuration".to_owned(), e))?;
    worker_config(&handler_settings.worker)
        .validate()
        .context("invalid worker settings")
        .map_err(|e| ("configuration".to_owned(), e))?;
    tracing::info!(sources = ?settings.sources, profile = ?settings.profile, "settings loaded");
    let engine = Engine::load(&settings.engine)
        .context("loading ONNX Runtime")
        .map_err(|e| ("onnxruntime".to_owned(), e))?;
    let models = engine
        .load_models(&settings.pipeline)
        .context("building the phase sessions")
        .map_err(|e| ("models".to_owned(), e))?;
    for report in &models.reports {
        tracing::info!(phase = %report.phase, provider = %report.provider, model = %report.model.display(), "phase session ready");
    }
    let steering_available = models.steer.is_some() && settings.pipeline.phase2.enabled;
    let phases = models
        .reports
        .iter()
        .map(|report| (report.phase.to_string(), report.provider.to_string()))
        .collect();
    let pipeline = Arc::new(Pipeline::new(settings.pipeline.clone(), models));
    let config = HandlerConfig {
        input: handler_settings.input,
        output: handler_settings.output,
        allow_private_downloads: truthy(&start.env, "RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS"),
        bucket,
    };
    Ok(Ready {
        handler: VectorizeHandler::new(pipeline, config)
            .with_output_options(settings.output.clone()),
        config: worker_config(&handler_settings.worker),
        pipeline: settings.pipeline.clone(),
        steering_available,
        phases,
        max_image_bytes: handler_settings.input.max_image_bytes,
    })
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    // Multi-threaded: the runtime enforces deadlines from another thread than the handler's.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Completes on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received");
}

pub(crate) fn init_logging(
    runpod_env: &runpod::RunpodEnv,
    env: &[(String, String)],
) -> anyhow::Result<()> {
    let level = env
        .iter()
        .find(|(k, _)| k == "RUST_LOG")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| {
            format!(
                "{},ort=warn,hyper=info,h2=info,reqwest=info",
                runpod_env.log_level
            )
        });
    runpod::logging::init(runpod_env.endpoint_id.is_some(), &level).context("starting logging")
}

/// A bad `RUNPOD_*` value (issue 12): in production (a job-take URL set, no `--test-input`) it
/// is reported to the ping URL as a failed `environment` check, unless the ping URL is itself
/// the bad value; either way the worker exits 2 with the error naming the variable and value.
fn refuse_environment(
    env: &[(String, String)],
    local: bool,
    error: runpod::Error,
) -> anyhow::Error {
    let production = !local
        && env
            .iter()
            .any(|(key, value)| key == "RUNPOD_WEBHOOK_GET_JOB" && !value.trim().is_empty());
    if production {
        let reason = error.to_string();
        let sent = runtime().is_ok_and(|runtime| {
            runtime.block_on(runpod::report_unhealthy_from_vars(
                env,
                "environment",
                &reason,
            ))
        });
        if !sent {
            eprintln!("gemini3: the unhealthy report was not sent (RUNPOD_WEBHOOK_PING is unset, invalid or unreachable)");
        }
    }
    anyhow::Error::new(error).context("invalid RunPod environment")
}

/// `gemini3 worker`.
pub fn run_worker(
    start_options: WorkerStart,
    test_input: Option<String>,
    output_dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let runpod_env = match runpod::RunpodEnv::from_vars(start_options.env.clone()) {
        Ok(env) => env,
        Err(error) => {
            return Err(refuse_environment(
                &start_options.env,
                test_input.is_some(),
                error,
            ))
        }
    };
    init_logging(&runpod_env, &start_options.env)?;
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let mode = runpod::select_mode(&runpod_env, test_input, &cwd).context("choosing the mode")?;
    let runtime = runtime()?;
    let started = start(&start_options);
    let (handler, config) = match started {
        Ok(ready) => (ready.handler, ready.config),
        Err((check, error)) => {
            if matches!(mode, runpod::Mode::Production) {
                let reason = format!("{error:#}");
                runtime.block_on(runpod::report_unhealthy(&runpod_env, &check, &reason));
            }
            return Err(error);
        }
    };
    let handler = Arc::new(handler);
    match mode {
        runpod::Mode::Production => {
            runtime
                .block_on(runpod::run_production(
                    handler,
                    config,
                    runpod_env,
                    shutdown_signal(),
                ))
                .context("worker loop")?;
            Ok(ExitCode::SUCCESS)
        }
        runpod::Mode::Local(json) => {
            let outcome = runtime
                .block_on(runpod::run_local(handler, config, &json))
                .context("running the test input")?;
            if let Some(dir) = output_dir {
                write_outputs(dir, &outcome.body)?;
            }
            println!("{}", serde_json::to_string(&summary(&outcome.body))?);
            Ok(if outcome.success {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// The body printed in local mode: the SVG is replaced by its size when it was written out,
/// so the terminal shows the metadata rather than megabytes of path data.
fn summary(body: &serde_json::Value) -> serde_json::Value {
    let mut body = body.clone();
    if let Some(svg) = body.pointer_mut("/output/svg") {
        if let Some(text) = svg.as_str() {
            *svg = serde_json::Value::String(format!("<{} bytes of SVG>", text.len()));
        }
    }
    body
}

fn write_outputs(dir: &Path, body: &serde_json::Value) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    if let Some(svg) = body.pointer("/output/svg").and_then(|v| v.as_str()) {
        let path = dir.join("test_output.svg");
        std::fs::write(&path, svg).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    let path = dir.join("test_output.json");
    std::fs::write(&path, serde_json::to_string_pretty(body)?)
        .with_context(|| format!("writing {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
