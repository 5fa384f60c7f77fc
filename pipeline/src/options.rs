//! The pipeline's options: what [`Pipeline`](super::Pipeline) needs to run, as plain typed
//! values. The pipeline owns these types; `crate::settings` builds them from the configuration
//! layers (and re-exports them), tests and tools may build them directly. Ranges are checked
//! where they are built; nothing here reads a file or the environment.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::alpha::AlphaMode;
use crate::palette::Palette;

/// Settings of the pipeline phases.
#[derive(Debug, Clone)]
pub struct PipelineSettings {
    /// Long side of the phase models' input, in pixels.
    pub working_size: u32,
    /// Model inputs are padded to a multiple of this.
    pub pad_multiple: u32,
    /// Phase 1.
    pub phase1: CleanSettings,
    /// Phase 2.
    pub phase2: SteerSettings,
    /// Phase 3.
    pub phase3: QuantizeSettings,
    /// Phase 4.
    pub phase4: TraceOptions,
}

/// Phase 1 (clean plate).
#[derive(Debug, Clone)]
pub struct CleanSettings {
    /// Whether the phase runs.
    pub enabled: bool,
    /// The model file (exists when enabled).
    pub model: PathBuf,
}

/// Phase 2 (generative steering).
#[derive(Debug, Clone)]
pub struct SteerSettings {
    /// Whether the phase runs (a request may still turn it off).
    pub enabled: bool,
    /// The model file; `Some` and existing when enabled.
    pub model: Option<PathBuf>,
    /// Strength of the first attempt, in (0, 1].
    pub strength: f32,
    /// Seed of the first attempt.
    pub seed: i64,
    /// On the CPU provider the phase runs only when the working image's long side is at
    /// most this (0: no limit); larger images skip it with a note in the metadata.
    pub cpu_max_side: u32,
    /// On any provider the phase runs only when the working image's long side is at most
    /// this (0: no limit): phases 3 and 4 then work at `s ×` that size.
    pub max_side: u32,
    /// The IoU gate.
    pub iou_retry: IouRetrySettings,
}

/// The phase-2 IoU gate.
#[derive(Debug, Clone)]
pub struct IouRetrySettings {
    /// Further attempts after the first.
    pub max_retries: u32,
    /// Minimum area-weighted label IoU, in (0, 1].
    pub iou_threshold: f32,
    /// Keep the best attempt with a warning when all fail (else the job fails).
    pub allow_skip_on_failure: bool,
    /// Strength multiplier per retry, in (0, 1].
    pub strength_decay: f32,
}

/// Phase 3 (palette quantisation).
#[derive(Debug, Clone)]
pub struct QuantizeSettings {
    /// The model file (exists).
    pub model: PathBuf,
    /// Palette used when a request gives none.
    pub default_palette: Option<Palette>,
    /// Colours of an automatic palette, 1..=64.
    pub max_colors: u8,
    /// k-means iterations.
    pub kmeans_iterations: u32,
    /// Pixels sampled for k-means.
    pub kmeans_sample: usize,
}

/// Curve fitting of traced paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TraceMode {
    /// Smooth cubic Bézier splines.
    Spline,
    /// Straight segments.
    Polygon,
    /// Exact pixel outlines, no simplification (every step of the label map kept).
    Pixel,
    /// Chosen per image from the label map: `polygon` when its regions are fragmented (a
    /// photo, see `mode::PHOTO_FRAGMENTATION`), else `spline`.
    Auto,
}

/// How the traced shapes relate to each other.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Painter's order: larger shapes under smaller ones, each reaching under the shapes
    /// drawn above it. Renders best on screen (no seams).
    #[default]
    Stacked,
    /// Shapes that never overlap and tile the drawn area exactly (a planar map): every
    /// boundary between two regions is traced once and used, reversed, by both. For
    /// cutters, vinyl, screen print and embroidery.
    Cutout,
}

impl Layout {
    /// Its name in job input and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stacked => "stacked",
            Self::Cutout => "cutout",
        }
    }
}

/// Phase 4 (image tracing): how outlines are fitted and written. The configured values, with
/// a request's overrides applied per job.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceOptions {
    /// Spline or polygon.
    pub mode: TraceMode,
    /// Regions smaller than this many pixels are dropped.
    pub filter_speckle: u32,
    /// Corner threshold in degrees.
    pub corner_threshold: f64,
    /// Largest distance, in working pixels, between a traced outline and its fitted
    /// curves (`spline` mode).
    pub fit_tolerance: f64,
    /// Decimal places of path coordinates.
    pub path_precision: u32,
    /// How partly transparent pixels are drawn.
    pub alpha: AlphaMode,
    /// Opacity levels of translucent shapes (`alpha = "levels"`), 2..=16.
    pub alpha_levels: u8,
    /// Largest factor by which labels are re-made above the working resolution for sub-pixel
    /// edges (1 = off); the fine label map's long side stays within `pipeline.working_size`.
    pub supersample: u32,
    /// `stacked` (shapes over larger ones) or `cutout` (shapes that tile the drawn area).
    pub layout: Layout,
    /// Width (output pixels) of the gap filler, strokes under the boundaries between shapes
    /// in one neighbour's colour so no seam shows when rendered; 0 = off.
    pub gap_filler: f64,
    /// Closed outlines that are circles or ellipses within tolerance are written exactly
    /// (`<circle>`, `<ellipse>`, arcs), in `spline` mode; `false`: Béziers only.
    pub primitives: bool,
}
