//! The `cutout` layout: shapes that never overlap and tile the drawn area exactly.
//!
//! **A planar map.** The regions are the final label grid's keys (ink and opacity level; a
//! transparent pixel belongs to no region). Every pixel edge between two different keys is a
//! boundary edge on the lattice of pixel corners. A corner where three or more regions meet
//! (or where two regions meet diagonally) is a *junction*; the boundary edges between
//! junctions form *chains*, each separating exactly two keys (one of them possibly nothing).
//! A boundary with no junction on it (an island inside one region) is a closed chain.
//!
//! **Each chain is simplified and fitted once**, with its ends pinned to its junctions: in
//! `polygon` mode with the polygon simplification image tracing uses (visioncortex's staircase
//! removal and penalty limit, which keep a path's first and last point), in `spline` mode
//! with our curve fitter ([`fit::fit_open`]), in `pixel` mode not at all. Both neighbours use
//! the same fitted chain, one of them reversed, so after rounding their shared boundary has
//! identical coordinates on both sides: no gap and no overlap can open between them.
//!
//! **Outlines.** Every region walks its chains with itself on the right (screen coordinates,
//! y down), so outer outlines run clockwise and holes anticlockwise: holes are real holes
//! under either fill rule, never white paint. Where one region touches itself diagonally at a
//! junction the walk turns right first, keeping the two pixels in separate outlines.
//!
//! Staircase removal in `polygon` and `spline` mode favours one side of each chain (it keeps
//! the corners that are convex for that side): the side drawn higher in the stacked layout
//! (opaque over translucent over nothing, smaller opaque areas over larger), so that a cutout
//! renders like its stacked twin.
//!
//! **Gap filler.** Two abutting anti-aliased shapes let the background show through at about
//! a quarter along their shared edge. With a gap filler width, every chain between two drawn
//! regions is also stroked (in the colour of the opaque neighbour lower in the stacked order)
//! in a group painted beneath all fills, so the seam shows that colour instead of the
//! background. Edges against nothing are never stroked, so the drawn area does not grow.

mod chains;
mod map;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use chains::{draw, draw_closed, draw_region, fit_chains, Fitted, Pen};
use map::PlanarMap;

use crate::cancel::CancelToken;
use crate::fit;
use crate::options::{TraceMode, TraceOptions};
use crate::palette::Palette;
use crate::svg::{self, InkGroup, InkRole, Paint, PathData, PathWriter, SvgPath};
use crate::trace::io::{TraceError, TraceInput, Traced as Document};

/// The key of a pixel that belongs to no region (transparent, or outside the grid): the
/// same value image tracing uses for transparent pixels.
pub(crate) const NOTHING: u16 = u16::MAX;

/// What the cutout layout works on: image tracing's final key grid (speckles merged).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CutoutInput<'a> {
    /// `level << 8 | label` per pixel, [`NOTHING`] where nothing is drawn.
    pub keys: &'a [u16],
    /// Grid width.
    pub width: usize,
    /// Grid height.
    pub height: usize,
    /// The opaque level `L`.
    pub top: u8,
    /// Grid pixels per working pixel.
    pub scale: usize,
    /// The colours the labels index.
    pub palette: &'a Palette,
}

impl CutoutInput<'_> {
    fn label(key: u16) -> u8 {
        (key & 0xff) as u8
    }

    fn level(key: u16) -> u8 {
        (key >> 8) as u8
    }

    fn color(&self, key: u16) -> [u8; 3] {
        self.palette.colors()[usize::from(Self::label(key))].0
    }
}

/// Where each key sits in the stacked layout's painting order: nothing lowest, then
/// translucent keys, then opaque labels by area, largest lowest (ties by palette order).
struct Stacking {
    height: HashMap<u16, u32>,
    /// Pixels per key.
    area: HashMap<u16, usize>,
    /// Pixels drawn.
    drawn: usize,
}

impl Stacking {
    fn new(input: &CutoutInput<'_>) -> Self {
        let mut area: HashMap<u16, usize> = HashMap::new();
        for key in input.keys.iter().filter(|key| **key != NOTHING) {
            *area.entry(*key).or_default() += 1;
        }
        let drawn = area.values().sum();
        let mut opaque: Vec<u16> = area
            .keys()
            .copied()
            .filter(|key| CutoutInput::level(*key) >= input.top)
            .collect();
        opaque.sort_by(|a, b| area[b].cmp(&area[a]).then(a.cmp(b)));
        let mut height: HashMap<u16, u32> = area.keys().map(|key| (*key, 1)).collect();
        for (position, key) in opaque.iter().enumerate() {
            height.insert(*key, 2 + position as u32);
        }
        Self {
            height,
            area,
            drawn,
        }
    }

    fn height(&self, key: u16) -> (u32, u16) {
        (self.height.get(&key).copied().unwrap_or(0), key)
    }

    fn is_opaque(&self, key: u16) -> bool {
        self.height(key).0 >= 2
    }

    fn share(&self, pixels: usize) -> f64 {
        if self.drawn == 0 {
            0.0
        } else {
            pixels as f64 / self.drawn as f64
        }
    }
}

/// Path data through the shared SVG path writer.
struct WriterPen<'a> {
    writer: &'a PathWriter,
    data: PathData,
}

impl Pen for WriterPen<'_> {
    fn move_to(&mut self, point: fit::Point) {
        self.writer
            .move_to(self.writer.point(point), &mut self.data);
    }
    fn line_to(&mut self, point: fit::Point) {
        self.writer
            .line_to(self.writer.point(point), &mut self.data);
    }
    fn cubic_to(&mut self, c1: fit::Point, c2: fit::Point, end: fit::Point) {
        let point = |p| self.writer.point(p);
        let (c1, c2, end) = (point(c1), point(c2), point(end));
        self.writer.cubic_to(c1, c2, end, &mut self.data);
    }
    fn close(&mut self) {
        self.writer.close(&mut self.data);
    }
    fn conic(&mut self, conic: &crate::shapes::Conic, clockwise: bool) {
        self.writer.conic(conic, clockwise, &mut self.data);
    }
}

/// The cutout layout's SVG document for image tracing's key grid (`input`), at the output
/// size of `trace_input`.
pub(crate) fn document(
    input: &CutoutInput<'_>,
    trace_input: &TraceInput<'_>,
    options: &TraceOptions,
    cancel: &CancelToken,
) -> Result<Document, TraceError> {
    let writer = PathWriter::new(
        input.width,
        input.height,
        trace_input.output_width,
        trace_input.output_height,
        options.path_precision,
    );
    let groups = groups(
        input,
        options,
        options.gap_filler,
        &writer,
        trace_input.max_bytes,
        cancel,
    )?;
    let written = svg::write_document(
        trace_input.output_width,
        trace_input.output_height,
        &groups,
        trace_input.max_bytes,
    )?;
    let mut inks: Vec<u8> = groups
        .iter()
        .filter(|group| group.role != InkRole::GapFiller)
        .filter_map(|group| {
            input
                .palette
                .colors()
                .iter()
                .position(|color| color.0 == group.color)
        })
        .map(|index| index as u8)
        .collect();
    inks.sort_unstable();
    inks.dedup();
    Ok(Document {
        paths: written.paths(),
        primitives: written.primitives,
        svg: written.svg,
        mode: options.mode,
        colors_used: inks.len(),
        inks,
        layers: written.layers,
    })
}

/// The planar map and its fitted chains.
struct Traced {
    map: PlanarMap,
    fitted: Vec<Fitted>,
    stacking: Stacking,
}

fn trace_map(
    input: &CutoutInput<'_>,
    options: &TraceOptions,
    cancel: &CancelToken,
) -> Result<Traced, TraceError> {
    let map = PlanarMap::build(input.keys, input.width, input.height).with_cancel(cancel);
    if cancel.is_cancelled() {
        return Err(TraceError::Cancelled);
    }
    let stacking = Stacking::new(input);
    // Pixel outlines are not simplified: no side needs favouring.
    let right_is_top = if options.mode == TraceMode::Pixel {
        vec![true; map.chains.len()]
    } else {
        map.right_is_top(&|key| stacking.height(key))
    };
    if cancel.is_cancelled() {
        return Err(TraceError::Cancelled);
    }
    let fitted = fit_chains(&map, options, input.scale, &right_is_top, cancel)
        .ok_or(TraceError::Cancelled)?;
    Ok(Traced {
        map,
        fitted,
        stacking,
    })
}

/// The cutout layout's ink groups, bottom to top: the gap filler (when `gap_filler > 0`,
/// output pixels), translucent inks (one path per opacity level, `fill-opacity = level / L`),
/// then opaque inks in the stacked order. One path per region (ink and level), holes as
/// reversed subpaths.
pub(crate) fn groups(
    input: &CutoutInput<'_>,
    options: &TraceOptions,
    gap_filler: f64,
    writer: &PathWriter,
    max_bytes: usize,
    cancel: &CancelToken,
) -> Result<Vec<InkGroup>, TraceError> {
    let traced = trace_map(input, options, cancel)?;
    let mut groups = filler_groups(input, &traced, gap_filler, writer);
    let outlines = traced.map.outlines();
    if cancel.is_cancelled() {
        return Err(TraceError::Cancelled);
    }
    let mut keys: Vec<u16> = outlines.keys().copied().collect();
    // Translucent keys first (by label, then level), then opaque ones bottom to top.
    keys.sort_by_key(|key| {
        let (height, _) = traced.stacking.height(*key);
        (height, CutoutInput::label(*key), CutoutInput::level(*key))
    });
    let mut bytes = 0usize;
    for key in keys {
        if cancel.is_cancelled() {
            return Err(TraceError::Cancelled);
        }
        let mut pen = WriterPen {
            writer,
            data: PathData::new(),
        };
        draw_region(&outlines[&key], &traced.fitted, &mut pen);
        bytes += pen.data.len();
        if bytes > max_bytes {
            return Err(TraceError::TooLarge { limit: max_bytes });
        }
        let opaque = traced.stacking.is_opaque(key);
        let paint = Paint::Fill {
            opacity: (!opaque)
                .then(|| f64::from(CutoutInput::level(key)) / f64::from(input.top.max(1))),
        };
        let role = if opaque {
            InkRole::Opaque
        } else {
            InkRole::Translucent
        };
        let path = SvgPath {
            arcs: pen.data.arcs(),
            data: pen.data.into_string(),
            paint,
            shapes: Vec::new(),
        };
        let area = traced.stacking.share(traced.stacking.area[&key]);
        let color = input.color(key);
        // Levels of one translucent ink share a group.
        match groups.last_mut() {
            Some(group) if group.color == color && group.role == role => {
                group.paths.push(path);
                group.area += area;
            }
            _ => groups.push(InkGroup {
                color,
                role,
                area,
                paths: vec![path],
            }),
        }
    }
    Ok(groups)
}

/// The gap filler alone, for the stacked layout: the same strokes the cutout layout paints
/// under its fills (empty when `gap_filler <= 0`).
pub(crate) fn gap_filler_groups(
    input: &CutoutInput<'_>,
    options: &TraceOptions,
    gap_filler: f64,
    writer: &PathWriter,
    cancel: &CancelToken,
) -> Result<Vec<InkGroup>, TraceError> {
    if gap_filler.is_nan() || gap_filler <= 0.0 {
        return Ok(Vec::new());
    }
    let traced = trace_map(input, options, cancel)?;
    Ok(filler_groups(input, &traced, gap_filler, writer))
}

/// One stroked path per colour: every chain between two drawn regions at least one of which
/// is opaque, in the colour of the lower opaque one.
fn filler_groups(
    input: &CutoutInput<'_>,
    traced: &Traced,
    width: f64,
    writer: &PathWriter,
) -> Vec<InkGroup> {
    if width.is_nan() || width <= 0.0 {
        return Vec::new();
    }
    let stacking = &traced.stacking;
    let mut per_key: Vec<(u16, WriterPen<'_>)> = Vec::new();
    for (chain, fitted) in traced.map.chains.iter().zip(&traced.fitted) {
        if !stacking.is_opaque(chain.left) || !stacking.is_opaque(chain.right) {
            continue;
        }
        let owner = [chain.left, chain.right]
            .into_iter()
            .filter(|key| stacking.is_opaque(*key))
            .min_by_key(|key| stacking.height(*key));
        let Some(owner) = owner else {
            continue;
        };
        let position = match per_key.iter().position(|(key, _)| *key == owner) {
            Some(position) => position,
            None => {
                per_key.push((
                    owner,
                    WriterPen {
                        writer,
                        data: PathData::new(),
                    },
                ));
                per_key.len() - 1
            }
        };
        let pen = &mut per_key[position].1;
        if chain.closed {
            draw_closed(fitted, false, pen);
        } else {
            pen.move_to(fitted.start(false));
            draw(fitted, false, pen);
        }
    }
    per_key.sort_by_key(|(key, _)| stacking.height(*key));
    per_key
        .into_iter()
        .map(|(key, pen)| InkGroup {
            color: input.color(key),
            role: InkRole::GapFiller,
            area: 0.0,
            paths: vec![SvgPath {
                arcs: pen.data.arcs(),
                data: pen.data.into_string(),
                paint: Paint::Stroke { width },
                shapes: Vec::new(),
            }],
        })
        .collect()
}
