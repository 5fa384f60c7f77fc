//! What comes out of a pipeline run (the request that goes in is in `request`): the
//! [`Progress`] reports, the [`Output`] with its [`Metadata`], and the
//! [`PipelineError`] that names the phase. Re-exported from `pipeline`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::alpha::AlphaMode;
use crate::model::{ModelError, Provider};
use crate::options::{Layout, TraceMode};
use crate::svg;

/// A stage of the pipeline, used in progress, errors and logs.
///
/// Displayed as `decode`, `phase1` … `phase4` (the metadata keys); serialised in lower case
/// (`"decode"`, `"clean"`, `"steer"`, `"quantize"`, `"trace"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Decoding and the working resolution.
    Decode,
    /// Phase 1: the clean plate.
    Clean,
    /// Phase 2: generative steering and its IoU gate.
    Steer,
    /// Phase 3: palette and quantisation.
    Quantize,
    /// Phase 4: image tracing and SVG.
    Trace,
}

impl Phase {
    /// `decode`, `phase1`, `phase2`, `phase3` or `phase4`.
    pub fn key(self) -> &'static str {
        match self {
            Phase::Decode => "decode",
            Phase::Clean => "phase1",
            Phase::Steer => "phase2",
            Phase::Quantize => "phase3",
            Phase::Trace => "phase4",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A progress report, sent after each phase.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    /// The phase that just finished.
    pub phase: Phase,
    /// Overall progress, 0..=100.
    pub percent: u8,
    /// A short human sentence.
    pub message: String,
}

/// Milliseconds and provider of one phase.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhaseReport {
    /// Wall-clock milliseconds.
    pub ms: f64,
    /// Where it ran (image tracing always runs on the CPU).
    pub provider: Provider,
}

/// What phase 2 did: `{"attempts": 1, "iou": 0.93, "accepted": true, "scale": 4, "note": null}`.
/// `iou` is the best attempt's score, `null` when phase 2 did not run; `scale` is the factor
/// phases 3 and 4 worked at (1 when no attempt was accepted); `note` says why the phase did
/// not run or was refused.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SteeringReport {
    /// Steering runs made (0 when phase 2 is off).
    pub attempts: u32,
    /// The best attempt's IoU against the clean plate.
    pub iou: Option<f32>,
    /// Whether an attempt reached the threshold (and was used).
    pub accepted: bool,
    /// The accepted output's scale over the working image; 1 when none was used.
    pub scale: u32,
    /// Why phase 2 was skipped or its output refused, when it was.
    pub note: Option<String>,
}

impl Default for SteeringReport {
    fn default() -> Self {
        Self {
            attempts: 0,
            iou: None,
            accepted: false,
            scale: 1,
            note: None,
        }
    }
}

/// The metadata of a finished job (DESIGN.md section 4):
///
/// ```json
/// {"width": 512, "height": 512, "palette": ["#ff0000", "#ffffff"],
///  "layers": [{"id": "ink-ffffff", "color": "#ffffff", "role": "opaque", "paths": 1, "area": 0.75},
///             {"id": "ink-ff0000", "color": "#ff0000", "role": "opaque", "paths": 1, "area": 0.25}],
///  "colors_used": 2, "paths": 2, "svg_bytes": 1234,
///  "phases": {"phase1": {"ms": 12.3, "provider": "cpu"}, "phase3": {...}, "phase4": {...}},
///  "steering": {"attempts": 0, "iou": null, "accepted": false},
///  "warnings": [], "total_ms": 45.6}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metadata {
    /// SVG width, input pixels.
    pub width: u32,
    /// SVG height, input pixels.
    pub height: u32,
    /// The inks the SVG uses, `#rrggbb`, in palette order.
    pub palette: Vec<String>,
    /// The palette the request (or `phase3.default_palette`) asked for, echoed; `null` for
    /// an automatic palette.
    pub palette_requested: Option<Vec<String>>,
    /// The SVG's ink groups (`<g id="ink-rrggbb">`), bottom to top in painting order: id,
    /// ink, role (`opaque`, `translucent`, `gap-filler`), paths, and share of the drawn
    /// pixels (see [`svg`]).
    pub layers: Vec<svg::Layer>,
    /// Palette colours that appear as fills.
    pub colors_used: usize,
    /// Shape elements (`<path>`, `<circle>`, `<ellipse>`, `<rect>`).
    pub paths: usize,
    /// Exact geometry written: `{circles, ellipses, rects, arcs}` (whole shapes, and
    /// elliptic-arc commands in path data).
    pub primitives: svg::Primitives,
    /// How outlines were traced (`spline`, `polygon` or `pixel`; `auto` resolved).
    pub trace_mode: TraceMode,
    /// How partly transparent pixels were drawn (`levels` or `threshold`).
    pub alpha: AlphaMode,
    /// How the shapes relate (`stacked` or `cutout`).
    pub layout: Layout,
    /// Labels were re-made at this many times the working resolution for sub-pixel edges.
    pub label_scale: u32,
    /// Size of the SVG text.
    pub svg_bytes: usize,
    /// Per phase that ran, keyed `phase1` … `phase4`.
    pub phases: BTreeMap<String, PhaseReport>,
    /// Phase 2's outcome.
    pub steering: SteeringReport,
    /// Things the caller should know (a steering gate that was skipped, a transparent image).
    pub warnings: Vec<String>,
    /// Wall-clock milliseconds of [`crate::Pipeline::run`].
    pub total_ms: f64,
}

/// The SVG and its metadata.
#[derive(Debug, Clone)]
pub struct Output {
    /// The SVG document.
    pub svg: String,
    /// What was done.
    pub metadata: Metadata,
}

/// What went wrong, in which phase.
#[derive(Debug, thiserror::Error)]
#[error("{phase}: {kind}")]
pub struct PipelineError {
    /// Where it happened.
    pub phase: Phase,
    /// What happened.
    pub kind: PipelineErrorKind,
}

impl PipelineError {
    /// An error in `phase`.
    pub fn new(phase: Phase, kind: PipelineErrorKind) -> Self {
        Self { phase, kind }
    }

    pub(crate) fn invalid(phase: Phase, field: &str, message: String) -> Self {
        Self::new(
            phase,
            PipelineErrorKind::InvalidInput {
                field: field.to_owned(),
                message,
            },
        )
    }

    pub(crate) fn cancelled(phase: Phase) -> Self {
        Self::new(phase, PipelineErrorKind::Cancelled)
    }

    pub(crate) fn model(phase: Phase) -> impl FnOnce(ModelError) -> Self {
        move |error| match error {
            ModelError::Cancelled => Self::cancelled(phase),
            other => Self::new(phase, PipelineErrorKind::Model(other)),
        }
    }
}

/// The kinds of failure; the handler maps each to one job error type.
#[derive(Debug, thiserror::Error)]
pub enum PipelineErrorKind {
    /// The request is wrong: a bad image, a limit, a palette, an option.
    #[error("{field}: {message}")]
    InvalidInput {
        /// The request field (`image`, `palette`, `max_colors`, `steering.strength`, …).
        field: String,
        /// What is wrong, naming the value.
        message: String,
    },
    /// The cancel token fired (deadline or job stop).
    #[error("cancelled")]
    Cancelled,
    /// A phase model failed.
    #[error("{0}")]
    Model(ModelError),
    /// No steering attempt passed the IoU gate and `allow_skip_on_failure` is false.
    #[error("IoU gate failed: the best of {attempts} steering attempts reached IoU {best_iou:.3}, below the threshold {threshold}")]
    GateFailed {
        /// The best attempt's area-weighted label IoU.
        best_iou: f32,
        /// `phase2.iou_retry.iou_threshold`.
        threshold: f32,
        /// Attempts made.
        attempts: u32,
    },
    /// The SVG grew past the output limit; tracing stopped there.
    #[error("the SVG grew past {limit} bytes (output.max_inline_bytes, or output.max_file_bytes with a bucket); shrink it with fewer colours (max_colors or a smaller palette), a larger trace.filter_speckle, or trace.mode \"polygon\"")]
    OutputTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A bug: something that should not happen did.
    #[error("internal error: {0}")]
    Internal(String),
}
