//! Phase 4, image tracing: a label map and its palette in, SVG out.
//!
//! **Stacked layers, so there are no gaps.** Labels are ranked by area, largest first. Layer
//! `r` is the mask of every opaque pixel whose label ranks `r` or later, filled with the
//! colour of rank `r`; later layers paint over earlier ones. Each layer's shape therefore
//! covers everything drawn above it, and the curve fitting of one layer can never open a
//! sliver between two regions: whatever it misses, the layer below still covers. Fully
//! transparent pixels belong to no mask and get no paths.
//!
//! **Translucent layers** (opacity levels between 0 and `L`, see `alpha`) are painted first,
//! one nested layer per level present per colour with a `fill-opacity` that makes the stack
//! reach `level / L`, each reaching a little under the opaque shapes next to it so no seam
//! opens between a shape and its shadow.
//!
//! **Speckles** (4-connected regions of one colour and level smaller than `filter_speckle`
//! working pixels, transparency counted as one) are merged into the neighbour they touch most
//! before the layers are built, so tiny islands and pinholes cost no path data.
//!
//! The grid may be finer than the working resolution (`scale`, see `supersample`); speckle
//! areas, curve tolerances and corner reach are in working pixels and scale with it. Pixel
//! outlines and their polygon simplification come from visioncortex
//! (`PathI32::image_to_path`); `spline` mode fits them with our own curve fitter (`fit`).
//! Connected components and holes are found here: visioncortex's own clustering counts
//! clusters in a `u16` and panics past 65535, which an adversarial image can reach.
//! Coordinates are scaled to the output size and written as relative path commands, rounded
//! to `path_precision` decimals. Every `fill` is `#rrggbb` of a palette colour. Layers are
//! traced in parallel on scoped threads.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use visioncortex::{BinaryImage, PathI32, PathSimplifyMode, PointF64, PointI32};

use crate::cancel::CancelToken;
use crate::pipeline::fit;
use crate::pipeline::options::TraceMode;
pub use crate::pipeline::options::TraceOptions;
use crate::pipeline::palette::Palette;

/// The label of a transparent pixel inside this module (palettes have at most 64 colours).
const TRANSPARENT: u8 = u8::MAX;

/// The key of a transparent pixel in the traced grid (keys are `level << 8 | label`).
const TRANSPARENT_KEY: u16 = u16::MAX;

/// Chord length, in working pixels, over which corners are judged: long enough that the
/// steps of a sampled slanted edge do not count as corners.
const CORNER_REACH: f64 = 3.0;

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
    /// The colours the labels index.
    pub palette: &'a Palette,
    /// SVG width (input-image pixels).
    pub output_width: u32,
    /// SVG height (input-image pixels).
    pub output_height: u32,
    /// The SVG may not grow past this many bytes (`usize::MAX`: no limit).
    pub max_bytes: usize,
}

/// Region-boundary pixels per pixel of image side (boundary count over the square root of
/// the opaque area) above which `auto` traces exact pixel outlines. The measure does not
/// depend on scale for artwork, whose boundaries are outlines that grow with the side: the
/// benchmark's Twemoji at 48 to 512 px measure 0.6 to 13 once quantised, JPEG-compressed ones
/// 14 to 34 (at 16 to 64 colours). Photos, whose quantised regions are fragmented everywhere,
/// measure 64 to 137 at 300 to 640 px, and there curve fitting costs most fidelity
/// (bench/quality.md, "Photos in pixel mode").
pub const AUTO_PIXEL_FRAGMENTATION: f64 = 40.0;

/// Opaque pixels whose right or lower neighbour is opaque with another label, divided by the
/// square root of the opaque pixel count. `grid` holds a label per pixel, `u8::MAX` for
/// pixels that are not drawn.
pub fn fragmentation(grid: &[u8], width: usize, height: usize) -> f64 {
    let (mut opaque, mut boundary) = (0usize, 0usize);
    for y in 0..height {
        for x in 0..width {
            let label = grid[y * width + x];
            if label == TRANSPARENT {
                continue;
            }
            opaque += 1;
            let differs = |other: u8| other != TRANSPARENT && other != label;
            if (x + 1 < width && differs(grid[y * width + x + 1]))
                || (y + 1 < height && differs(grid[(y + 1) * width + x]))
            {
                boundary += 1;
            }
        }
    }
    if opaque == 0 {
        0.0
    } else {
        boundary as f64 / (opaque as f64).sqrt()
    }
}

/// The mode `auto` resolves to for a label map (`u8::MAX` where nothing is drawn).
pub fn resolve_mode(mode: TraceMode, grid: &[u8], width: usize, height: usize) -> TraceMode {
    if mode != TraceMode::Auto {
        return mode;
    }
    if fragmentation(grid, width, height) > AUTO_PIXEL_FRAGMENTATION {
        TraceMode::Pixel
    } else {
        TraceMode::Spline
    }
}

/// A finished SVG document and its counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traced {
    /// The SVG text.
    pub svg: String,
    /// The mode the outlines were traced in (`auto` resolved).
    pub mode: TraceMode,
    /// `<path>` elements written.
    pub paths: usize,
    /// Distinct fill colours used.
    pub colors_used: usize,
    /// The palette indices that appear as fills, ascending.
    pub inks: Vec<u8>,
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

/// One `<path>` of the output, in painting order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    /// Translucent pixels of `label` at level `level` or above, painted over the layer of
    /// the colour's next lower level present, `below`, with opacity
    /// `(level − below) / (L − below)`, so that nested layers of one colour add up to
    /// `level / L`.
    Translucent { label: u8, level: u8, below: u8 },
    /// Opaque pixels whose label ranks `rank` or later (by area, largest first).
    Opaque { rank: usize, label: u8 },
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
    let mut resolved = *options;
    if resolved.mode == TraceMode::Auto {
        let grid: Vec<u8> = keys
            .iter()
            .map(|key| {
                if *key == TRANSPARENT_KEY {
                    TRANSPARENT
                } else {
                    (*key & 0xff) as u8
                }
            })
            .collect();
        resolved.mode = resolve_mode(TraceMode::Auto, &grid, width, height);
    }
    let options = &resolved;
    if cancel.is_cancelled() {
        return Err(TraceError::Cancelled);
    }

    // Opaque labels ranked by area, largest first (ties by palette order); the colours that
    // have translucent pixels, with the levels they reach.
    let opaque_key = |key: u16| key != TRANSPARENT_KEY && (key >> 8) as u8 == top;
    let mut areas = [0usize; 256];
    let mut translucent: BTreeSet<(u8, u8)> = BTreeSet::new();
    let mut any_transparent = false;
    for key in &keys {
        if *key == TRANSPARENT_KEY {
            any_transparent = true;
        } else if opaque_key(*key) {
            areas[usize::from(*key & 0xff)] += 1;
        } else {
            translucent.insert(((*key & 0xff) as u8, (*key >> 8) as u8));
        }
    }
    let mut order: Vec<u8> = (0..input.palette.len() as u8)
        .filter(|label| areas[usize::from(*label)] > 0)
        .collect();
    order.sort_by(|a, b| {
        areas[usize::from(*b)]
            .cmp(&areas[usize::from(*a)])
            .then(a.cmp(b))
    });
    let mut rank = [usize::MAX; 256];
    for (position, label) in order.iter().enumerate() {
        rank[usize::from(*label)] = position;
    }
    let ranks: Vec<usize> = keys
        .iter()
        .map(|key| {
            if opaque_key(*key) {
                rank[usize::from(*key & 0xff)]
            } else {
                usize::MAX
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
    for (position, label) in order.iter().enumerate() {
        layers.push(Layer::Opaque {
            rank: position,
            label: *label,
        });
    }
    let whole_canvas = !any_transparent && translucent.is_empty();

    let writer = PathWriter {
        scale_x: f64::from(input.output_width) / width as f64,
        scale_y: f64::from(input.output_height) / height as f64,
        precision: options.path_precision.min(8) as usize,
    };
    let job = LayerJob {
        keys: &keys,
        ranks: &ranks,
        top,
        overlap: scale,
        width,
        height,
        options,
        writer: &writer,
        cancel,
        max_bytes: input.max_bytes,
    };
    let count = layers.len();
    let results: Mutex<Vec<Option<Result<String, TraceError>>>> =
        Mutex::new((0..count).map(|_| None).collect());
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(count)
        .max(1);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut scratch = Scratch::new(pixels);
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= count {
                        break;
                    }
                    let layer = layers[index];
                    let result = if cancel.is_cancelled() {
                        Err(TraceError::Cancelled)
                    } else if whole_canvas
                        && layer
                            == (Layer::Opaque {
                                rank: 0,
                                label: order[0],
                            })
                    {
                        Ok(writer.rectangle(input.output_width, input.output_height))
                    } else {
                        let label = match layer {
                            Layer::Translucent { label, .. } | Layer::Opaque { label, .. } => label,
                        };
                        let color = input.palette.colors()[usize::from(label)].hex();
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            job.trace_layer(layer, &mut scratch)
                        }))
                        .unwrap_or(Err(TraceError::FitterPanicked {
                            layer: index,
                            color,
                        }))
                    };
                    let failed = result.is_err();
                    results
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())[index] = Some(result);
                    if failed {
                        break;
                    }
                }
            });
        }
    });
    let results = results
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());

    let mut svg = String::with_capacity(256 + 64 * count);
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">",
        w = input.output_width,
        h = input.output_height
    );
    let mut paths = 0;
    let mut inks = BTreeSet::new();
    for (layer, result) in layers.iter().zip(results) {
        let data = match result {
            Some(Ok(data)) => data,
            Some(Err(error)) => return Err(error),
            // A layer left unclaimed because another failed: that failure is reported above.
            None => return Err(TraceError::Cancelled),
        };
        if data.is_empty() {
            continue;
        }
        let (label, opacity) = match *layer {
            Layer::Translucent {
                label,
                level,
                below,
            } => (
                label,
                Some(f64::from(level - below) / f64::from(top - below)),
            ),
            Layer::Opaque { label, .. } => (label, None),
        };
        let color = input.palette.colors()[usize::from(label)].hex();
        match opacity {
            Some(opacity) => {
                let _ = writeln!(
                    svg,
                    "<path d=\"{data}\" fill=\"{color}\" fill-opacity=\"{}\"/>",
                    format_opacity(opacity)
                );
            }
            None => {
                let _ = writeln!(svg, "<path d=\"{data}\" fill=\"{color}\"/>");
            }
        }
        paths += 1;
        inks.insert(label);
        if svg.len() > input.max_bytes {
            return Err(TraceError::TooLarge {
                limit: input.max_bytes,
            });
        }
    }
    svg.push_str("</svg>\n");
    Ok(Traced {
        svg,
        mode: options.mode,
        paths,
        colors_used: inks.len(),
        inks: inks.into_iter().collect(),
    })
}

/// An opacity with at most three decimals and no trailing zeros (`0.125`, `0.5`).
fn format_opacity(value: f64) -> String {
    let mut text = format!("{value:.3}");
    while text.ends_with('0') {
        text.pop();
    }
    if text.ends_with('.') {
        text.pop();
    }
    text
}

/// Per-thread buffers reused across layers.
struct Scratch {
    /// Component stamp per pixel: equal to `stamp` once visited in the current layer.
    visited: Vec<u32>,
    stamp: u32,
    stack: Vec<usize>,
    members: Vec<usize>,
}

impl Scratch {
    fn new(pixels: usize) -> Self {
        Self {
            visited: vec![0; pixels],
            stamp: 0,
            stack: Vec::new(),
            members: Vec::new(),
        }
    }
}

/// What every layer shares.
struct LayerJob<'a> {
    keys: &'a [u16],
    ranks: &'a [usize],
    top: u8,
    /// How far (grid pixels) a translucent layer reaches under the opaque shapes next to it.
    overlap: usize,
    width: usize,
    height: usize,
    options: &'a TraceOptions,
    writer: &'a PathWriter,
    cancel: &'a CancelToken,
    max_bytes: usize,
}

impl LayerJob<'_> {
    /// Path data of every component of one layer's mask.
    fn trace_layer(&self, layer: Layer, scratch: &mut Scratch) -> Result<String, TraceError> {
        match layer {
            Layer::Opaque { rank, .. } => self.trace_mask(
                &|index: usize| {
                    let own = self.ranks[index];
                    own != usize::MAX && own >= rank
                },
                scratch,
            ),
            Layer::Translucent { label, level, .. } => {
                let mask = self.translucent_mask(label, level);
                self.trace_mask(&|index: usize| mask[index], scratch)
            }
        }
    }

    /// Translucent pixels of `label` at `level` or above, grown by `overlap` pixels into the
    /// opaque pixels around them (never into transparency or other translucent colours).
    fn translucent_mask(&self, label: u8, level: u8) -> Vec<bool> {
        let top = self.top;
        let mut mask: Vec<bool> = self
            .keys
            .iter()
            .map(|key| {
                let (own_level, own_label) = ((*key >> 8) as u8, (*key & 0xff) as u8);
                *key != TRANSPARENT_KEY
                    && own_label == label
                    && own_level >= level
                    && own_level < top
            })
            .collect();
        let opaque = |index: usize| {
            let key = self.keys[index];
            key != TRANSPARENT_KEY && (key >> 8) as u8 == top
        };
        let (width, height) = (self.width, self.height);
        for _ in 0..self.overlap {
            let previous = mask.clone();
            for y in 0..height {
                for x in 0..width {
                    let index = y * width + x;
                    if previous[index] || !opaque(index) {
                        continue;
                    }
                    let (x0, x1) = (x.saturating_sub(1), (x + 1).min(width - 1));
                    let (y0, y1) = (y.saturating_sub(1), (y + 1).min(height - 1));
                    if (y0..=y1).any(|ny| (x0..=x1).any(|nx| previous[ny * width + nx])) {
                        mask[index] = true;
                    }
                }
            }
        }
        mask
    }

    /// Path data of every 4-connected component of the pixels where `inside` holds.
    fn trace_mask(
        &self,
        inside: &dyn Fn(usize) -> bool,
        scratch: &mut Scratch,
    ) -> Result<String, TraceError> {
        scratch.stamp = scratch.stamp.wrapping_add(1);
        if scratch.stamp == 0 {
            scratch.visited.fill(0);
            scratch.stamp = 1;
        }
        let stamp = scratch.stamp;
        let mut data = PathData::default();
        for start in 0..self.keys.len() {
            if scratch.visited[start] == stamp || !inside(start) {
                continue;
            }
            if self.cancel.is_cancelled() {
                return Err(TraceError::Cancelled);
            }
            if data.text.len() > self.max_bytes {
                return Err(TraceError::TooLarge {
                    limit: self.max_bytes,
                });
            }
            // Flood fill one 4-connected component, tracking its bounding box.
            scratch.members.clear();
            scratch.stack.clear();
            scratch.stack.push(start);
            scratch.visited[start] = stamp;
            let (mut left, mut top, mut right, mut bottom) = (usize::MAX, usize::MAX, 0, 0);
            while let Some(index) = scratch.stack.pop() {
                scratch.members.push(index);
                let (x, y) = (index % self.width, index / self.width);
                left = left.min(x);
                right = right.max(x);
                top = top.min(y);
                bottom = bottom.max(y);
                for neighbour in neighbours(index, x, y, self.width, self.height) {
                    if scratch.visited[neighbour] != stamp && inside(neighbour) {
                        scratch.visited[neighbour] = stamp;
                        scratch.stack.push(neighbour);
                    }
                }
            }
            let component_width = right - left + 1;
            let component_height = bottom - top + 1;
            let mut image = BinaryImage::new_w_h(component_width, component_height);
            for index in &scratch.members {
                image.set_pixel(index % self.width - left, index / self.width - top, true);
            }
            self.trace_component(image, PointI32::new(left as i32, top as i32), &mut data);
        }
        if data.text.len() > self.max_bytes {
            return Err(TraceError::TooLarge {
                limit: self.max_bytes,
            });
        }
        Ok(data.text)
    }

    /// Outer outline plus one reversed outline per hole, appended as path data.
    fn trace_component(&self, mut image: BinaryImage, offset: PointI32, data: &mut PathData) {
        let holes = find_holes(&mut image);
        self.trace_outline(&image, offset, true, data);
        for (hole, hole_offset) in holes {
            self.trace_outline(&hole, offset + hole_offset, false, data);
        }
    }

    fn trace_outline(
        &self,
        image: &BinaryImage,
        offset: PointI32,
        outer: bool,
        data: &mut PathData,
    ) {
        let options = self.options;
        match options.mode {
            TraceMode::Polygon | TraceMode::Pixel => {
                let simplify = if options.mode == TraceMode::Pixel {
                    PathSimplifyMode::None
                } else {
                    PathSimplifyMode::Polygon
                };
                let path = PathI32::image_to_path(image, outer, simplify);
                let points: Vec<PointF64> = path
                    .path
                    .iter()
                    .map(|p| PointF64::new(f64::from(p.x + offset.x), f64::from(p.y + offset.y)))
                    .collect();
                self.writer.polygon(&points, data);
            }
            // `Auto` is resolved before any layer is traced.
            TraceMode::Spline | TraceMode::Auto => {
                let path = PathI32::image_to_path(image, outer, PathSimplifyMode::Polygon);
                let points: Vec<(f64, f64)> = path
                    .path
                    .iter()
                    .map(|p| (f64::from(p.x + offset.x), f64::from(p.y + offset.y)))
                    .collect();
                let scale = self.overlap as f64;
                let cubics = fit::fit_closed(
                    &points,
                    &fit::FitOptions {
                        tolerance: options.fit_tolerance * scale,
                        corner_threshold: options.corner_threshold.to_radians(),
                        corner_reach: CORNER_REACH * scale,
                    },
                );
                self.writer.cubics(&cubics, data);
            }
        }
    }
}

fn neighbours(
    index: usize,
    x: usize,
    y: usize,
    width: usize,
    height: usize,
) -> impl Iterator<Item = usize> {
    let left = (x > 0).then(|| index - 1);
    let right = (x + 1 < width).then(|| index + 1);
    let up = (y > 0).then(|| index - width);
    let down = (y + 1 < height).then(|| index + width);
    [left, right, up, down].into_iter().flatten()
}

/// Finds the holes of a component image (4-connected background regions that do not touch
/// the border), fills them in `image`, and returns each as its own image and offset.
fn find_holes(image: &mut BinaryImage) -> Vec<(BinaryImage, PointI32)> {
    let (width, height) = (image.width, image.height);
    let mut seen = vec![false; width * height];
    let mut holes = Vec::new();
    let mut stack = Vec::new();
    let mut members = Vec::new();
    for start in 0..width * height {
        if seen[start] || image.get_pixel(start % width, start / width) {
            continue;
        }
        members.clear();
        stack.push(start);
        seen[start] = true;
        let mut touches_border = false;
        let (mut left, mut top, mut right, mut bottom) = (usize::MAX, usize::MAX, 0, 0);
        while let Some(index) = stack.pop() {
            members.push(index);
            let (x, y) = (index % width, index / width);
            touches_border |= x == 0 || y == 0 || x + 1 == width || y + 1 == height;
            left = left.min(x);
            right = right.max(x);
            top = top.min(y);
            bottom = bottom.max(y);
            for neighbour in neighbours(index, x, y, width, height) {
                if !seen[neighbour] && !image.get_pixel(neighbour % width, neighbour / width) {
                    seen[neighbour] = true;
                    stack.push(neighbour);
                }
            }
        }
        if touches_border {
            continue;
        }
        let mut hole = BinaryImage::new_w_h(right - left + 1, bottom - top + 1);
        for index in &members {
            let (x, y) = (index % width, index / width);
            hole.set_pixel(x - left, y - top, true);
            image.set_pixel(x, y, true);
        }
        holes.push((hole, PointI32::new(left as i32, top as i32)));
    }
    holes
}

/// Merges 4-connected regions of one key smaller than `min_area` pixels (transparency
/// included) into the neighbouring key they share the most edges with.
fn merge_speckles(grid: &mut [u16], width: usize, height: usize, min_area: usize) {
    let mut visited = vec![false; grid.len()];
    let mut stack = Vec::new();
    let mut members = Vec::new();
    let mut contacts: Vec<(u16, u32)> = Vec::new();
    for start in 0..grid.len() {
        if visited[start] {
            continue;
        }
        let key = grid[start];
        members.clear();
        stack.push(start);
        visited[start] = true;
        while let Some(index) = stack.pop() {
            members.push(index);
            let (x, y) = (index % width, index / width);
            for neighbour in neighbours(index, x, y, width, height) {
                if !visited[neighbour] && grid[neighbour] == key {
                    visited[neighbour] = true;
                    stack.push(neighbour);
                }
            }
        }
        if members.len() >= min_area {
            continue;
        }
        contacts.clear();
        for index in &members {
            let (x, y) = (index % width, index / width);
            for neighbour in neighbours(*index, x, y, width, height) {
                let other = grid[neighbour];
                if other == key {
                    continue;
                }
                match contacts.iter_mut().find(|(k, _)| *k == other) {
                    Some((_, count)) => *count += 1,
                    None => contacts.push((other, 1)),
                }
            }
        }
        let best = contacts
            .iter()
            .max_by_key(|(k, count)| (*count, std::cmp::Reverse(*k)))
            .map(|(k, _)| *k);
        if let Some(best) = best {
            for index in &members {
                grid[*index] = best;
            }
        }
    }
}

/// Writes path data in output coordinates with relative commands.
struct PathWriter {
    scale_x: f64,
    scale_y: f64,
    precision: usize,
}

/// A cubic whose control points lie within this distance (output pixels) of its chord is
/// written as a straight line: the fitter emits many straight edges as cubics.
const STRAIGHT_TOLERANCE: f64 = 0.05;

impl PathWriter {
    /// The whole canvas, exactly.
    fn rectangle(&self, width: u32, height: u32) -> String {
        format!("M0 0H{width}V{height}H0Z")
    }

    fn round(&self, value: f64) -> f64 {
        let factor = 10f64.powi(self.precision as i32);
        (value * factor).round() / factor
    }

    fn point(&self, point: PointF64) -> (f64, f64) {
        (
            self.round(point.x * self.scale_x),
            self.round(point.y * self.scale_y),
        )
    }

    fn number(&self, value: f64, out: &mut String) {
        let mut text = format!("{:.*}", self.precision, value);
        if text.contains('.') {
            while text.ends_with('0') {
                text.pop();
            }
            if text.ends_with('.') {
                text.pop();
            }
        }
        if text == "-0" {
            text = "0".to_owned();
        }
        // SVG numbers need no leading zero: `0.5` is `.5`, `-0.5` is `-.5`.
        if let Some(rest) = text.strip_prefix("0.") {
            text = format!(".{rest}");
        } else if let Some(rest) = text.strip_prefix("-0.") {
            text = format!("-.{rest}");
        }
        out.push_str(&text);
    }

    /// Starts a subpath at absolute `start` (rounded).
    fn move_to(&self, start: (f64, f64), data: &mut PathData) {
        let current = data.current;
        data.text.push('m');
        data.after_letter = true;
        self.numbers(&[start.0 - current.0, start.1 - current.1], data);
        data.current = start;
        data.start = start;
        // After `m`, bare numbers would mean `l`: force the next letter.
        data.last_command = None;
    }

    /// A straight segment to absolute `end`.
    fn line_to(&self, end: (f64, f64), data: &mut PathData) {
        let (dx, dy) = (end.0 - data.current.0, end.1 - data.current.1);
        if dx == 0.0 && dy == 0.0 {
            return;
        }
        if dy == 0.0 {
            self.command('h', data);
            self.numbers(&[dx], data);
        } else if dx == 0.0 {
            self.command('v', data);
            self.numbers(&[dy], data);
        } else {
            self.command('l', data);
            self.numbers(&[dx, dy], data);
        }
        data.current = end;
    }

    /// A cubic to absolute `end`, or a line when it is straight.
    fn cubic_to(&self, c1: (f64, f64), c2: (f64, f64), end: (f64, f64), data: &mut PathData) {
        let from = data.current;
        if is_straight(from, c1, c2, end) {
            self.line_to(end, data);
            return;
        }
        self.command('c', data);
        self.numbers(
            &[
                c1.0 - from.0,
                c1.1 - from.1,
                c2.0 - from.0,
                c2.1 - from.1,
                end.0 - from.0,
                end.1 - from.1,
            ],
            data,
        );
        data.current = end;
    }

    fn close(&self, data: &mut PathData) {
        data.text.push('z');
        data.current = data.start;
        data.last_command = Some('z');
        data.after_letter = true;
    }

    fn command(&self, letter: char, data: &mut PathData) {
        if data.last_command != Some(letter) {
            data.text.push(letter);
            data.last_command = Some(letter);
            data.after_letter = true;
        }
    }

    /// Numbers separated by a space, or by nothing before a minus sign or after a letter.
    fn numbers(&self, values: &[f64], data: &mut PathData) {
        for value in values {
            let mut text = String::new();
            self.number(*value, &mut text);
            if !data.after_letter && !text.starts_with('-') {
                data.text.push(' ');
            }
            data.text.push_str(&text);
            data.after_letter = false;
        }
    }

    /// A closed polygon (visioncortex repeats the first point at the end).
    fn polygon(&self, points: &[PointF64], data: &mut PathData) {
        let mut points: Vec<(f64, f64)> = points.iter().map(|p| self.point(*p)).collect();
        points.dedup();
        if points.len() > 1 && points.first() == points.last() {
            points.pop();
        }
        if points.len() < 3 {
            return;
        }
        self.move_to(points[0], data);
        for point in &points[1..] {
            self.line_to(*point, data);
        }
        self.close(data);
    }

    /// A closed run of cubics (grid coordinates), each starting where the previous ended.
    fn cubics(&self, cubics: &[fit::Cubic], data: &mut PathData) {
        let Some(first) = cubics.first() else {
            return;
        };
        let point = |p: (f64, f64)| self.point(PointF64::new(p.0, p.1));
        self.move_to(point(first[0]), data);
        for cubic in cubics {
            self.cubic_to(point(cubic[1]), point(cubic[2]), point(cubic[3]), data);
        }
        self.close(data);
    }
}

/// Whether both control points lie on the chord from `from` to `end` (within
/// [`STRAIGHT_TOLERANCE`]) and between its ends.
fn is_straight(from: (f64, f64), c1: (f64, f64), c2: (f64, f64), end: (f64, f64)) -> bool {
    let (dx, dy) = (end.0 - from.0, end.1 - from.1);
    let length2 = dx * dx + dy * dy;
    if length2 == 0.0 {
        return c1 == from && c2 == from;
    }
    let length = length2.sqrt();
    [c1, c2].iter().all(|c| {
        let (px, py) = (c.0 - from.0, c.1 - from.1);
        let along = (px * dx + py * dy) / length2;
        let across = (px * dy - py * dx).abs() / length;
        (-0.001..=1.001).contains(&along) && across <= STRAIGHT_TOLERANCE
    })
}

/// Path data being written. Every command is relative to the current point; after `z` the
/// current point is the subpath's start.
#[derive(Default)]
struct PathData {
    text: String,
    current: (f64, f64),
    start: (f64, f64),
    last_command: Option<char>,
    /// The last thing written is a command letter (no separator needed).
    after_letter: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(mode: TraceMode) -> TraceOptions {
        TraceOptions {
            mode,
            filter_speckle: 4,
            corner_threshold: 60.0,
            fit_tolerance: 0.4,
            path_precision: 2,
            alpha: crate::pipeline::alpha::AlphaMode::Levels,
            alpha_levels: 8,
            supersample: 4,
        }
    }

    fn levels_of(opaque: &[bool]) -> Vec<u8> {
        opaque.iter().map(|o| if *o { 8 } else { 0 }).collect()
    }

    fn input<'a>(
        labels: &'a [u8],
        levels: &'a [u8],
        palette: &'a Palette,
        width: u32,
        height: u32,
    ) -> TraceInput<'a> {
        TraceInput {
            width,
            height,
            labels,
            levels,
            alpha_levels: 8,
            scale: 1,
            palette,
            output_width: width * 2,
            output_height: height * 2,
            max_bytes: usize::MAX,
        }
    }

    fn run(labels: &[u8], opaque: &[bool], width: u32, height: u32, mode: TraceMode) -> Traced {
        let palette = Palette::from_hex(&["ff0000", "00ff00", "0000ff"]).unwrap();
        let levels = levels_of(opaque);
        let input = input(labels, &levels, &palette, width, height);
        trace(&input, &options(mode), &CancelToken::new()).unwrap()
    }

    #[test]
    fn a_soft_shadow_becomes_nested_translucent_layers_under_the_shape() {
        // A 20×20 canvas: an opaque red square (label 0) with a black shadow (label 1) at
        // levels 2 and 4 of 8 around it, transparent elsewhere.
        let palette = Palette::from_hex(&["ff0000", "000000"]).unwrap();
        let (width, height) = (20usize, 20usize);
        let mut labels = vec![0u8; width * height];
        let mut levels = vec![0u8; width * height];
        for y in 2..18 {
            for x in 2..18 {
                let index = y * width + x;
                let inner = (6..14).contains(&x) && (6..14).contains(&y);
                let near = (4..16).contains(&x) && (4..16).contains(&y);
                (labels[index], levels[index]) = match (inner, near) {
                    (true, _) => (0, 8),
                    (false, true) => (1, 4),
                    _ => (1, 2),
                };
            }
        }
        let input = input(&labels, &levels, &palette, 20, 20);
        let traced = trace(&input, &options(TraceMode::Polygon), &CancelToken::new()).unwrap();
        // Two translucent layers (levels 2 and 4 of black), then the red square on top.
        let fills: Vec<&str> = traced
            .svg
            .lines()
            .filter(|line| line.starts_with("<path"))
            .map(|line| &line[line.find("fill=").unwrap()..])
            .collect();
        assert_eq!(
            fills,
            vec![
                "fill=\"#000000\" fill-opacity=\"0.25\"/>",
                "fill=\"#000000\" fill-opacity=\"0.333\"/>",
                "fill=\"#ff0000\"/>",
            ]
        );
        // Stacked, the two layers give 1 − (6/8)(4/6) = 1/2 = level 4 of 8.
        assert_eq!(traced.inks, vec![0, 1]);
        assert_eq!(traced.colors_used, 2);
    }

    #[test]
    fn tracing_stops_past_the_byte_limit() {
        let palette = Palette::from_hex(&["ff0000", "00ff00", "0000ff"]).unwrap();
        // A checkerboard of 8×8 cells: many shapes.
        let labels: Vec<u8> = (0..64 * 64)
            .map(|i| (((i % 64) / 8 + (i / 64) / 8) % 3) as u8)
            .collect();
        let levels = vec![8u8; 64 * 64];
        let mut limited = input(&labels, &levels, &palette, 64, 64);
        limited.max_bytes = 500;
        let error = trace(&limited, &options(TraceMode::Polygon), &CancelToken::new()).unwrap_err();
        assert_eq!(error, TraceError::TooLarge { limit: 500 });
        limited.max_bytes = usize::MAX;
        let traced = trace(&limited, &options(TraceMode::Polygon), &CancelToken::new()).unwrap();
        assert!(traced.svg.len() > 500);
    }

    #[test]
    fn auto_mode_traces_artwork_as_splines_and_fragmented_labels_as_pixels() {
        // Artwork: a square on a background. Fragmentation is its outline over its side.
        let (width, height) = (40usize, 40usize);
        let square: Vec<u8> = (0..width * height)
            .map(|i| {
                u8::from((10..30).contains(&(i % width)) && (10..30).contains(&(i / width))) * 2
            })
            .collect();
        assert!(fragmentation(&square, width, height) < 2.0);
        let traced = run(&square, &[true; 1600], 40, 40, TraceMode::Auto);
        assert_eq!(traced.mode, TraceMode::Spline);
        // A photo-like label map: labels change every two pixels in a pseudo-random pattern
        // (the measure grows with the side for such maps, so it needs some size).
        let mut state = 12345u32;
        let noisy: Vec<u8> = (0..160 * 160)
            .map(|i| {
                if i % 2 == 0 {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                }
                (state % 3) as u8
            })
            .collect();
        assert!(fragmentation(&noisy, 160, 160) > AUTO_PIXEL_FRAGMENTATION);
        let mut options = options(TraceMode::Auto);
        options.filter_speckle = 0;
        let palette = Palette::from_hex(&["ff0000", "00ff00", "0000ff"]).unwrap();
        let levels = vec![8u8; 160 * 160];
        let mut input = input(&noisy, &levels, &palette, 160, 160);
        (input.output_width, input.output_height) = (160, 160);
        let traced = trace(&input, &options, &CancelToken::new()).unwrap();
        assert_eq!(traced.mode, TraceMode::Pixel);
    }

    #[test]
    fn pixel_mode_keeps_every_step_of_a_staircase() {
        // A 16×16 staircase: label 2 where x > y. Polygon simplification turns it into a
        // triangle; pixel mode keeps each step, so it has far more vertices, all on the pixel
        // grid (scaled by 2 to the output).
        let labels: Vec<u8> = (0..256).map(|i| u8::from(i % 16 > i / 16) * 2).collect();
        let last_path = |mode| {
            let traced = run(&labels, &[true; 256], 16, 16, mode);
            let start = traced.svg.rfind("<path d=\"").unwrap() + 9;
            let end = start + traced.svg[start..].find('"').unwrap();
            traced.svg[start..end].to_owned()
        };
        let pixel = last_path(TraceMode::Pixel);
        let polygon = last_path(TraceMode::Polygon);
        // Compact SVG numbers: a new number starts at a command letter, a space, a '-', or a
        // second '.' ("0.5.5" is 0.5 and .5).
        let numbers = |d: &str| -> Vec<f64> {
            let mut tokens: Vec<String> = Vec::new();
            let mut current = String::new();
            for c in d.chars() {
                let starts_new = c == '-' || (c == '.' && current.contains('.'));
                if c.is_ascii_digit() || c == '.' || c == '-' {
                    if starts_new && !current.is_empty() {
                        tokens.push(std::mem::take(&mut current));
                    }
                    current.push(c);
                } else if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
            }
            tokens.extend((!current.is_empty()).then_some(current));
            tokens.iter().map(|t| t.parse().unwrap()).collect()
        };
        assert!(
            numbers(&pixel).len() >= 2 * numbers(&polygon).len(),
            "{pixel} vs {polygon}"
        );
        assert!(numbers(&pixel).iter().all(|v| v.fract() == 0.0), "{pixel}");
    }

    #[test]
    fn a_square_on_a_background_gives_two_stacked_paths() {
        let (width, height) = (20u32, 20u32);
        let labels: Vec<u8> = (0..400)
            .map(|i| {
                let (x, y) = (i % 20, i / 20);
                u8::from((5..15).contains(&x) && (5..15).contains(&y)) * 2
            })
            .collect();
        for mode in [TraceMode::Spline, TraceMode::Polygon, TraceMode::Pixel] {
            let traced = run(&labels, &[true; 400], width, height, mode);
            assert_eq!(traced.paths, 2, "{}", traced.svg);
            assert!(traced
                .svg
                .contains("width=\"40\" height=\"40\" viewBox=\"0 0 40 40\""));
            // The background (largest) is the exact canvas; the square is drawn above it.
            let background = traced.svg.find("M0 0H40V40H0Z\" fill=\"#ff0000\"").unwrap();
            let square = traced.svg.find("fill=\"#0000ff\"").unwrap();
            assert!(background < square);
        }
    }

    #[test]
    fn transparent_pixels_get_no_paths() {
        let labels = vec![0u8; 100];
        let traced = run(&labels, &[false; 100], 10, 10, TraceMode::Spline);
        assert_eq!(traced.paths, 0);
        assert!(!traced.svg.contains("<path"));
    }

    #[test]
    fn speckles_are_merged_into_their_neighbour() {
        let mut labels = vec![0u8; 100];
        labels[55] = 1;
        let traced = run(&labels, &[true; 100], 10, 10, TraceMode::Polygon);
        assert_eq!(traced.paths, 1, "{}", traced.svg);
    }

    #[test]
    fn holes_are_reversed_subpaths() {
        // A ring of label 1 on label 0, where label 1 is the larger area: the ring layer is
        // the whole canvas and label 0 sits on top as the outer frame plus the hole.
        let mut labels = vec![0u8; 30 * 30];
        for y in 3..27 {
            for x in 3..27 {
                labels[y * 30 + x] = 1;
            }
        }
        for y in 10..20 {
            for x in 10..20 {
                labels[y * 30 + x] = 0;
            }
        }
        let mut opaque = vec![true; 900];
        opaque[0] = false;
        let traced = run(&labels, &opaque, 30, 30, TraceMode::Polygon);
        assert_eq!(traced.paths, 2, "{}", traced.svg);
        let frame = traced
            .svg
            .lines()
            .find(|l| l.contains("#ff0000"))
            .unwrap()
            .to_owned();
        // Outer frame with its square hole, and the centre square: three subpaths.
        assert_eq!(frame.matches('m').count(), 3, "{frame}");
    }

    #[test]
    fn number_formatting_is_compact() {
        let writer = PathWriter {
            scale_x: 1.0,
            scale_y: 1.0,
            precision: 2,
        };
        let mut out = String::new();
        for value in [1.0, -0.0, 2.5, 7.12345, -0.004, 0.25, -0.5] {
            writer.number(writer.round(value), &mut out);
            out.push(' ');
        }
        assert_eq!(out, "1 0 2.5 7.12 0 .25 -.5 ");
        let mut data = PathData::default();
        writer.move_to((1.0, 2.0), &mut data);
        writer.cubic_to((2.0, 2.0), (3.0, 2.0), (4.0, 2.0), &mut data);
        writer.cubic_to((4.0, 3.0), (5.0, 4.0), (3.0, 5.0), &mut data);
        writer.line_to((1.0, 2.0), &mut data);
        writer.close(&mut data);
        writer.move_to((0.5, 0.0), &mut data);
        assert_eq!(data.text, "m1 2h3c0 1 1 2-1 3l-2-3zm-.5-2");
    }
}
