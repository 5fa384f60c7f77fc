//! What image tracing takes ([`TraceInput`]) and gives ([`Traced`], [`TraceError`]): shared by
//! the stacked layout (`trace`) and the cutout layout (`cutout`), so neither imports the other
//! for them.

use crate::options::TraceMode;
use crate::palette::Palette;
use crate::svg;

/// What image tracing works on.
#[derive(Debug, Clone, Copy)]
pub struct TraceInput<'a> {
    /// Width of `labels` and `levels` (the working resolution, or a multiple of it).
    pub width: u32,
    /// Height of `labels` and `levels`.
    pub height: u32,
    /// One palette index per pixel, row-major.
    pub labels: &'a [u8],
    /// Opacity level per pixel: `0` not drawn, `alpha_levels` opaque, between: translucent.
    pub levels: &'a [u8],
    /// The opaque level `L`.
    pub alpha_levels: u8,
    /// Grid pixels per working pixel: speckle areas and curve-fitting lengths are in working
    /// pixels and scale with it.
    pub scale: u32,
    /// Working pixels per plate pixel: phase 2's upscale factor (1 without it). Translucent
    /// outlines' tolerance and the reach over which corners are judged grow with it, so work
    /// at `s ×` spends no bytes on detail finer than the upload carries.
    pub upscale: u32,
    /// The colours the labels index.
    pub palette: &'a Palette,
    /// SVG width (input-image pixels).
    pub output_width: u32,
    /// SVG height (input-image pixels).
    pub output_height: u32,
    /// The SVG may not grow past this many bytes (`usize::MAX`: no limit).
    pub max_bytes: usize,
    /// Working pixels per pixel of the hard-edged source the labels came from, whose edges
    /// are only known within half of one: 1 for an aliased upload (no coverage at its
    /// edges), `s` after phase 2 enlarged the upload `s ×`; 0 when edges carry coverage.
    /// Whole shapes judge their fit against it (`shapes::recognise_hard`).
    pub source_pixel: f64,
    /// The working image, when known: whole shapes are refined against the coverage it
    /// carries at their edges (`shapes::refine`).
    pub coverage: Option<WorkingPixels<'a>>,
}

/// The working image's pixels (`TraceInput::width / scale × height / scale`, row-major).
#[derive(Debug, Clone, Copy)]
pub struct WorkingPixels<'a> {
    /// Alpha, `[0, 1]`.
    pub alpha: &'a [f32],
    /// Straight (not premultiplied) sRGB, three values per pixel.
    pub straight: &'a [f32],
}

/// A finished SVG document and its counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Traced {
    /// The SVG text.
    pub svg: String,
    /// The mode the outlines were traced in (`auto` resolved).
    pub mode: TraceMode,
    /// Shape elements written (`<path>`, `<circle>`, `<ellipse>`, `<rect>`).
    pub paths: usize,
    /// The exact geometry written (`metadata.primitives`).
    pub primitives: svg::Primitives,
    /// Distinct fill colours used.
    pub colors_used: usize,
    /// The palette indices that appear as fills, ascending.
    pub inks: Vec<u8>,
    /// The ink groups written, bottom to top (`metadata.layers`).
    pub layers: Vec<svg::Layer>,
}

/// Why image tracing stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceError {
    /// The cancel token fired.
    #[error("cancelled")]
    Cancelled,
    /// Inputs of different sizes, or a label outside the palette.
    #[error("{0}")]
    BadInput(String),
    /// The curve fitter panicked on a shape (a bug in it or here); the worker carries on.
    #[error("the curve fitter failed on layer {layer} ({color})")]
    FitterPanicked {
        /// Rank of the layer.
        layer: usize,
        /// Its colour.
        color: String,
    },
    /// The SVG grew past the byte limit; tracing stopped there.
    #[error("the SVG grew past {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
}

impl From<svg::TooLarge> for TraceError {
    fn from(error: svg::TooLarge) -> Self {
        TraceError::TooLarge { limit: error.limit }
    }
}
