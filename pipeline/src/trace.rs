//! Phase 4, image tracing: a label map and its palette in, SVG out.
//!
//! **Stacked layers, so there are no gaps.** Labels are ranked by area, largest first. Layer
//! `r` is the mask of the opaque pixels of rank `r`, reaching one working pixel under the
//! later shapes it touches (or under the whole of them when that outline is shorter), filled
//! with the colour of rank `r`; later layers paint over earlier ones. Where two shapes meet,
//! the earlier one therefore runs on under the later one, and the curve fitting of the later
//! one can never open a sliver between them. It does not reach under later shapes it never
//! touches: their outlines would be fitted twice, and the earlier colour would show as a
//! hairline wherever the two fits differ. Fully transparent pixels belong to no mask and get
//! no paths.
//!
//! **Translucent layers** (opacity levels between 0 and `L`, see `alpha`) are painted first,
//! one nested layer per level present per colour with a `fill-opacity` that makes the stack
//! reach `level / L`, each reaching a little under the opaque shapes next to it so no seam
//! opens between a shape and its shadow.
//!
//! **Ink groups.** The layers are written through `svg` in painting order, grouped by ink: a
//! colour's translucent layers (consecutive, one per level) form one group, each opaque
//! layer its own; so an ink with a soft shadow and an opaque shape has two groups, the
//! translucent one lower. Each group's area share counts the label map's pixels of that ink
//! at those opacities, over all drawn pixels.
//!
//! **Speckles** (4-connected regions of one colour and level smaller than `filter_speckle`
//! working pixels, transparency counted as one) are merged into the neighbour they touch most
//! before the layers are built, so tiny islands and pinholes cost no path data.
//!
//! The grid may be finer than the working resolution (`scale`, see `supersample`); speckle
//! areas, curve tolerances and corner reach are in working pixels and scale with it. After
//! phase 2's `s ×` upscale (`upscale`), translucent outlines' tolerance grows `s ×` and corner
//! reach `√s ×`: a soft shadow's level contours and the upload's pixel steps, sharpened by the
//! upscaler, are detail the upload never carried (opaque edges keep the working tolerance:
//! loosened 2×, they lost 0.1 to 0.8 dB at the art's size, bench/upscale.md). Pixel
//! outlines and their polygon simplification come from visioncortex
//! (`PathI32::image_to_path`); `spline` mode fits them with our own curve fitter (`fit`).
//! Connected components and holes are found with `components`: visioncortex's own clustering
//! counts clusters in a `u16` and panics past 65535, which an adversarial image can reach.
//!
//! **Parallelism.** Layers are traced in parallel on rayon's global pool, one pool for the
//! process shared by every job (so concurrent jobs never oversubscribe the CPUs). It is sized
//! once, on first use, by rayon's default (`RAYON_NUM_THREADS`, else one thread per CPU).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;

use crate::cancel::CancelToken;
use crate::components::merge_speckles;
use crate::cutout;
use crate::masks::{self, Window};
pub use crate::options::TraceOptions;
use crate::options::{Layout, TraceMode};
use crate::palette::srgb_to_oklab;
use crate::svg::{self, InkGroup, InkRole, Paint, PathWriter, SvgPath};

mod coverage;
pub(crate) mod io;
mod layer;
pub use io::{TraceError, TraceInput, Traced, WorkingPixels};
use layer::{LayerJob, LayerOutput, Scratch};

/// The key of a transparent pixel in the traced grid (keys are `level << 8 | label`).
const TRANSPARENT_KEY: u16 = u16::MAX;

/// An opaque label's place in painting order (largest area first). Two bytes a fine pixel:
/// the rank map is read for every pixel of every opaque layer's window, and at 8 bytes it was
/// the largest share of the layers' own time (memory traffic).
type Rank = u16;

/// The rank of a pixel that is not opaque (transparent or translucent).
const NO_RANK: Rank = Rank::MAX;

/// Chord length, in working pixels, over which corners are judged: long enough that the
/// steps of a sampled slanted edge do not count as corners.
const CORNER_REACH: f64 = 3.0;

/// Long side (working pixels) at and above which the configured speckle area applies as is.
pub const SPECKLE_REFERENCE_SIDE: u32 = 256;

/// The speckle area for art whose long side is `long_side` working pixels, from the
/// configured one (`phase4.filter_speckle`, meant for art of at least
/// [`SPECKLE_REFERENCE_SIDE`]): scaled by `(long_side / 256)²` below that, rounded, at least 1
/// (a 4 px speck of a 96 px icon is a real detail of the art). `0` stays `0`.
pub fn art_speckle(configured: u32, long_side: u32) -> u32 {
    if configured == 0 || long_side >= SPECKLE_REFERENCE_SIDE {
        return configured;
    }
    let ratio = f64::from(long_side) / f64::from(SPECKLE_REFERENCE_SIDE);
    ((f64::from(configured) * ratio * ratio).round() as u32).clamp(1, configured)
}

/// One `<path>` of the stacked layout, in painting order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    /// Translucent pixels of `label` at level `level` or above, painted over the layer of
    /// the colour's next lower level present, `below`, with opacity
    /// `(level − below) / (L − below)`, so that nested layers of one colour add up to
    /// `level / L`.
    Translucent { label: u8, level: u8, below: u8 },
    /// Opaque pixels of the label ranked `rank` (by area, largest first), reaching under the
    /// later shapes they touch (`LayerJob::opaque_mask`).
    Opaque { rank: Rank, label: u8 },
}

impl Layer {
    fn label(self) -> u8 {
        match self {
            Layer::Translucent { label, .. } | Layer::Opaque { label, .. } => label,
        }
    }

    fn role(self) -> InkRole {
        match self {
            Layer::Translucent { .. } => InkRole::Translucent,
            Layer::Opaque { .. } => InkRole::Opaque,
        }
    }
}

/// The traced grid: one key per pixel (`level << 8 | label`, [`TRANSPARENT_KEY`] where
/// nothing is drawn), speckles merged, and the options with `auto` resolved.
struct KeyGrid {
    keys: Vec<u16>,
    width: usize,
    height: usize,
    /// The opaque level `L`.
    top: u8,
    /// Grid pixels per working pixel.
    scale: usize,
    /// Working pixels per plate pixel (phase 2's factor).
    upscale: usize,
    /// Grid pixels per hard-edged source pixel (`TraceInput::source_pixel`).
    source: f64,
    /// The working image (`TraceInput::coverage`).
    coverage: Option<Working>,
    options: TraceOptions,
}

/// The working image a grid was refined from (see `TraceInput::coverage`).
struct Working {
    alpha: Vec<f32>,
    straight: Vec<f32>,
    width: usize,
    height: usize,
}

impl KeyGrid {
    fn is_opaque(&self, key: u16) -> bool {
        key != TRANSPARENT_KEY && (key >> 8) as u8 == self.top
    }
}

/// Traces `input` into an SVG whose `width`, `height` and `viewBox` are the output size.
///
/// Translucent layers are painted first, each reaching about one working pixel under the
/// opaque shapes next to it so no seam opens between a shape and its shadow; the opaque
/// layers are stacked over them.
pub fn trace(
    input: &TraceInput<'_>,
    options: &TraceOptions,
    cancel: &CancelToken,
) -> Result<Traced, TraceError> {
    let grid = key_grid(input, options)?;
    if cancel.is_cancelled() {
        return Err(TraceError::Cancelled);
    }
    match grid.options.layout {
        Layout::Stacked => stacked(&grid, input, cancel),
        Layout::Cutout => cutout::document(&grid.cutout_input(input), input, &grid.options, cancel),
    }
}

impl KeyGrid {
    /// The grid as the cutout layout (and the gap filler) see it.
    fn cutout_input<'a>(&'a self, input: &TraceInput<'a>) -> cutout::CutoutInput<'a> {
        cutout::CutoutInput {
            keys: &self.keys,
            width: self.width,
            height: self.height,
            top: self.top,
            scale: self.scale,
            palette: input.palette,
        }
    }
}

/// Checks the input and builds its key grid.
fn key_grid(input: &TraceInput<'_>, options: &TraceOptions) -> Result<KeyGrid, TraceError> {
    let width = input.width as usize;
    let height = input.height as usize;
    let pixels = width * height;
    if input.labels.len() != pixels || input.levels.len() != pixels || pixels == 0 {
        return Err(TraceError::BadInput(format!(
            "label map of {} and opacity map of {} values do not match {}x{}",
            input.labels.len(),
            input.levels.len(),
            width,
            height
        )));
    }
    let top = input.alpha_levels.max(2);
    if let Some(bad) = input.levels.iter().find(|level| **level > top) {
        return Err(TraceError::BadInput(format!(
            "opacity level {bad} is above the opaque level {top}"
        )));
    }
    let mut keys: Vec<u16> = input
        .labels
        .iter()
        .zip(input.levels)
        .map(|(label, level)| {
            if *level == 0 {
                TRANSPARENT_KEY
            } else {
                u16::from(*level) << 8 | u16::from(*label)
            }
        })
        .collect();
    if let Some(bad) = keys
        .iter()
        .find(|key| **key != TRANSPARENT_KEY && usize::from(**key & 0xff) >= input.palette.len())
    {
        return Err(TraceError::BadInput(format!(
            "label {} is outside the palette of {} colours",
            bad & 0xff,
            input.palette.len()
        )));
    }
    let scale = input.scale.max(1) as usize;
    let min_area = options.filter_speckle as usize * scale * scale;
    if min_area > 1 {
        merge_speckles(&mut keys, width, height, min_area);
    }
    if options.mode == TraceMode::Auto {
        // The pipeline decides `auto` once, from the labels before sub-pixel refinement.
        return Err(TraceError::BadInput(
            "trace mode auto must be decided before tracing".to_owned(),
        ));
    }
    let resolved = *options;
    Ok(KeyGrid {
        keys,
        width,
        height,
        top,
        scale,
        upscale: input.upscale.max(1) as usize,
        source: input.source_pixel * scale as f64,
        coverage: input.coverage.and_then(|pixels| {
            let (w, h) = (width / scale, height / scale);
            let fits = w * scale == width
                && h * scale == height
                && pixels.alpha.len() == w * h
                && pixels.straight.len() == 3 * w * h;
            fits.then(|| Working {
                alpha: pixels.alpha.to_vec(),
                straight: pixels.straight.to_vec(),
                width: w,
                height: h,
            })
        }),
        options: resolved,
    })
}

/// The stacked layers of a grid in painting order, and what they need.
struct Stack {
    layers: Vec<Layer>,
    /// Rank of each pixel's label among the opaque labels, [`NO_RANK`] where not opaque.
    ranks: Vec<Rank>,
    /// Nothing is transparent or translucent: the largest layer is the whole canvas.
    whole_canvas: bool,
    /// Pixels per (label, opaque?) and drawn pixels in all, for the groups' area shares.
    areas: [[usize; 2]; 256],
    /// A window holding the pixels of each key.
    boxes: Vec<Window>,
    drawn: usize,
}

impl Stack {
    fn build(grid: &KeyGrid, palette_len: usize) -> Self {
        // Opaque labels ranked by area, largest first (ties by palette order); the colours
        // that have translucent pixels, with the levels they reach.
        let mut areas = [[0usize; 2]; 256];
        // Which (label, level) keys occur, by key.
        let mut present = vec![false; 1 << 16];
        let mut drawn = 0;
        // The window of each key's pixels.
        let mut boxes = vec![Window::EMPTY; 1 << 16];
        for (index, key) in grid.keys.iter().enumerate() {
            if *key == TRANSPARENT_KEY {
                continue;
            }
            boxes[usize::from(*key)].include(index % grid.width, index / grid.width);
            drawn += 1;
            let label = usize::from(*key & 0xff);
            if grid.is_opaque(*key) {
                areas[label][1] += 1;
            } else {
                areas[label][0] += 1;
                present[usize::from(*key)] = true;
            }
        }
        // Translucent (label, level) pairs in ascending order.
        let translucent: Vec<(u8, u8)> = (0..=255u8)
            .flat_map(|label| (0..=255u8).map(move |level| (label, level)))
            .filter(|&(label, level)| present[usize::from(level) << 8 | usize::from(label)])
            .collect();
        let mut order: Vec<u8> = (0..palette_len as u8)
            .filter(|label| areas[usize::from(*label)][1] > 0)
            .collect();
        order.sort_by(|a, b| {
            areas[usize::from(*b)][1]
                .cmp(&areas[usize::from(*a)][1])
                .then(a.cmp(b))
        });
        let mut rank = [NO_RANK; 256];
        for (position, label) in (0..).zip(&order) {
            rank[usize::from(*label)] = position;
        }
        let ranks: Vec<Rank> = grid
            .keys
            .iter()
            .map(|key| {
                if grid.is_opaque(*key) {
                    rank[usize::from(*key & 0xff)]
                } else {
                    NO_RANK
                }
            })
            .collect();
        let mut layers: Vec<Layer> = Vec::new();
        // One layer per level present, in ascending order per colour (`translucent` is sorted).
        let mut previous: Option<(u8, u8)> = None;
        for (label, level) in &translucent {
            let below = match previous {
                Some((last, last_level)) if last == *label => last_level,
                _ => 0,
            };
            layers.push(Layer::Translucent {
                label: *label,
                level: *level,
                below,
            });
            previous = Some((*label, *level));
        }
        for (position, label) in (0..).zip(&order) {
            layers.push(Layer::Opaque {
                rank: position,
                label: *label,
            });
        }
        Self {
            layers,
            ranks,
            whole_canvas: drawn == grid.keys.len() && translucent.is_empty(),
            areas,
            boxes,
            drawn,
        }
    }

    /// The share of the drawn pixels a layer's ink has in its role.
    fn area(&self, layer: Layer) -> f64 {
        let opaque = usize::from(layer.role() == InkRole::Opaque);
        let count = self.areas[usize::from(layer.label())][opaque];
        count as f64 / self.drawn.max(1) as f64
    }
}

/// The stacked layout: translucent layers, then the opaque layers, traced in parallel and
/// written as ink groups.
fn stacked(
    grid: &KeyGrid,
    input: &TraceInput<'_>,
    cancel: &CancelToken,
) -> Result<Traced, TraceError> {
    let stack = Stack::build(grid, input.palette.len());
    let writer = PathWriter::new(
        grid.width,
        grid.height,
        input.output_width,
        input.output_height,
        grid.options.path_precision,
    );
    let job = LayerJob {
        grid,
        ranks: &stack.ranks,
        boxes: &stack.boxes,
        writer: &writer,
        cancel,
        max_bytes: input.max_bytes,
        inner_art: stack
            .layers
            .iter()
            .any(|layer| matches!(layer, Layer::Translucent { .. }))
            .then(|| {
                let opaque: Vec<bool> = grid.keys.iter().map(|&key| grid.is_opaque(key)).collect();
                masks::erode(&opaque, grid.width, grid.height, grid.scale)
            }),
        labs: input
            .palette
            .colors()
            .iter()
            .map(|color| srgb_to_oklab(color.to_unit()))
            .collect(),
    };
    let colors = input.palette.colors();
    let grid_size = (grid.width, grid.height);
    // Largest first: a layer's area is a fair guess at its cost (its mask, growth and
    // outlines), and the largest, started last, would leave the other threads idle.
    let costs: Vec<f64> = stack
        .layers
        .iter()
        .map(|layer| stack.area(*layer))
        .collect();
    let data = trace_layers(
        &stack.layers,
        &costs,
        cancel,
        grid_size,
        |index, layer, scratch| {
            if stack.whole_canvas && matches!(layer, Layer::Opaque { rank: 0, .. }) {
                return Ok(LayerOutput {
                    data: writer.rectangle(input.output_width, input.output_height),
                    ..LayerOutput::default()
                });
            }
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                job.trace_layer(layer, scratch)
            }))
            .unwrap_or_else(|_| {
                Err(TraceError::FitterPanicked {
                    layer: index,
                    color: colors[usize::from(layer.label())].hex(),
                })
            })
        },
    )?;

    // Consecutive layers of one ink and role make one group.
    let mut groups: Vec<InkGroup> = Vec::new();
    let mut inks = BTreeSet::new();
    for (layer, data) in stack.layers.iter().zip(data) {
        let paint = match *layer {
            Layer::Translucent { level, below, .. } => Paint::Fill {
                opacity: Some(f64::from(level - below) / f64::from(grid.top - below)),
            },
            Layer::Opaque { .. } => Paint::Fill { opacity: None },
        };
        if !data.data.is_empty() || !data.shapes.is_empty() {
            inks.insert(layer.label());
        }
        let color = colors[usize::from(layer.label())].0;
        let path = SvgPath {
            data: data.data,
            paint,
            shapes: data.shapes,
            arcs: data.arcs,
        };
        match groups.last_mut() {
            Some(group) if group.color == color && group.role == layer.role() => {
                group.paths.push(path);
            }
            _ => groups.push(InkGroup {
                color,
                role: layer.role(),
                area: stack.area(*layer),
                paths: vec![path],
            }),
        }
    }
    // The gap filler (when asked for) under everything: see `cutout`.
    let filler = cutout::gap_filler_groups(
        &grid.cutout_input(input),
        &grid.options,
        grid.options.gap_filler,
        &writer,
        cancel,
    )?;
    groups.splice(0..0, filler);
    let written = svg::write_document(
        input.output_width,
        input.output_height,
        &groups,
        input.max_bytes,
    )?;
    Ok(Traced {
        paths: written.paths(),
        primitives: written.primitives,
        svg: written.svg,
        mode: grid.options.mode,
        colors_used: inks.len(),
        inks: inks.into_iter().collect(),
        layers: written.layers,
    })
}

/// Runs `trace` on every layer on the global pool, the costliest (by `costs`) first: each
/// thread takes the next layer in that order as it finishes one, so the largest layers start
/// at once and the small ones fill in around them. Each thread has its own [`Scratch`]
/// (flood and mask buffers of the grid's size). Returns the layers' path data in layer order, or the first failure in layer order;
/// after a failure, layers not yet started are skipped.
fn trace_layers<T: Send>(
    layers: &[Layer],
    costs: &[f64],
    cancel: &CancelToken,
    grid_size: (usize, usize),
    trace: impl Fn(usize, Layer, &mut Scratch) -> Result<T, TraceError> + Sync,
) -> Result<Vec<T>, TraceError> {
    let mut order: Vec<usize> = (0..layers.len()).collect();
    order.sort_by(|&a, &b| costs[b].total_cmp(&costs[a]).then(a.cmp(&b)));
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let slots: Vec<Mutex<Option<Result<T, TraceError>>>> =
        layers.iter().map(|_| Mutex::new(None)).collect();
    let threads = rayon::current_num_threads().clamp(1, layers.len().max(1));
    (0..threads).into_par_iter().for_each(|_| {
        let mut scratch: Option<Scratch> = None;
        loop {
            let position = next.fetch_add(1, Ordering::Relaxed);
            let Some(&index) = order.get(position) else {
                break;
            };
            if failed.load(Ordering::Relaxed) {
                break;
            }
            let result = if cancel.is_cancelled() {
                Err(TraceError::Cancelled)
            } else {
                let scratch = scratch.get_or_insert_with(|| Scratch::new(grid_size.0, grid_size.1));
                trace(index, layers[index], scratch)
            };
            if result.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            *slots[index]
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(result);
        }
    });
    let results = slots.into_iter().map(|slot| {
        slot.into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    });
    let mut data = Vec::with_capacity(layers.len());
    for result in results {
        match result {
            Some(Ok(layer)) => data.push(layer),
            Some(Err(error)) => return Err(error),
            // Skipped after a failure (elsewhere in the list).
            None => {}
        }
    }
    if data.len() < layers.len() {
        return Err(TraceError::Cancelled);
    }
    Ok(data)
}

#[cfg(test)]
#[path = "trace_tests.rs"]
mod tests;
