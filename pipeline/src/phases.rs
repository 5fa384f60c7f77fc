//! The phases of [`Pipeline::run`], one function each, and what a run accumulates for the
//! metadata ([`Run`]). Phase 2's attempts and gate are in `steer`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::alpha;
use crate::cancel::CancelToken;
use crate::fringe;
use crate::kmeans::{self, AutoPaletteError, AutoPaletteOptions};
use crate::mode;
use crate::model::{PlanarImage, Provider, SteerModel};
use crate::options::TraceMode;
use crate::outputs::same_size;
use crate::palette::{self, Palette};
use crate::resolve::{PaletteChoice, Resolved};
use crate::steer::Accepted;
use crate::supersample;
use crate::trace::{self, TraceError, TraceInput, Traced};
use crate::working::{self, WorkingImage};
use crate::{
    DecodedImage, Metadata, Output, Phase, PhaseReport, Pipeline, PipelineError, PipelineErrorKind,
    Progress, Request, SteeringReport,
};

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

/// Everything a run accumulates for the metadata.
pub(crate) struct Run<'a> {
    pub(crate) cancel: &'a CancelToken,
    progress: &'a mut dyn FnMut(Progress),
    started: Instant,
    phases: BTreeMap<String, PhaseReport>,
    pub(crate) warnings: Vec<String>,
}

impl<'a> Run<'a> {
    pub(crate) fn new(cancel: &'a CancelToken, progress: &'a mut dyn FnMut(Progress)) -> Self {
        Self {
            cancel,
            progress,
            started: Instant::now(),
            phases: BTreeMap::new(),
            warnings: Vec::new(),
        }
    }

    pub(crate) fn check(&self, phase: Phase) -> Result<(), PipelineError> {
        if self.cancel.is_cancelled() {
            Err(PipelineError::cancelled(phase))
        } else {
            Ok(())
        }
    }

    pub(crate) fn record(&mut self, phase: Phase, elapsed: Duration, provider: Provider) {
        self.phases.insert(
            phase.key().to_owned(),
            PhaseReport {
                ms: milliseconds(elapsed),
                provider,
            },
        );
    }

    pub(crate) fn report(&mut self, phase: Phase, message: String) {
        (self.progress)(Progress {
            phase,
            percent: percent_after(phase),
            message,
        });
    }
}

/// The working image and its opacity levels, at the working resolution (or, once phase 2 is
/// accepted at `s ×`, at that resolution).
pub(crate) struct Canvas {
    pub(crate) working: WorkingImage,
    /// Opacity level per pixel: `0` not drawn, `resolved.trace.alpha_levels` opaque.
    pub(crate) levels: Vec<u8>,
    /// Whether each pixel is drawn at all (`level > 0`).
    pub(crate) drawn: Vec<bool>,
    /// Working pixels per plate pixel: phase 2's factor once accepted at `s ×`, else 1.
    pub(crate) upscale: u32,
}

impl Canvas {
    fn size(&self) -> (u32, u32) {
        (self.working.width, self.working.height)
    }
}

/// The palette, and what the input's pixels say about it.
pub(crate) struct Inks {
    pub(crate) palette: Palette,
    /// The palette's colours in OKLab.
    lab: Vec<[f32; 3]>,
    /// The input has few flat pixels (a photo): neighbouring near colours are its detail.
    few_flat: bool,
}

/// The labels phase 4 traces, and the image they were made from.
pub(crate) struct Labelled {
    labels: Vec<u8>,
    image: PlanarImage,
}

/// Majority passes over the supersampled label map, near colours only.
const FINE_PASSES: usize = 2;
/// Passes of the 3×3 majority filter over the labels.
const MAJORITY_PASSES: usize = 2;

/// On clean input the majority filter only moves a pixel between labels this close in OKLab
/// (about four just-noticeable differences: neighbouring bands of a quantised gradient).
const NEAR_COLORS: f32 = 0.08;

impl Pipeline {
    /// Opacity levels of the working image (at `resolved.trace.alpha_levels`).
    pub(crate) fn prepare(
        &self,
        image: &DecodedImage,
        working: WorkingImage,
        resolved: &Resolved,
        run: &mut Run<'_>,
    ) -> Canvas {
        let (width, height) = (working.width, working.height);
        let levels = alpha::classify(
            &working.alpha,
            width as usize,
            height as usize,
            resolved.alpha(),
            resolved.trace.alpha_levels,
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
        Canvas {
            working,
            levels,
            drawn,
            upscale: 1,
        }
    }

    /// Phase 1: the clean plate (the padded working image itself when phase 1 is off).
    pub(crate) fn clean_plate(
        &self,
        working: &WorkingImage,
        run: &mut Run<'_>,
    ) -> Result<PlanarImage, PipelineError> {
        let Some(clean) = &self.models.clean else {
            return Ok(working.padded.clone());
        };
        run.check(Phase::Clean)?;
        let started = Instant::now();
        let plate = clean
            .clean(&working.padded, run.cancel)
            .map_err(PipelineError::model(Phase::Clean))?;
        same_size(Phase::Clean, &working.padded, &plate)?;
        run.record(Phase::Clean, started.elapsed(), clean.provider());
        run.report(Phase::Clean, "clean plate ready".to_owned());
        Ok(plate)
    }

    /// Phase 3's palette: the fixed one, or learned from the input (clean artwork: its flat
    /// colours survive exactly whatever phase 1 does) or from the plate (lossy artwork: a
    /// JPEG's shadows and shading are no flatter than its edges, but they are drawn colours).
    pub(crate) fn inks(
        &self,
        resolved: &Resolved,
        canvas: &Canvas,
        plate: &PlanarImage,
        lossy: bool,
        cancel: &CancelToken,
    ) -> Result<Inks, PipelineError> {
        let phase3 = &self.settings.phase3;
        let (width, height) = canvas.size();
        let padded = &canvas.working.padded;
        // The input's flat colours (an automatic palette's samples for clean artwork) and
        // whether it has few flat pixels (a photo).
        let (input_samples, few_flat) =
            working::palette_samples(padded, width, height, &canvas.drawn);
        let palette = match &resolved.palette {
            PaletteChoice::Requested(palette) | PaletteChoice::Default(palette) => palette.clone(),
            &PaletteChoice::Automatic { max_colors, .. } => {
                let (pixels, samples_few_flat) = if lossy {
                    working::lossy_palette_samples(plate, width, height, &canvas.drawn)
                } else {
                    (input_samples, few_flat)
                };
                // Lossy artwork spreads every flat colour into a cloud of shades: colours
                // further apart. Photos (few flat pixels, lossy or not) need every colour.
                let noisy = lossy && !samples_few_flat;
                let auto = AutoPaletteOptions {
                    max_colors,
                    min_separation: if noisy {
                        kmeans::NOISY_SEPARATION
                    } else {
                        kmeans::MIN_SEPARATION
                    },
                    iterations: phase3.kmeans_iterations,
                    sample: phase3.kmeans_sample,
                };
                match Palette::automatic(&pixels, &auto, cancel) {
                    // Small features the clustering left without a colour (clean input: in a
                    // JPEG the far pixels are mostly its ringing).
                    Ok(palette) if !lossy => kmeans::with_detail_colors(
                        palette,
                        &working::drawn_pixels(padded, width, height, &canvas.drawn),
                        max_colors,
                        phase3.kmeans_sample,
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
        let lab = palette
            .colors()
            .iter()
            .map(|color| palette::srgb_to_oklab(color.to_unit()))
            .collect();
        Ok(Inks {
            palette,
            lab,
            few_flat,
        })
    }

    /// Phase 2: restore and upscale (or steer), gated against the plate's labels. When it is
    /// accepted at `s ×`, the canvas is enlarged to match and phases 3 and 4 work on its
    /// output at that size (the SVG stays in input pixels); otherwise the plate is traced.
    /// `steer`: the model when phase 2 runs (`steering_wanted`), `report` its note if not.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn steer_phase(
        &self,
        resolved: &Resolved,
        steer: Option<Arc<dyn SteerModel>>,
        report: SteeringReport,
        canvas: Canvas,
        plate: PlanarImage,
        plate_labels: Vec<u8>,
        palette: &Palette,
        run: &mut Run<'_>,
    ) -> Result<(Canvas, Labelled, SteeringReport), PipelineError> {
        let Some(steer) = steer else {
            let labelled = Labelled {
                labels: plate_labels,
                image: plate,
            };
            return Ok((canvas, labelled, report));
        };
        let started = Instant::now();
        let outcome = self.steer(
            steer.as_ref(),
            resolved.steering,
            &plate,
            &plate_labels,
            palette,
            &canvas.working,
            run,
        )?;
        run.record(Phase::Steer, started.elapsed(), steer.provider());
        let report = outcome.report;
        run.report(
            Phase::Steer,
            format!(
                "steering: {} attempt(s), best IoU {:.3}, {}",
                report.attempts,
                report.iou.unwrap_or(0.0),
                if report.accepted {
                    format!("accepted at {}x", report.scale)
                } else {
                    "refused".to_owned()
                }
            ),
        );
        let (canvas, labelled) = match outcome.accepted {
            Some(Accepted {
                labels,
                image,
                scale,
            }) if scale > 1 => {
                let (width, height) = canvas.size();
                let upscaled = working::upscale(&canvas.working, image.clone(), scale);
                let levels = alpha::upscale_levels(
                    &canvas.levels,
                    width as usize,
                    height as usize,
                    &upscaled.alpha,
                    scale as usize,
                    resolved.trace.alpha_levels,
                );
                let drawn = levels.iter().map(|level| *level > 0).collect();
                let canvas = Canvas {
                    working: upscaled,
                    levels,
                    drawn,
                    upscale: scale,
                };
                (canvas, Labelled { labels, image })
            }
            Some(Accepted { labels, image, .. }) => (canvas, Labelled { labels, image }),
            None => (
                canvas,
                Labelled {
                    labels: plate_labels,
                    image: plate,
                },
            ),
        };
        Ok((canvas, labelled, report))
    }

    /// The end of phase 3: labels cleaned of anti-aliasing fringes, stray pixels and
    /// duplicate colours; translucent pixels take the ink nearest their own colour.
    pub(crate) fn settle_labels(
        &self,
        resolved: &Resolved,
        canvas: &Canvas,
        labelled: &mut Labelled,
        inks: &Inks,
        lossy: bool,
    ) {
        let (width, height) = canvas.size();
        let (width, height) = (width as usize, height as usize);
        let working = &canvas.working;
        let labels = &mut labelled.labels;
        fringe::vote_flat_regions(labels, &working.opaque, &working.padded, width, height);
        let before = opaque_inks(labels, &working.opaque);
        // Resampling rims are artwork's; a photo's thin regions near their neighbours' colour
        // are its detail (photos −0.14 dB with them merged).
        let rims = !inks.few_flat;
        fringe::merge_fringes(
            labels,
            &working.opaque,
            &labelled.image,
            width,
            height,
            rims,
        );
        // Inks the fringe merge emptied (a resampler's rim around a shape) are no colour of
        // the art: translucent pixels do not take them either.
        let after = opaque_inks(labels, &working.opaque);
        let emptied: Vec<bool> = before.iter().zip(&after).map(|(b, a)| *b && !*a).collect();
        // Stray labels: on lossy input all of them; on clean input only between near colours
        // (the ragged band edges of quantised gradients). Not on photos (few flat pixels):
        // there neighbouring near colours are the detail.
        if !inks.few_flat {
            fringe::majority_filter(
                labels,
                &working.opaque,
                width,
                height,
                MAJORITY_PASSES,
                (!lossy).then_some((inks.lab.as_slice(), NEAR_COLORS)),
            );
        }
        if let PaletteChoice::Automatic { .. } = resolved.palette {
            kmeans::merge_near_duplicates(labels, &canvas.drawn, &inks.palette);
        }
        // A translucent pixel's ink is the palette colour nearest its own (straight) colour:
        // the models saw faint pixels faded towards white, which is not the shadow's colour.
        let top = resolved.trace.alpha_levels;
        for (index, level) in canvas.levels.iter().enumerate() {
            if *level == 0 || *level >= top {
                continue;
            }
            let own = &working.straight[index * 3..index * 3 + 3];
            let lab = palette::srgb_to_oklab([own[0], own[1], own[2]]);
            labels[index] = palette::nearest_oklab_among(&inks.lab, lab, |k| !emptied[k]) as u8;
        }
    }

    /// Phase 4: the trace mode, sub-pixel labels, tracing. Returns the traced SVG, the
    /// options it was traced with (`auto` decided) and the label scale. `hard`: the upload's
    /// edges are aliased (see `TraceInput::source_pixel`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn trace_phase(
        &self,
        resolved: &Resolved,
        request: &Request,
        canvas: Canvas,
        labelled: Labelled,
        inks: &Inks,
        hard: bool,
        cancel: &CancelToken,
    ) -> Result<(Traced, trace::TraceOptions, u32), PipelineError> {
        let (width, height) = canvas.size();
        let top = resolved.trace.alpha_levels;
        let mut options = resolved.trace;
        let coarse_view: Vec<u8> = labelled
            .labels
            .iter()
            .zip(&canvas.levels)
            .map(|(label, level)| if *level == 0 { u8::MAX } else { *label })
            .collect();
        let fragmentation = mode::fragmentation(&coarse_view, width as usize, height as usize);
        options.mode = mode::resolve(options.mode, fragmentation);
        // The configured speckle size is for art of at least 256 working pixels; a smaller
        // upload's specks are its details (unless the request sets the size itself). After
        // phase 2 it stays in working pixels: judged in the plate's pixels it thinned
        // multi-ink outlines (outline/clean −0.92 dB, bench/upscale.md).
        let upscale = canvas.upscale;
        if !resolved.speckle_given {
            options.filter_speckle = trace::art_speckle(options.filter_speckle, width.max(height));
        }
        // A photo's small regions are its detail (the speckle filter cost photos 0.5 dB
        // and SSIM), unless the request sets the speckle size itself; its sub-pixel labels
        // stop at 2× (see `mode::PHOTO_FRAGMENTATION`).
        if fragmentation > mode::PHOTO_FRAGMENTATION {
            if !resolved.speckle_given {
                options.filter_speckle = 1;
            }
            options.supersample = options.supersample.min(mode::PHOTO_SUPERSAMPLE);
        }
        drop(coarse_view);
        // Exact pixel outlines gain nothing from sub-pixel labels and would only grow: they
        // stay at the working resolution.
        let scale = if options.mode == TraceMode::Pixel {
            1
        } else {
            supersample::factor(
                width,
                height,
                options.supersample,
                self.settings.working_size,
            )
        };
        let coarse = supersample::LabelGrid {
            width: width as usize,
            height: height as usize,
            labels: labelled.labels,
            levels: canvas.levels,
        };
        let mut fine = supersample::refine(
            &supersample::Coarse {
                grid: &coarse,
                alpha: &canvas.working.alpha,
                image: &labelled.image,
                palette: &inks.palette,
                levels: top,
                // Phase 2's resampled alpha ramps over `s` working pixels: the inset in
                // alpha shrinks `s ×` so edges move in by the same share of a pixel.
                edge_inset: supersample::EDGE_INSET / canvas.upscale.max(1) as f32,
            },
            scale,
        );
        drop(coarse);
        // The fine map's band edges between near colours (a gradient's) are ragged at the fine
        // scale, and each notch traced as a tiny curve: smoothing them kept every set's PSNR
        // and cut glossy icons' bytes by 5 % (quick benchmark). Edges between far colours stay.
        if scale > 1 {
            let opaque_fine: Vec<bool> = fine.levels.iter().map(|level| *level >= top).collect();
            fringe::majority_filter(
                &mut fine.labels,
                &opaque_fine,
                fine.width,
                fine.height,
                FINE_PASSES,
                Some((inks.lab.as_slice(), NEAR_COLORS)),
            );
        }
        if cancel.is_cancelled() {
            return Err(PipelineError::cancelled(Phase::Trace));
        }
        let input = TraceInput {
            width: fine.width as u32,
            height: fine.height as u32,
            labels: &fine.labels,
            levels: &fine.levels,
            alpha_levels: top,
            scale,
            upscale,
            palette: &inks.palette,
            output_width: request.image.width,
            output_height: request.image.height,
            max_bytes: request.max_svg_bytes.unwrap_or(usize::MAX),
            // Working pixels per pixel of a hard-edged upload: `s` once phase 2 enlarged it.
            source_pixel: if hard { f64::from(upscale) } else { 0.0 },
            coverage: Some(trace::WorkingPixels {
                alpha: &canvas.working.alpha,
                straight: &canvas.working.straight,
            }),
        };
        let traced = trace::trace(&input, &options, cancel).map_err(|error| match error {
            TraceError::Cancelled => PipelineError::cancelled(Phase::Trace),
            TraceError::TooLarge { limit } => {
                PipelineError::new(Phase::Trace, PipelineErrorKind::OutputTooLarge { limit })
            }
            other => {
                PipelineError::new(Phase::Trace, PipelineErrorKind::Internal(other.to_string()))
            }
        })?;
        Ok((traced, options, scale))
    }

    /// The SVG and its metadata.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn output(
        &self,
        resolved: &Resolved,
        image: &DecodedImage,
        traced: Traced,
        options: trace::TraceOptions,
        label_scale: u32,
        palette: &Palette,
        steering: SteeringReport,
        run: Run<'_>,
    ) -> Output {
        let inks: Vec<String> = traced
            .inks
            .iter()
            .map(|label| palette.colors()[usize::from(*label)].hex())
            .collect();
        let metadata = Metadata {
            width: image.width,
            height: image.height,
            palette: inks,
            palette_requested: resolved.palette.fixed().map(Palette::hex_list),
            layers: traced.layers,
            colors_used: traced.colors_used,
            paths: traced.paths,
            primitives: traced.primitives,
            trace_mode: traced.mode,
            alpha: options.alpha,
            layout: options.layout,
            label_scale,
            svg_bytes: traced.svg.len(),
            phases: run.phases,
            steering,
            warnings: run.warnings,
            total_ms: milliseconds(run.started.elapsed()),
        };
        Output {
            svg: traced.svg,
            metadata,
        }
    }
}

/// Which palette indices label at least one opaque pixel.
fn opaque_inks(labels: &[u8], opaque: &[bool]) -> Vec<bool> {
    let mut used = vec![false; 256];
    for (label, _) in labels.iter().zip(opaque).filter(|(_, o)| **o) {
        used[usize::from(*label)] = true;
    }
    used
}
