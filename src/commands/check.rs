//! `gemini3 check`: validate configuration, load ONNX Runtime, build every enabled phase
//! session, check each model against its phase contract, and report the provider of each.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use crate::engine::Engine;
use crate::pipeline::Phase;
use crate::settings::{HandlerSettings, Settings};

/// Runs the check and prints the report to `out`.
pub fn run(
    settings: &Settings,
    handler: &HandlerSettings,
    no_cpu_fallback: bool,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    writeln!(out, "configuration: {}", settings.sources.join(" + "))?;
    writeln!(
        out,
        "profile: {}",
        settings.profile.as_deref().unwrap_or("none")
    )?;
    writeln!(
        out,
        "handler: concurrency {}, job deadline {:?}, max image {} bytes / {} pixels",
        handler.worker.concurrency.next(0),
        handler.worker.job_deadline,
        handler.input.max_image_bytes,
        handler.input.max_pixels
    )?;
    writeln!(
        out,
        "device: {:?}, require_gpu {}, tensorrt {}",
        settings.engine.device,
        settings.engine.require_gpu,
        if settings.engine.disable_tensorrt {
            "disabled"
        } else {
            "allowed"
        }
    )?;
    let engine = Engine::load(&settings.engine).context("loading ONNX Runtime")?;
    writeln!(
        out,
        "onnxruntime: {} (version {})",
        engine.library_path().display(),
        engine.version()
    )?;
    writeln!(out, "build: {}", engine.build_info())?;
    let models = engine
        .load_models(&settings.pipeline)
        .context("building the phase sessions")?;
    let phase_name = |phase: Phase| match phase {
        Phase::Decode => "decode",
        Phase::Clean => "clean",
        Phase::Steer => "steer",
        Phase::Quantize => "quantize",
        Phase::Trace => "trace",
    };
    for report in &models.reports {
        writeln!(
            out,
            "{} {}: {} on {}",
            report.phase,
            phase_name(report.phase),
            report.model.display(),
            report.provider
        )?;
        for (provider, cause) in &report.fallbacks {
            writeln!(out, "  fallback: {provider} unavailable: {cause}")?;
        }
        writeln!(out, "  inputs: {}", report.inputs.join(", "))?;
        writeln!(out, "  outputs: {}", report.outputs.join(", "))?;
    }
    if !settings.pipeline.phase1.enabled {
        writeln!(out, "phase1 clean: disabled")?;
    }
    if !settings.pipeline.phase2.enabled {
        writeln!(out, "phase2 steer: disabled")?;
    }
    writeln!(
        out,
        "phase4 trace: {:?}, filter_speckle {} (Rust, no model)",
        settings.pipeline.phase4.mode, settings.pipeline.phase4.filter_speckle
    )?;
    if no_cpu_fallback {
        for report in &models.reports {
            let provider = engine
                .probe_without_cpu_fallback(&report.model)
                .with_context(|| {
                    format!(
                        "{} with CPU fallback disabled ({})",
                        report.phase,
                        report.model.display()
                    )
                })?;
            writeln!(
                out,
                "{}: every node on {provider} (CPU fallback disabled)",
                report.phase
            )?;
        }
    }
    writeln!(out, "ok")?;
    Ok(ExitCode::SUCCESS)
}
