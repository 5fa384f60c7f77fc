//! The vectorization pipeline: decoded image in, palette-exact SVG and metadata out.
//!
//! `decode → working resolution → phase1 clean plate → phase2 steering (optional, IoU-gated)
//! → phase3 palette quantisation → phase4 image tracing → SVG + metadata`
//!
//! - [`decode`]: bytes to an oriented RGBA image, with limits enforced before allocating.
//! - `working`: compositing onto white, the working resolution (downscale only) and padding.
//! - [`kmeans`]: automatic palettes (k-means in OKLab, deterministic).
//! - [`fringe`]: label clean-up after phase 3: one label per flat input region, and
//!   anti-aliasing fringes merged into the regions they blend.
//! - [`gate`]: the phase-2 IoU score; `steer`: phase 2's attempts and its gate.
//! - [`mode`]: `trace.mode = "auto"`, the label map's fragmentation and the mode it picks.
//! - [`trace`]: phase 4, stacked-layer image tracing on visioncortex, in parallel on one
//!   process-wide pool ([`trace::init_thread_pool`]).
//! - [`svg`]: the SVG writer: ink groups of paths, path data, the byte limit.
//! - [`components`]: the one 4-connected flood fill, shared by `trace` and `fringe`.
//! - [`model`]: the phase-model traits and the [`PhaseModels`] bundle; `crate::engine`
//!   implements and builds them with ONNX Runtime.
//! - `job`: what a run takes and gives: [`Request`], [`Progress`], [`Output`] and its
//!   [`Metadata`], [`PipelineError`] (re-exported here).
//! - [`request`]: the job's [`JobOptions`], read straight from the job input's JSON, and the
//!   one definition of each option's range.
//! - [`options`]: the pipeline's typed options ([`PipelineSettings`], [`TraceOptions`]);
//!   `crate::settings` builds them from the configuration.
//!
//! [`Pipeline::run`] is blocking: the caller runs it on a blocking thread. It reports
//! [`Progress`] after each phase, checks the [`CancelToken`] between phases and inside long
//! loops, and fails with a [`PipelineError`] that names the phase. This module knows nothing
//! about HTTP, RunPod or the command line.

pub mod alpha;
pub mod components;
pub mod cutout;
pub mod decode;
pub mod fit;
pub mod fringe;
pub mod gate;
mod job;
pub mod kmeans;
pub mod masks;
pub mod mode;
pub mod model;
pub mod options;
mod outputs;
pub mod palette;
pub mod polygons;
pub mod request;
pub mod shapes;
mod steer;
pub mod supersample;
pub mod svg;
pub mod trace;
pub mod working;

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use crate::cancel::CancelToken;

use alpha::AlphaMode;
pub use decode::{decode, DecodeLimits, DecodedImage};
pub use job::{
    Metadata, Output, Phase, PhaseReport, PipelineError, PipelineErrorKind, Progress, Request,
    SteeringReport,
};
use kmeans::{AutoPaletteError, AutoPaletteOptions};
use model::{PhaseModels, Provider};
use options::{PipelineSettings, TraceMode, TraceOptions};
use outputs::{quantize_cropped, same_size};
use palette::Palette;
pub use request::{JobOptions, SteeringRequest, TraceOverrides, GAP_FILLER_MAX};
use steer::Accepted;
use trace::{TraceError, TraceInput};

/// Share of the overall progress reached after each phase.
fn percent_after(phase: Phase) -> u8 {
    match phase {
        Phase::Decode => 5,
        Phase::Clean => 25,
        Phase::Steer => 50,
        Phase::Quantize => 65,
        Phase::Trace => 100,
    }
}

fn milliseconds(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1e6).round() / 1e3
}

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

/// Everything a run accumulates for the metadata.
struct Run<'a> {
    cancel: &'a CancelToken,
    progress: &'a mut dyn FnMut(Progress),
    phases: BTreeMap<String, PhaseReport>,
    warnings: Vec<String>,
}

impl Run<'_> {
    fn check(&self, phase: Phase) -> Result<(), PipelineError> {
        if self.cancel.is_cancelled() {
            Err(PipelineError::cancelled(phase))
        } else {
            Ok(())
        }
    }

    fn record(&mut self, phase: Phase, elapsed: Duration, provider: Provider) {
        self.phases.insert(
            phase.key().to_owned(),
            PhaseReport {
                ms: milliseconds(elapsed),
                provider,
            },
        );
    }

    fn report(&mut self, phase: Phase, message: String) {
        (self.progress)(Progress {
            phase,
            percent: percent_after(phase),
            message,
        });
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

    /// Runs every phase on `request`. Blocking: call it from a blocking thread.
    pub fn run(
        &self,
        request: &Request,
        cancel: &CancelToken,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Output, PipelineError> {
        let started = Instant::now();
        let settings = &self.settings;
        let mut run = Run {
            cancel,
            progress,
            phases: BTreeMap::new(),
            warnings: Vec::new(),
        };
        let options = self.validate(request)?;
        run.check(Phase::Decode)?;

        // Working resolution and opacity levels.
        let image = &request.image;
        let working = working::prepare(image, settings.working_size, settings.pad_multiple);
        let (width, height) = (working.width, working.height);
        let top = settings.phase4.alpha_levels;
        let levels = alpha::classify(
            &working.alpha,
            width as usize,
            height as usize,
            options.alpha,
            top,
        );
        let drawn: Vec<bool> = levels.iter().map(|level| *level > 0).collect();
        if !drawn.contains(&true) {
            run.warnings
                .push("the image is fully transparent: the SVG has no paths".to_owned());
        }
        run.report(
            Phase::Decode,
            format!(
                "{}x{} image, working at {width}x{height}",
                image.width, image.height
            ),
        );

        // Phase 1.
        let plate = match &self.models.clean {
            Some(clean) => {
                run.check(Phase::Clean)?;
                let phase_started = Instant::now();
                let plate = clean
                    .clean(&working.padded, cancel)
                    .map_err(PipelineError::model(Phase::Clean))?;
                same_size(Phase::Clean, &working.padded, &plate)?;
                run.record(Phase::Clean, phase_started.elapsed(), clean.provider());
                run.report(Phase::Clean, "clean plate ready".to_owned());
                plate
            }
            None => working.padded.clone(),
        };

        // Lossy input (a JPEG upload) is handled differently: its palette is learned from the
        // clean plate with colours further apart, and stray one-pixel labels are filtered.
        let lossy = image.lossy;

        // The input's flat colours (an automatic palette's samples for clean artwork) and
        // whether it has few flat pixels (a photo).
        let (input_samples, input_few_flat) =
            working::palette_samples(&working.padded, width, height, &drawn);

        // Phase 3's palette, then the clean plate's labels (the reference of the gate).
        run.check(Phase::Quantize)?;
        let quantize_started = Instant::now();
        let palette = match (&request.options.palette, &settings.phase3.default_palette) {
            (Some(palette), _) | (None, Some(palette)) => palette.clone(),
            (None, None) => {
                // Clean artwork learns its colours from the input, so its flat colours
                // survive exactly whatever phase 1 does. Lossy artwork learns them from the
                // plate, smooth gradients included (a JPEG's shadows and shading are no
                // flatter than its edges, but they are drawn colours).
                let (pixels, few_flat) = if lossy {
                    working::lossy_palette_samples(&plate, width, height, &drawn)
                } else {
                    (input_samples, input_few_flat)
                };
                // Lossy artwork spreads every flat colour into a cloud of shades: colours
                // further apart. Photos (few flat pixels, lossy or not) need every colour.
                let noisy = lossy && !few_flat;
                let auto = AutoPaletteOptions {
                    max_colors: options.max_colors,
                    min_separation: if noisy {
                        kmeans::NOISY_SEPARATION
                    } else {
                        kmeans::MIN_SEPARATION
                    },
                    iterations: settings.phase3.kmeans_iterations,
                    sample: settings.phase3.kmeans_sample,
                };
                match Palette::automatic(&pixels, &auto, cancel) {
                    // Small features the clustering left without a colour (clean input: in a JPEG the
                    // far pixels are mostly its ringing).
                    Ok(palette) if !lossy => kmeans::with_detail_colors(
                        palette,
                        &working::drawn_pixels(
                            if lossy { &plate } else { &working.padded },
                            width,
                            height,
                            &drawn,
                        ),
                        options.max_colors,
                        settings.phase3.kmeans_sample,
                    ),
                    Ok(palette) => palette,
                    Err(AutoPaletteError::Cancelled) => {
                        return Err(PipelineError::cancelled(Phase::Quantize))
                    }
                    // Nothing is drawn, so any single colour does: white, the backdrop.
                    Err(AutoPaletteError::NoPixels) => {
                        Palette::from_hex(&["ffffff"]).expect("a valid literal palette")
                    }
                    Err(error @ AutoPaletteError::BadMaxColors(_)) => {
                        return Err(PipelineError::invalid(
                            Phase::Quantize,
                            "max_colors",
                            error.to_string(),
                        ))
                    }
                }
            }
        };
        let quantize = &self.models.quantize;
        let plate_labels =
            quantize_cropped(quantize.as_ref(), &plate, &palette, (width, height), cancel)?;
        let quantize_elapsed = quantize_started.elapsed();

        // Phase 2: restore and upscale (or steer), gated; when accepted at `s ×`, phases 3
        // and 4 work on its output at that size (the SVG stays in input pixels).
        let mut steering = SteeringReport::default();
        let mut working = working;
        let (mut width, mut height, mut levels, mut drawn) = (width, height, levels, drawn);
        let steered =
            match self.steering_wanted(request, &working, &mut steering, &mut run.warnings) {
                Some(steer) => {
                    let phase_started = Instant::now();
                    let outcome = self.steer(
                        steer.as_ref(),
                        request,
                        &plate,
                        &plate_labels,
                        &palette,
                        &working,
                        &mut run,
                    )?;
                    run.record(Phase::Steer, phase_started.elapsed(), steer.provider());
                    steering = outcome.report;
                    run.report(
                        Phase::Steer,
                        format!(
                            "steering: {} attempt(s), best IoU {:.3}, {}",
                            steering.attempts,
                            steering.iou.unwrap_or(0.0),
                            if steering.accepted {
                                format!("accepted at {}x", steering.scale)
                            } else {
                                "refused".to_owned()
                            }
                        ),
                    );
                    outcome.accepted
                }
                None => None,
            };
        let mut upscale = 1;
        let (mut labels, labelled_image) = match steered {
            Some(Accepted {
                labels,
                image,
                scale,
            }) if scale > 1 => {
                let upscaled = working::upscale(&working, image.clone(), scale);
                levels = alpha::upscale_levels(
                    &levels,
                    width as usize,
                    height as usize,
                    &upscaled.alpha,
                    scale as usize,
                    top,
                );
                working = upscaled;
                upscale = scale;
                (width, height) = (working.width, working.height);
                drawn = levels.iter().map(|level| *level > 0).collect();
                (labels, image)
            }
            Some(Accepted { labels, image, .. }) => (labels, image),
            None => (plate_labels, plate),
        };
        run.check(Phase::Quantize)?;
        let fringe_started = Instant::now();
        fringe::vote_flat_regions(
            &mut labels,
            &working.opaque,
            &working.padded,
            width as usize,
            height as usize,
        );
        fringe::merge_fringes(
            &mut labels,
            &working.opaque,
            &labelled_image,
            width as usize,
            height as usize,
        );
        // Stray labels: on lossy input all of them; on clean input only between near colours
        // (the ragged band edges of quantised gradients).
        let palette_lab: Vec<[f32; 3]> = palette
            .colors()
            .iter()
            .map(|color| palette::srgb_to_oklab(color.to_unit()))
            .collect();
        // Not on photos (few flat pixels): there neighbouring
        // near colours are the detail.
        if !input_few_flat {
            fringe::majority_filter(
                &mut labels,
                &working.opaque,
                width as usize,
                height as usize,
                MAJORITY_PASSES,
                (!lossy).then_some((palette_lab.as_slice(), NEAR_COLORS)),
            );
        }
        if request.options.palette.is_none() && settings.phase3.default_palette.is_none() {
            kmeans::merge_near_duplicates(&mut labels, &drawn, &palette);
        }
        // A translucent pixel's ink is the palette colour nearest its own (straight) colour:
        // the models saw faint pixels faded towards white, which is not the shadow's colour.
        for (index, level) in levels.iter().enumerate() {
            if *level == 0 || *level >= top {
                continue;
            }
            let own = &working.straight[index * 3..index * 3 + 3];
            let lab = palette::srgb_to_oklab([own[0], own[1], own[2]]);
            labels[index] = nearest(&palette_lab, lab);
        }
        let quantize_elapsed = quantize_elapsed + fringe_started.elapsed();
        run.record(Phase::Quantize, quantize_elapsed, quantize.provider());
        run.report(
            Phase::Quantize,
            format!("quantised to {} palette colours", palette.len()),
        );

        // Phase 4: the mode, sub-pixel labels, tracing.
        run.check(Phase::Trace)?;
        let trace_started = Instant::now();
        let mut trace_options = options.trace;
        let coarse_view: Vec<u8> = labels
            .iter()
            .zip(&levels)
            .map(|(label, level)| if *level == 0 { u8::MAX } else { *label })
            .collect();
        let fragmentation = mode::fragmentation(&coarse_view, width as usize, height as usize);
        trace_options.mode = mode::resolve(trace_options.mode, fragmentation);
        // The configured speckle size is for art of at least 256 working pixels; a smaller
        // upload's specks are its details (unless the request sets the size itself). It is
        // judged in the plate's pixels: after phase 2's `s ×` a speck the upload cannot
        // carry (under a pixel of a 96 px upload) is `s²` working pixels, and the network's
        // noise makes many (bench/upscale.md).
        if request.options.trace.filter_speckle.is_none() {
            trace_options.filter_speckle =
                trace::art_speckle(trace_options.filter_speckle, width.max(height) / upscale)
                    * upscale
                    * upscale;
        }
        // A photo's small regions are its detail (the speckle filter cost photos 0.5 dB
        // and SSIM), unless the request sets the speckle size itself; its sub-pixel labels
        // stop at 2× (see `mode::PHOTO_FRAGMENTATION`).
        if fragmentation > mode::PHOTO_FRAGMENTATION {
            if request.options.trace.filter_speckle.is_none() {
                trace_options.filter_speckle = 1;
            }
            trace_options.supersample = trace_options.supersample.min(mode::PHOTO_SUPERSAMPLE);
        }
        drop(coarse_view);
        // Exact pixel outlines gain nothing from sub-pixel labels and would only grow: they
        // stay at the working resolution.
        let scale = if trace_options.mode == TraceMode::Pixel {
            1
        } else {
            supersample::factor(
                width,
                height,
                trace_options.supersample,
                settings.working_size,
            )
        };
        let coarse = supersample::LabelGrid {
            width: width as usize,
            height: height as usize,
            labels,
            levels,
        };
        let fine = supersample::refine(
            &supersample::Coarse {
                grid: &coarse,
                alpha: &working.alpha,
                image: &labelled_image,
                palette: &palette,
                levels: top,
            },
            scale,
        );
        drop(coarse);
        // The fine map's band edges between near colours (a gradient's) are ragged at the fine
        // scale, and each notch traced as a tiny curve: smoothing them kept every set's PSNR
        // and cut glossy icons' bytes by 5 % (quick benchmark). Edges between far colours stay.
        let mut fine = fine;
        if scale > 1 {
            let opaque_fine: Vec<bool> = fine.levels.iter().map(|level| *level >= top).collect();
            fringe::majority_filter(
                &mut fine.labels,
                &opaque_fine,
                fine.width,
                fine.height,
                FINE_PASSES,
                Some((palette_lab.as_slice(), NEAR_COLORS)),
            );
        }
        run.check(Phase::Trace)?;
        let input = TraceInput {
            width: fine.width as u32,
            height: fine.height as u32,
            labels: &fine.labels,
            levels: &fine.levels,
            alpha_levels: top,
            scale,
            upscale,
            palette: &palette,
            output_width: image.width,
            output_height: image.height,
            max_bytes: request.max_svg_bytes.unwrap_or(usize::MAX),
        };
        let traced = trace::trace(&input, &trace_options, cancel).map_err(|error| match error {
            TraceError::Cancelled => PipelineError::cancelled(Phase::Trace),
            TraceError::TooLarge { limit } => {
                PipelineError::new(Phase::Trace, PipelineErrorKind::OutputTooLarge { limit })
            }
            other => {
                PipelineError::new(Phase::Trace, PipelineErrorKind::Internal(other.to_string()))
            }
        })?;
        run.record(Phase::Trace, trace_started.elapsed(), Provider::Cpu);
        run.report(
            Phase::Trace,
            format!("{} paths, {} bytes", traced.paths, traced.svg.len()),
        );

        let inks: Vec<String> = traced
            .inks
            .iter()
            .map(|label| palette.colors()[usize::from(*label)].hex())
            .collect();
        let palette_requested = request
            .options
            .palette
            .as_ref()
            .or(settings.phase3.default_palette.as_ref())
            .map(Palette::hex_list);
        let metadata = Metadata {
            width: image.width,
            height: image.height,
            palette: inks,
            palette_requested,
            layers: traced.layers,
            colors_used: traced.colors_used,
            paths: traced.paths,
            primitives: traced.primitives,
            trace_mode: traced.mode,
            alpha: options.alpha,
            layout: trace_options.layout,
            label_scale: scale,
            svg_bytes: traced.svg.len(),
            phases: run.phases,
            steering,
            warnings: run.warnings,
            total_ms: milliseconds(started.elapsed()),
        };
        Ok(Output {
            svg: traced.svg,
            metadata,
        })
    }

    /// Checks the request's options and resolves them against the settings.
    fn validate(&self, request: &Request) -> Result<ResolvedOptions, PipelineError> {
        let options = &request.options;
        options.check()?;
        let image = &request.image;
        if image.width == 0 || image.height == 0 || image.rgba.len() != image.pixel_count() * 4 {
            return Err(PipelineError::invalid(
                Phase::Decode,
                "image",
                format!(
                    "{}x{} with {} bytes of RGBA is not a valid image",
                    image.width,
                    image.height,
                    image.rgba.len()
                ),
            ));
        }
        let mut trace: TraceOptions = self.settings.phase4;
        let overrides = options.trace;
        trace.mode = overrides.mode.unwrap_or(trace.mode);
        trace.filter_speckle = overrides.filter_speckle.unwrap_or(trace.filter_speckle);
        trace.primitives = overrides.primitives.unwrap_or(trace.primitives);
        trace.layout = options.layout.unwrap_or(trace.layout);
        trace.gap_filler = options.gap_filler.unwrap_or(trace.gap_filler);
        Ok(ResolvedOptions {
            max_colors: options
                .max_colors
                .unwrap_or(self.settings.phase3.max_colors),
            trace,
            alpha: options.alpha.unwrap_or(self.settings.phase4.alpha),
        })
    }
}

/// Request options resolved against the settings.
struct ResolvedOptions {
    max_colors: u8,
    trace: TraceOptions,
    alpha: AlphaMode,
}

/// Majority passes over the supersampled label map, near colours only.
const FINE_PASSES: usize = 2;
/// Passes of the 3×3 majority filter over the labels.
const MAJORITY_PASSES: usize = 2;

/// On clean input the majority filter only moves a pixel between labels this close in OKLab
/// (about four just-noticeable differences: neighbouring bands of a quantised gradient).
const NEAR_COLORS: f32 = 0.08;

/// The index of the colour of `inks` (OKLab) nearest to `lab`.
fn nearest(inks: &[[f32; 3]], lab: [f32; 3]) -> u8 {
    let distance = |ink: &[f32; 3]| {
        (ink[0] - lab[0]).powi(2) + (ink[1] - lab[1]).powi(2) + (ink[2] - lab[2]).powi(2)
    };
    inks.iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| distance(a).total_cmp(&distance(b)))
        .map_or(0, |(index, _)| index as u8)
}

#[cfg(test)]
mod tests;
