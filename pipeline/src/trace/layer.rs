//! One layer of the stacked layout traced into path data: which pixels its mask holds
//! (an opaque layer reaching under the later shapes it touches, a translucent one under the
//! art), the slack its curve fit gets along each outline, and the outlines and holes of each
//! component of the mask.

use visioncortex::{BinaryImage, BitVec, PathI32, PathSimplifyMode, PointI32};

use super::{KeyGrid, Layer, Rank, TraceError, CORNER_REACH, NO_RANK, TRANSPARENT_KEY};
use crate::cancel::CancelToken;
use crate::components::{Flood, RowComponent};
use crate::fit;
use crate::masks::{self, Window};
use crate::options::TraceMode;
use crate::palette::oklab_distance;
use crate::polygons;
use crate::shapes::{self, Conic};
use crate::svg::{Element, PathData, PathWriter};

/// A recognised rectangle's corner radius under this many working pixels yields to a
/// straight-sided polygon that fits the same outline ([`LayerJob::whole_shape`]).
const NEARLY_SHARP: f64 = 1.5;

/// One layer's geometry: its path data and the whole shapes written beside it.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct LayerOutput {
    /// The `d` attribute.
    pub(super) data: String,
    /// Elliptic-arc commands in `data`.
    pub(super) arcs: usize,
    /// Components whose only outline is a circle or an ellipse (output coordinates).
    pub(super) shapes: Vec<Element>,
}

/// A translucent layer's fit tolerance, times `fit_tolerance`: its outlines are where a soft
/// shadow or glow crosses an opacity level, so placing them a little less exactly costs a
/// fraction of one level's contrast. (Kept under 2: the outer edge of a shadow must stay
/// within a pixel of the cutout layout's, tests/cutout.rs.)
const TRANSLUCENT_TOLERANCE: f64 = 1.5;

/// Fit slack of an outline running under a later shape ([`LayerJob::edge_slack`]): it
/// reaches a working pixel under it, so the fit may stray most of that and stay hidden.
const HIDDEN_EDGE_SLACK: f64 = 2.0;

/// Edges between colours closer than this (OKLab, about five just-noticeable differences)
/// get a looser fit ([`LayerJob::edge_slack`]): the tolerance grows as this over the
/// contrast, up to [`MAX_EDGE_SLACK`].
const LOOSE_EDGE_CONTRAST: f32 = 0.15;

/// The most an edge's fit tolerance grows between near colours.
const MAX_EDGE_SLACK: f64 = 4.0;

/// What a thread reuses from layer to layer: the flood fill's buffers, and a mask of the
/// grid's size that is all false between layers (a fresh one per layer was a megabyte zeroed
/// and faulted in each time).
pub(super) struct Scratch {
    pub(super) flood: Flood,
    mask: Vec<bool>,
}

impl Scratch {
    pub(super) fn new(width: usize, height: usize) -> Self {
        Self {
            flood: Flood::new(width, height),
            mask: vec![false; width * height],
        }
    }

    /// The mask, all false; a new one when the last layer did not give it back (it
    /// panicked) or it has another size.
    fn take_mask(&mut self, size: usize) -> Vec<bool> {
        let mask = std::mem::take(&mut self.mask);
        if mask.len() == size {
            mask
        } else {
            vec![false; size]
        }
    }
}

/// What every layer shares.
pub(super) struct LayerJob<'a> {
    pub(super) grid: &'a KeyGrid,
    pub(super) ranks: &'a [Rank],
    /// A window holding the pixels of each key (`level << 8 | label`).
    pub(super) boxes: &'a [Window],
    pub(super) writer: &'a PathWriter,
    pub(super) cancel: &'a CancelToken,
    pub(super) max_bytes: usize,
    /// Opaque pixels more than a working pixel inside the opaque art (see `translucent_mask`),
    /// when there are translucent layers.
    pub(super) inner_art: Option<Vec<bool>>,
    /// The palette in OKLab, by label.
    pub(super) labs: Vec<[f32; 3]>,
}

impl LayerJob<'_> {
    /// Path data of every component of one layer's mask.
    pub(super) fn trace_layer(
        &self,
        layer: Layer,
        scratch: &mut Scratch,
    ) -> Result<LayerOutput, TraceError> {
        let mut mask = scratch.take_mask(self.grid.width * self.grid.height);
        let flood = &mut scratch.flood;
        let (window, traced) = match layer {
            Layer::Opaque { rank, label } => {
                let window = self.opaque_mask(&mut mask, rank, label);
                let traced = self.trace_mask(
                    &mask,
                    window,
                    &|point| self.edge_slack(rank, label, &mask, point),
                    flood,
                );
                (window, traced)
            }
            Layer::Translucent { label, level, .. } => {
                let window = self.translucent_mask(&mut mask, label, level);
                // In the plate's pixels: at phase 2's `s ×` a shadow's level contours are
                // as smooth as ever, and followed `s ×` as closely they cost most of a glossy
                // icon's bytes.
                let tolerance = TRANSLUCENT_TOLERANCE * self.grid.upscale as f64;
                (
                    window,
                    self.trace_mask(&mask, window, &|_| tolerance, flood),
                )
            }
        };
        // `window` holds every pixel the mask took: cleared there, it is all false again.
        for row in window.rows(self.grid.width) {
            mask[row].fill(false);
        }
        scratch.mask = mask;
        traced
    }

    /// The pixels of rank `rank`, reaching under the later shapes (ranks stacked on it) that
    /// it touches, so no seam opens between them: one working pixel under them
    /// ([`masks::grow_counted`]), or under the whole of those shapes when that outline is
    /// shorter (a shape with holes filled by later ones). Not under later shapes it never
    /// touches: reaching under every later rank, as this once did, traced their outlines
    /// again in this layer's colour, and where two fits of one edge differed by a fraction of
    /// a pixel this colour showed as a hairline (a yellow line round a chef's white hat, far
    /// from the yellow face). Quick benchmark against that: +0.4 to +2.3 dB on every artwork
    /// set at 0.6 to 0.9 times the bytes.
    /// Written into `mask` (all false before); returns a window holding it.
    fn opaque_mask(&self, mask: &mut [bool], rank: Rank, label: u8) -> Window {
        let grid = self.grid;
        let (width, height) = (grid.width, grid.height);
        let window = self.boxes[usize::from(grid.top) << 8 | usize::from(label)];
        for row in window.rows(width) {
            let ranks = &self.ranks[row.clone()];
            for (taken, own) in mask[row].iter_mut().zip(ranks) {
                *taken = *own == rank;
            }
        }
        let ranks = self.ranks;
        let later = |index: usize| ranks[index] != NO_RANK && ranks[index] > rank;
        // Grown once into the later shapes, noting the outline after `scale` steps (one
        // working pixel under them) and at the end (the whole of them).
        let length = masks::outline_length_in(mask, width, height, window);
        let growth = masks::grow_counted(mask, later, width, height, grid.scale, length, window);
        let kept = if growth.length_within < growth.length {
            growth.undo_after_steps(mask);
            &growth.taken[..growth.within]
        } else {
            &growth.taken[..]
        };
        self.keep_off_the_rim(mask, kept);
        growth.window
    }

    /// After phase 2's upscale: takes back, of the pixels a layer took under later shapes
    /// (`taken`), those within one working pixel of nothing opaque (transparency or a
    /// translucent layer). Grown under a later shape up to its outer edge, a layer shares
    /// that edge and both anti-alias it, so the lower colour shows as a fringe outside the
    /// upper one (a yellow fill under a sign's dark border) and coverage adds up past one
    /// half. `supersample`'s full `EDGE_INSET` hid that by moving every such edge half a
    /// working pixel in; with the inset scaled to the upscale and this, small RGBA uploads
    /// gained +1.7 dB (flat), +0.55 (logos), +0.3 (outline), +0.16 (glossy) at the art's size
    /// (bench/upscale.md). At the working resolution (no upscale) the full inset stays, and
    /// so does this growth: taken back there, a ring under its thin inner fringe was no longer
    /// recognised (geometric set).
    fn keep_off_the_rim(&self, mask: &mut [bool], taken: &[usize]) {
        let grid = self.grid;
        if grid.upscale <= 1 {
            return;
        }
        let (width, height) = (grid.width, grid.height);
        let reach = grid.scale;
        let nothing = |index: usize| self.ranks[index] == NO_RANK;
        let near_nothing = |index: usize| {
            let (x, y) = (index % width, index / width);
            let (x0, x1) = (x.saturating_sub(reach), (x + reach).min(width - 1));
            let (y0, y1) = (y.saturating_sub(reach), (y + reach).min(height - 1));
            (y0..=y1).any(|ny| (x0..=x1).any(|nx| nothing(ny * width + nx)))
        };
        for &index in taken {
            if near_nothing(index) {
                mask[index] = false;
            }
        }
    }

    /// How much the fit tolerance may grow at `point` (grid coordinates) on the outline of
    /// the opaque layer `rank` (colour `label`, pixels `mask`), from the pixels just outside
    /// the mask there, taking the strictest: a later shape (the outline runs under it, hidden)
    /// allows [`HIDDEN_EDGE_SLACK`]; a lower layer's colour allows more the closer it is to
    /// this one (misplacing an edge costs its contrast times the area moved: the bands of a
    /// quantised gradient may be fitted loosely, up to [`MAX_EDGE_SLACK`]); transparency or a
    /// translucent layer allows none.
    fn edge_slack(&self, rank: Rank, label: u8, mask: &[bool], point: fit::Point) -> f64 {
        let grid = self.grid;
        let (x, y) = (point.0.round() as i64, point.1.round() as i64);
        let own = self.labs[usize::from(label)];
        let mut slack = f64::INFINITY;
        for ny in y - 2..y + 2 {
            for nx in x - 2..x + 2 {
                if nx < 0 || ny < 0 || nx >= grid.width as i64 || ny >= grid.height as i64 {
                    continue;
                }
                let index = ny as usize * grid.width + nx as usize;
                if mask[index] {
                    continue;
                }
                let other = self.ranks[index];
                let allowed = if other == NO_RANK {
                    1.0
                } else if other > rank {
                    HIDDEN_EDGE_SLACK
                } else {
                    let lab = self.labs[usize::from((grid.keys[index] & 0xff) as u8)];
                    let contrast = oklab_distance(own, lab);
                    if contrast > 0.0 {
                        f64::from(LOOSE_EDGE_CONTRAST / contrast).clamp(1.0, MAX_EDGE_SLACK)
                    } else {
                        MAX_EDGE_SLACK
                    }
                };
                slack = slack.min(allowed);
            }
        }
        if slack.is_finite() {
            slack
        } else {
            1.0
        }
    }

    /// Translucent pixels of `label` at `level` or above, grown by one working pixel (`scale`
    /// grid pixels) into the opaque pixels around them (never into transparency or other
    /// translucent colours). When it is shorter, the outline reaches on under the opaque art
    /// it touches, kept more than a working pixel inside the art's edges so it never shows
    /// there: a shadow around the art then costs its outer edge only, not a copy of the
    /// art's outline per opacity level.
    /// Written into `mask` (all false before); returns a window holding it.
    fn translucent_mask(&self, mask: &mut [bool], label: u8, level: u8) -> Window {
        let grid = self.grid;
        let top = grid.top;
        let (width, height) = (grid.width, grid.height);
        let mut window = (level..top).fold(Window::EMPTY, |window, own| {
            window.union(self.boxes[usize::from(own) << 8 | usize::from(label)])
        });
        for row in window.rows(width) {
            let keys = &grid.keys[row.clone()];
            for (taken, key) in mask[row].iter_mut().zip(keys) {
                let (own_level, own_label) = ((key >> 8) as u8, (key & 0xff) as u8);
                *taken = *key != TRANSPARENT_KEY
                    && own_label == label
                    && own_level >= level
                    && own_level < top;
            }
        }
        // `scale` steps, each taking the opaque pixels 8-adjacent to the mask: a pixel taken
        // at one step touches one taken at the step before, so each step only looks around
        // the last step's pixels.
        let mut front: Vec<usize> = window.indices(width).filter(|&i| mask[i]).collect();
        let mut next = Vec::new();
        for _ in 0..grid.scale {
            next.clear();
            for &index in &front {
                let (x, y) = (index % width, index / width);
                let (x0, x1) = (x.saturating_sub(1), (x + 1).min(width - 1));
                let (y0, y1) = (y.saturating_sub(1), (y + 1).min(height - 1));
                for ny in y0..=y1 {
                    for nx in x0..=x1 {
                        let neighbour = ny * width + nx;
                        if !mask[neighbour] && grid.is_opaque(grid.keys[neighbour]) {
                            mask[neighbour] = true;
                            window.include(nx, ny);
                            next.push(neighbour);
                        }
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            std::mem::swap(&mut front, &mut next);
        }
        if let Some(inner) = &self.inner_art {
            let length = masks::outline_length_in(mask, width, height, window);
            let growth = masks::grow_counted(mask, |i| inner[i], width, height, 0, length, window);
            if growth.length >= growth.length_within {
                growth.undo_after_steps(mask);
            }
            window = growth.window;
        }
        window
    }

    /// Path data of every 4-connected component of the pixels of `mask` (held by `window`).
    /// `slack` multiplies the fit tolerance at each point of an outline.
    fn trace_mask(
        &self,
        mask: &[bool],
        window: Window,
        slack: &dyn Fn(fit::Point) -> f64,
        flood: &mut Flood,
    ) -> Result<LayerOutput, TraceError> {
        flood.clear();
        let width = self.grid.width;
        let mut data = PathData::new();
        let mut shapes = Vec::new();
        // `window` holds the mask: the same starts in the same (row-major) order.
        for start in window.indices(width) {
            if !mask[start] || flood.is_visited(start) {
                continue;
            }
            if self.cancel.is_cancelled() {
                return Err(TraceError::Cancelled);
            }
            if data.len() > self.max_bytes {
                return Err(TraceError::TooLarge {
                    limit: self.max_bytes,
                });
            }
            let component = flood.fill_rows(start, |index| mask[index]);
            let (cells, offset) = BoxMask::of(&component);
            self.trace_component(cells, offset, slack, &mut data, &mut shapes);
        }
        if data.len() > self.max_bytes {
            return Err(TraceError::TooLarge {
                limit: self.max_bytes,
            });
        }
        Ok(LayerOutput {
            arcs: data.arcs(),
            data: data.into_string(),
            shapes,
        })
    }

    /// Outer outline plus one reversed outline per hole, appended as path data; a component
    /// without holes whose outline is a circle or an ellipse becomes a whole shape instead.
    fn trace_component(
        &self,
        mut cells: BoxMask,
        offset: PointI32,
        slack: &dyn Fn(fit::Point) -> f64,
        data: &mut PathData,
        shapes: &mut Vec<Element>,
    ) {
        let holes = find_holes(&mut cells);
        let image = cells.image();
        let outline = PathI32::image_to_path(&image, true, PathSimplifyMode::None);
        if holes.is_empty() {
            if let Some(element) = self.whole_shape(&outline, offset) {
                shapes.push(element);
                return;
            }
            if let Some(corners) = self.polygon(&outline, offset) {
                self.writer.exact().polygon(&corners, data);
                return;
            }
        }
        let mut outlines = vec![(outline, offset)];
        for (hole, hole_offset) in holes {
            let outline = PathI32::image_to_path(&hole, false, PathSimplifyMode::None);
            outlines.push((outline, offset + hole_offset));
        }
        let mut conics: Vec<Option<Conic>> = outlines
            .iter()
            .map(|(outline, offset)| self.conic(outline, *offset))
            .collect();
        self.share_centre(&outlines, &mut conics);
        let shared = conics.iter().flatten().count() > 1
            && conics
                .iter()
                .flatten()
                .all(|c| c.circle && c.center == conics[0].map_or((f64::NAN, 0.0), |o| o.center));
        let mut refined_centres = Vec::new();
        for (k, ((outline, offset), conic)) in outlines.iter().zip(conics.iter_mut()).enumerate() {
            if let Some(conic) = conic {
                let points = self.boundary(outline, *offset);
                if let Some(refined) = self.refined_conic(conic, &points, k > 0) {
                    refined_centres.push((refined.center, refined.rx));
                    *conic = refined;
                    continue;
                }
                let grow = self.inset_growth(&points);
                // An outline grows outwards, a hole's edge inwards (its ring grows into it).
                let grow = if k == 0 { grow } else { -grow };
                conic.rx += grow;
                conic.ry += grow;
            }
        }
        // Rings on one centre keep one: the refined centres' mean, weighted by radius.
        if shared && refined_centres.len() == conics.iter().flatten().count() {
            let total: f64 = refined_centres.iter().map(|(_, r)| r).sum();
            let centre = refined_centres.iter().fold((0.0, 0.0), |acc, ((x, y), r)| {
                (acc.0 + x * r / total, acc.1 + y * r / total)
            });
            for conic in conics.iter_mut().flatten() {
                conic.center = centre;
            }
        }
        for (k, ((outline, offset), conic)) in outlines.into_iter().zip(conics).enumerate() {
            self.trace_outline(outline, offset, k == 0, conic, slack, data);
        }
    }

    /// A ring's edges on one centre: the outline's circle and its holes' circles
    /// ([`shapes::concentric`]), where sharing it costs next to nothing.
    fn share_centre(&self, outlines: &[(PathI32, PointI32)], conics: &mut [Option<Conic>]) {
        let circles: Vec<(usize, Conic)> = conics
            .iter()
            .enumerate()
            .filter_map(|(k, conic)| conic.filter(|c| c.circle).map(|c| (k, c)))
            .collect();
        if circles.len() < 2 || circles[0].0 != 0 {
            return;
        }
        let points: Vec<Vec<fit::Point>> = circles
            .iter()
            .map(|&(k, _)| self.boundary(&outlines[k].0, outlines[k].1))
            .collect();
        let sets: Vec<&[fit::Point]> = points.iter().map(Vec::as_slice).collect();
        let own: Vec<Conic> = circles.iter().map(|&(_, c)| c).collect();
        let tolerance = self.grid.options.fit_tolerance * self.grid.scale as f64;
        if let Some(shared) = shapes::concentric_hard(&sets, &own, tolerance, self.grid.source) {
            for (&(k, _), circle) in circles.iter().zip(shared) {
                conics[k] = Some(circle);
            }
        }
    }

    /// The whole shape a lone outline is (see [`Self::conic`]), in output coordinates:
    /// a circle or an ellipse, else a (rounded) rectangle.
    fn whole_shape(&self, outline: &PathI32, offset: PointI32) -> Option<Element> {
        if !self.primitives_on() {
            return None;
        }
        let points = self.boundary(outline, offset);
        let tolerance = self.grid.options.fit_tolerance * self.grid.scale as f64;
        let alone = self.against_nothing(&points);
        let grow = self.inset_growth(&points);
        let scale = self.grid.scale as f64;
        if let Some(mut conic) = shapes::recognise_hard(&points, tolerance, self.grid.source)
            .filter(|c| shapes::large_enough(c, self.grid.scale as f64))
            .filter(|c| shapes::large_enough(c, scale))
        {
            if let Some(refined) = self.refined_conic(&conic, &points, false) {
                return Some(Element::Conic(self.writer.shape(&refined)));
            }
            conic.rx += grow;
            conic.ry += grow;
            return Some(Element::Conic(self.writer.shape(&conic)));
        }
        // Rectangles only where nothing, or one colour all round, is drawn around them:
        // between several colours (a flag's bands, which also meet the image's edge) the
        // sides' mean position on the label map sat up to half a pixel off the Bézier path's,
        // which follows the map's outer corners (UAE flag: -4.6 dB at 512 px).
        if !alone && !self.island(&points) {
            return None;
        }
        // Sub-pixel labels round a sharp corner by about half a working pixel.
        let mut rect = shapes::recognise_rect(&points, tolerance, self.grid.scale as f64)?;
        // Corners rounded by less than `NEARLY_SHARP` working pixels are as much a sharp
        // square's anti-aliasing (turned 45°, its corners spread over several pixels) as a
        // radius: a straight-sided polygon, when one fits, keeps them sharp.
        if rect.radius > 0.0
            && rect.radius < NEARLY_SHARP * scale
            && self.polygon(outline, offset).is_some()
        {
            return None;
        }
        if let Some(refined) = self.refined_rect(&rect, &points) {
            return self.writer.rect(&refined).map(Element::Rect);
        }
        rect.width += 2.0 * grow;
        rect.height += 2.0 * grow;
        if rect.radius > 0.0 {
            rect.radius += grow;
        }
        self.writer.rect(&rect).map(Element::Rect)
    }

    /// The corners (grid coordinates, the outline's order) of the straight-sided polygon a
    /// lone outline is ([`polygons::recognise_polygon`]), grown like whole shapes when it
    /// runs wholly against transparency; none for an upright one between colours.
    fn polygon(&self, outline: &PathI32, offset: PointI32) -> Option<Vec<fit::Point>> {
        if !self.primitives_on() {
            return None;
        }
        let points = self.boundary(outline, offset);
        let scale = self.grid.scale as f64;
        let tolerance = self.grid.options.fit_tolerance * scale;
        let mut corners = polygons::recognise_polygon(&points, tolerance, scale)?;
        let alone = self.against_nothing(&points);
        // An upright rectangle between colours (a flag's band) keeps the Bézier path, which
        // draws it straight on the label map's pixel edges; the least-squares sides sat a
        // tenth of a pixel off them (UAE flag at 96 px: -0.19 dB). One that is upright only
        // because its sides were snapped onto the axes keeps its fitted sides, as before
        // snapping (a 96 px rectangle on white: -0.09 dB as Béziers).
        if !alone && polygons::upright(&corners) {
            corners = polygons::recognise_polygon_with(&points, tolerance, scale, false)
                .filter(|c| !polygons::upright(c))?;
        }
        if let Some(refined) = self.refined_polygon(&corners, &points) {
            return Some(refined);
        }
        if alone && self.grid.scale > 1 {
            let grow = f64::from(crate::supersample::EDGE_INSET) * scale;
            return Some(polygons::offset(&corners, grow));
        }
        Some(corners)
    }

    /// How far (grid pixels) a whole shape's edge moves out to undo `supersample`'s inset:
    /// `EDGE_INSET` working pixels for an outline wholly against transparency (above 1×),
    /// else none.
    fn inset_growth(&self, points: &[fit::Point]) -> f64 {
        if self.grid.scale > 1 && self.against_nothing(points) {
            f64::from(crate::supersample::EDGE_INSET) * self.grid.scale as f64
        } else {
            0.0
        }
    }

    /// Whole shapes are on and outlines are fitted as curves.
    pub(super) fn primitives_on(&self) -> bool {
        let options = &self.grid.options;
        options.primitives && matches!(options.mode, TraceMode::Spline | TraceMode::Auto)
    }

    /// The midpoints of a pixel outline's unit edges, in grid coordinates.
    fn boundary(&self, outline: &PathI32, offset: PointI32) -> Vec<fit::Point> {
        let corners: Vec<(i32, i32)> = outline
            .path
            .iter()
            .map(|p| (p.x + offset.x, p.y + offset.y))
            .collect();
        shapes::edge_midpoints(&corners)
    }

    /// The circle or ellipse a pixel outline (its corners, from visioncortex's walker) is,
    /// in grid coordinates, when whole shapes are on and the outline is fitted as curves.
    fn conic(&self, outline: &PathI32, offset: PointI32) -> Option<Conic> {
        if !self.primitives_on() {
            return None;
        }
        let points = self.boundary(outline, offset);
        let tolerance = self.grid.options.fit_tolerance * self.grid.scale as f64;
        shapes::recognise_hard(&points, tolerance, self.grid.source)
    }

    /// One closed outline (`outer`: clockwise; a hole: anticlockwise) from its pixel corners:
    /// exact arcs when it is a circle or an ellipse (`conic`, see [`Self::conic`]), else
    /// simplified and fitted.
    fn trace_outline(
        &self,
        outline: PathI32,
        offset: PointI32,
        outer: bool,
        conic: Option<Conic>,
        slack: &dyn Fn(fit::Point) -> f64,
        data: &mut PathData,
    ) {
        let options = &self.grid.options;
        if let Some(conic) = conic {
            let corners: Vec<fit::Point> = outline
                .path
                .iter()
                .map(|p| (f64::from(p.x), f64::from(p.y)))
                .collect();
            let clockwise = shapes::signed_area2(&corners) > 0.0;
            self.writer.conic(&conic, clockwise, data);
            return;
        }
        let path = if options.mode == TraceMode::Pixel {
            outline
        } else {
            // What `PathSimplifyMode::Polygon` does after the same walk.
            outline.simplify(outer)
        };
        let points: Vec<(f64, f64)> = path
            .path
            .iter()
            .map(|p| (f64::from(p.x + offset.x), f64::from(p.y + offset.y)))
            .collect();
        match options.mode {
            TraceMode::Polygon | TraceMode::Pixel => self.writer.polygon(&points, data),
            // `Auto` is resolved before any layer is traced.
            TraceMode::Spline | TraceMode::Auto => {
                let scale = self.grid.scale as f64;
                // After phase 2's `s ×`, corners are judged (and the outline smoothed) over
                // `√s ×` the chord: the upload's pixel steps, which the upscaler sharpens, no
                // longer pass for corners. (`s ×` rounded small features off: −0.1 to −0.2 dB
                // on flat icons and flags at the art's size; `√s ×` moved them −0.2 to +0.1 dB
                // at 0.8 to 1.0× the bytes, bench/upscale.md.)
                let reach = CORNER_REACH * scale * (self.grid.upscale as f64).sqrt();
                let cubics = fit::fit_closed_with(
                    &points,
                    &fit::FitOptions {
                        tolerance: options.fit_tolerance * scale,
                        corner_threshold: options.corner_threshold.to_radians(),
                        corner_reach: reach,
                    },
                    slack,
                );
                self.writer.cubics(&cubics, data);
            }
        }
    }
}

/// Finds the holes of a component image (4-connected background regions that do not touch
/// the border), fills them in `filled`, and returns each as its own image and offset.
fn find_holes(filled: &mut BoxMask) -> Vec<(BinaryImage, PointI32)> {
    let (width, height) = (filled.width, filled.height);
    let mut flood = Flood::new(width, height);
    let mut holes = Vec::new();
    for start in 0..width * height {
        if flood.is_visited(start) || filled.cells[start] {
            continue;
        }
        let component = flood.fill_rows(start, |n| !filled.cells[n]);
        if component.bounds.touches_border(width, height) {
            continue;
        }
        let (hole, offset) = BoxMask::of(&component);
        for run in component.runs {
            filled.cells[run.y * width + run.left..=run.y * width + run.right].fill(true);
        }
        holes.push((hole.image(), offset));
    }
    holes
}

/// A component's pixels in its bounding box, row-major.
struct BoxMask {
    cells: Vec<bool>,
    width: usize,
    height: usize,
}

impl BoxMask {
    /// The pixels of `component`, and its box's corner.
    fn of(component: &RowComponent<'_>) -> (Self, PointI32) {
        let bounds = &component.bounds;
        let (width, height) = (bounds.width(), bounds.height());
        let mut cells = vec![false; width * height];
        for run in component.runs {
            let row = (run.y - bounds.top) * width;
            cells[row + run.left - bounds.left..=row + run.right - bounds.left].fill(true);
        }
        let offset = PointI32::new(bounds.left as i32, bounds.top as i32);
        (
            Self {
                cells,
                width,
                height,
            },
            offset,
        )
    }

    /// As visioncortex's bit image, packed eight cells a byte (first cell in the high bit,
    /// as `BitVec::from_bytes` reads them) rather than set bit by bit.
    fn image(&self) -> BinaryImage {
        let bytes: Vec<u8> = self
            .cells
            .chunks(8)
            .map(|chunk| {
                chunk
                    .iter()
                    .enumerate()
                    .fold(0u8, |byte, (k, cell)| byte | (u8::from(*cell) << (7 - k)))
            })
            .collect();
        let mut pixels = BitVec::from_bytes(&bytes);
        pixels.truncate(self.cells.len());
        BinaryImage {
            pixels,
            width: self.width,
            height: self.height,
        }
    }
}
