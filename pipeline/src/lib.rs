//! The vectorization pipeline: decoded image in, palette-exact SVG and metadata out.
//!
//! `decode → working resolution → phase1 clean plate → phase2 restore/upscale or steering
//! (optional, IoU-gated) → phase3 palette quantisation → phase4 image tracing → SVG + metadata`
//!
//! The public surface is small: the [`Request`] and its [`JobOptions`] ([`request`]), the
//! typed settings ([`options`]), the phase-model traits ([`model`]), [`Pipeline::run`] and its
//! [`Output`] and [`PipelineError`]; [`decode()`], [`palette`], [`alpha`], the cancellation
//! token ([`cancel`]); and, for the output formats, the conic fits ([`shapes`]) and the SVG's
//! ink groups and number format ([`svg`]). Everything else is private:
//!
//! - `resolve`: a job's options resolved once against the settings; `phases`: one function
//!   per phase, what [`Pipeline::run`] calls in order; `steer`: phase 2's attempts and gate.
//! - `working`: compositing onto white, the working resolution (downscale only) and padding.
//! - `kmeans`: automatic palettes (k-means in OKLab, deterministic).
//! - `fringe`: label clean-up after phase 3: one label per flat input region, and
//!   anti-aliasing fringes merged into the regions they blend.
//! - `gate`: the phase-2 IoU score.
//! - `mode`: `trace.mode = "auto"`, the label map's fragmentation and the mode it picks.
//! - `supersample`: sub-pixel labels for phase 4.
//! - `trace`: phase 4, stacked or cutout layers traced in parallel on rayon's pool;
//!   `fit`, `shapes`, `polygons`: curve fitting and whole shapes; `cutout`: the planar map.
//! - `components`: the one 4-connected flood fill, shared by `trace` and `fringe`.
//! - `job`: what a run takes and gives ([`Request`], [`Progress`], [`Output`], [`Metadata`],
//!   [`PipelineError`], re-exported here).
//!
//! [`Pipeline::run`] is blocking: the caller runs it on a blocking thread. It reports
//! [`Progress`] after each phase, checks the [`CancelToken`] between phases and inside long
//! loops, and fails with a [`PipelineError`] that names the phase. This crate knows nothing
//! about HTTP, RunPod, ONNX Runtime or the command line (its manifest has none of them).

mod aliasing;
pub mod alpha;
pub mod cancel;
mod components;
mod cutout;
pub mod decode;
mod fit;
mod fringe;
mod gate;
mod job;
mod kmeans;
mod masks;
mod mode;
pub mod model;
pub mod options;
mod outputs;
pub mod palette;
mod phases;
mod polygons;
pub mod request;
mod resolve;
pub mod shapes;
mod steer;
mod supersample;
pub mod svg;
mod trace;
mod working;
#[cfg(test)]
mod xorshift;

use std::fmt;
use std::time::Instant;

use crate::cancel::CancelToken;

pub use decode::{decode, DecodeLimits, DecodedImage};
pub use job::{
    Metadata, Output, Phase, PhaseReport, PipelineError, PipelineErrorKind, Progress,
    SteeringReport,
};
use model::{PhaseModels, Provider};
use options::PipelineSettings;
use outputs::quantize_cropped;
use phases::Run;
pub use request::{JobOptions, Request, SteeringRequest, TraceOverrides, GAP_FILLER_MAX};
use resolve::Resolved;
pub use working::working_dimensions;

/// The pipeline: settings plus the phase models, built once and shared across jobs.
pub struct Pipeline {
    settings: PipelineSettings,
    models: PhaseModels,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("working_size", &self.settings.working_size)
            .field("phase1", &self.models.clean.is_some())
            .field("phase2", &self.models.steer.is_some())
            .finish()
    }
}

impl Pipeline {
    /// A pipeline over loaded models (the engine's loaded sessions convert into
    /// [`PhaseModels`]).
    pub fn new(settings: PipelineSettings, models: impl Into<PhaseModels>) -> Self {
        Self {
            settings,
            models: models.into(),
        }
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &PipelineSettings {
        &self.settings
    }

    /// Runs every phase on `request`, in order. Blocking: call it from a blocking thread.
    pub fn run(
        &self,
        request: &Request,
        cancel: &CancelToken,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Output, PipelineError> {
        let mut run = Run::new(cancel, progress);
        let mut resolved = Resolved::new(request, &self.settings)?;
        run.check(Phase::Decode)?;
        let image = &request.image;
        let working = working::prepare(
            image,
            self.settings.working_size,
            self.settings.pad_multiple,
        );
        // Whether phase 2 runs: its palette and opacity levels are then finer
        // (`Resolved::upscaling`), both chosen before it.
        let mut steering = SteeringReport::default();
        let steer = self.steering_wanted(
            resolved.steering,
            &working,
            &mut steering,
            &mut run.warnings,
        );
        if steer.is_some() {
            resolved.upscaling();
        }
        let canvas = self.prepare(image, working, &resolved, &mut run);

        // Phase 1.
        let plate = self.clean_plate(&canvas.working, &mut run)?;

        // Phase 3's palette, then the clean plate's labels (the reference of phase 2's gate).
        run.check(Phase::Quantize)?;
        let quantize_started = Instant::now();
        let inks = self.inks(&resolved, &canvas, &plate, image.lossy, cancel)?;
        let quantize = &self.models.quantize;
        let plate_labels = quantize_cropped(
            quantize.as_ref(),
            &plate,
            &inks.palette,
            (canvas.working.width, canvas.working.height),
            cancel,
        )?;
        let quantize_elapsed = quantize_started.elapsed();

        // Whether the upload's edges are hard (aliased): its whole shapes are then judged
        // against half a pixel of it, also after phase 2 enlarged it (`trace_phase`).
        let hard = !image.lossy
            && aliasing::hard_edges(
                &plate_labels,
                &canvas.levels,
                &canvas.working.straight,
                &canvas.working.alpha,
                canvas.working.width as usize,
                canvas.working.height as usize,
            );

        // Phase 2, gated; then the rest of phase 3 on the labels phase 4 traces.
        let (canvas, mut labelled, steering) = self.steer_phase(
            &resolved,
            steer,
            steering,
            canvas,
            plate,
            plate_labels,
            &inks.palette,
            &mut run,
        )?;
        run.check(Phase::Quantize)?;
        let settle_started = Instant::now();
        self.settle_labels(&resolved, &canvas, &mut labelled, &inks, image.lossy);
        run.record(
            Phase::Quantize,
            quantize_elapsed + settle_started.elapsed(),
            quantize.provider(),
        );
        run.report(
            Phase::Quantize,
            format!("quantised to {} palette colours", inks.palette.len()),
        );

        // Phase 4.
        run.check(Phase::Trace)?;
        let trace_started = Instant::now();
        let (traced, options, label_scale) =
            self.trace_phase(&resolved, request, canvas, labelled, &inks, hard, cancel)?;
        run.record(Phase::Trace, trace_started.elapsed(), Provider::Cpu);
        run.report(
            Phase::Trace,
            format!("{} paths, {} bytes", traced.paths, traced.svg.len()),
        );
        Ok(self.output(
            &resolved,
            image,
            traced,
            options,
            label_scale,
            &inks.palette,
            steering,
            run,
        ))
    }
}

#[cfg(test)]
mod tests;
