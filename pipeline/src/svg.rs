//! The SVG writer: ink groups of path data in, one SVG document and its layer list out.
//!
//! **The document.** A root `<svg>` whose `width`, `height` and `viewBox` are the output size
//! (input-image pixels), then one `<g>` per [`InkGroup`], bottom to top in painting order,
//! each holding its paths, one `<path>` a line:
//!
//! ```text
//! <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="W" height="H" viewBox="0 0 W H">
//! <g id="ink-1e5ac8" data-color="#1e5ac8">
//! <path d="m…z" fill="#1e5ac8"/>
//! </g>
//! </svg>
//! ```
//!
//! Groups change nothing in the rendering: they carry no paint of their own (every path keeps
//! its own `fill`), and the writer never reorders paths, so the picture is exactly the flat
//! list of paths in the order given. Empty paths and groups left with no path are not
//! written.
//!
//! **Ids.** A group's `id` is `ink-` and its colour as lowercase hex, plus a suffix for its
//! [`InkRole`]: none for [`InkRole::Opaque`], `-soft` for [`InkRole::Translucent`], `-gap`
//! for [`InkRole::GapFiller`]. Every ink therefore has one plain `ink-rrggbb` group, because
//! a translucent group keeps the plain id when its ink has no opaque group (a shadow-only
//! ink). Should a caller pass two groups that would get the same id, the later ones get
//! `-2`, `-3`, … so ids stay unique. `data-color` is `#rrggbb`; groups that are not opaque
//! fills also carry `data-role` (`translucent`, `gap-filler`). The [`Layer`] list returned
//! with the document describes exactly the groups written, in the same order, with the same
//! ids, for the job's `metadata.layers`.
//!
//! **Path data** ([`PathWriter`]): grid coordinates are scaled to the output size, rounded to
//! `precision` decimals and written as relative commands (`m`, `h`, `v`, `l`, `c`, `z`), with
//! SVG's compact number syntax (`.5`, `-.5`, no separator before a minus sign). A cubic whose
//! control points lie on its chord is written as a line.
//!
//! **Byte limit.** The document may not grow past `max_bytes`: the writer stops with
//! [`TooLarge`] as soon as a path takes it past the limit (the pipeline reports it as
//! `OutputTooLarge`).
//!
//! Image tracing (`trace`, the stacked layout) and the cutout layout both write through this
//! module, so every layout gets the same document shape and the same layer metadata.

use crate::palette::Rgb8;
use std::fmt::Write as _;

use serde::Serialize;

use crate::fit;
use crate::shapes::{Conic, Rect};

/// What a group's paths are in the picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InkRole {
    /// Opaque fills.
    Opaque,
    /// Fills with a `fill-opacity` (soft shadows, glows, glass), painted under the opaque
    /// shapes.
    Translucent,
    /// Strokes along the edges between shapes, painted under the fills so no seam shows
    /// (the gap filler).
    GapFiller,
}

impl InkRole {
    /// The id suffix of a group in this role (`""`, `-soft`, `-gap`).
    fn suffix(self) -> &'static str {
        match self {
            InkRole::Opaque => "",
            InkRole::Translucent => "-soft",
            InkRole::GapFiller => "-gap",
        }
    }

    /// The `data-role` value, `None` for opaque fills (the default, not written).
    fn data_role(self) -> Option<&'static str> {
        match self {
            InkRole::Opaque => None,
            InkRole::Translucent => Some("translucent"),
            InkRole::GapFiller => Some("gap-filler"),
        }
    }
}

/// How a path is painted, always in its group's colour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Paint {
    /// `fill`, with `fill-opacity` (at most three decimals) when given.
    Fill {
        /// `None`: opaque.
        opacity: Option<f64>,
    },
    /// `fill="none"` and a `stroke` of this width (output pixels) with round joins and caps.
    Stroke {
        /// `stroke-width`.
        width: f64,
    },
}

/// A whole shape written as its own element, in output coordinates, rounded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Element {
    /// `<circle>` or `<ellipse>`.
    Conic(Conic),
    /// `<rect>` (with `rx` when its corners are rounded).
    Rect(Rect),
}

/// One `<path>`, and the whole shapes (`<circle>`, `<ellipse>`, `<rect>`) of the same paint written
/// after it.
#[derive(Debug, Clone, PartialEq)]
pub struct SvgPath {
    /// The `d` attribute ([`PathData::into_string`]); an empty path is not written.
    pub data: String,
    /// How it is painted.
    pub paint: Paint,
    /// Circles and ellipses (output coordinates, rounded), each its own element after the
    /// path, painted the same way.
    pub shapes: Vec<Element>,
    /// Elliptic-arc commands in `data` (for `metadata.primitives`).
    pub arcs: usize,
}

impl SvgPath {
    /// A path with no whole shapes and no arcs.
    pub fn new(data: String, paint: Paint) -> Self {
        Self {
            data,
            paint,
            shapes: Vec::new(),
            arcs: 0,
        }
    }

    /// Elements it writes: the path (unless empty) and its shapes.
    pub fn elements(&self) -> usize {
        usize::from(!self.data.is_empty()) + self.shapes.len()
    }
}

/// The exact geometry written (`metadata.primitives`): whole shapes and arc commands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Primitives {
    /// `<circle>` elements.
    pub circles: usize,
    /// `<ellipse>` elements.
    pub ellipses: usize,
    /// `<rect>` elements.
    pub rects: usize,
    /// Elliptic-arc commands (`A`) in path data: circles and ellipses that are holes, or
    /// outlines with holes, or shared edges in the cutout layout.
    pub arcs: usize,
}

/// The paths of one ink in one role, consecutive in painting order.
#[derive(Debug, Clone, PartialEq)]
pub struct InkGroup {
    /// The ink, a palette colour.
    pub color: [u8; 3],
    /// What the paths are.
    pub role: InkRole,
    /// The share of the drawn pixels (of the label map) this group stands for, in `[0, 1]`.
    pub area: f64,
    /// Its paths, bottom to top.
    pub paths: Vec<SvgPath>,
}

/// One group as written: an entry of `metadata.layers`
/// (`{"id": "ink-1e5ac8", "color": "#1e5ac8", "role": "opaque", "paths": 3, "area": 0.42}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Layer {
    /// The group's `id`.
    pub id: String,
    /// Its ink, `#rrggbb`.
    pub color: String,
    /// What its paths are.
    pub role: InkRole,
    /// Shape elements in it (`<path>`, `<circle>`, `<ellipse>`, `<rect>`).
    pub paths: usize,
    /// Share of the drawn pixels, rounded to six decimals.
    pub area: f64,
}

/// A finished document.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// The SVG text.
    pub svg: String,
    /// The groups written, bottom to top.
    pub layers: Vec<Layer>,
    /// The exact geometry written.
    pub primitives: Primitives,
}

impl Written {
    /// Shape elements written (`<path>`, `<circle>`, `<ellipse>`, `<rect>`).
    pub fn paths(&self) -> usize {
        self.layers.iter().map(|layer| layer.paths).sum()
    }
}

/// The document grew past its byte limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the SVG grew past {limit} bytes")]
pub struct TooLarge {
    /// The limit.
    pub limit: usize,
}

/// `#rrggbb`, lower case (as [`Rgb8::hex`]).
pub fn hex(color: [u8; 3]) -> String {
    Rgb8(color).hex()
}

/// The id of an ink's group, `ink-rrggbb` (lower case), before any role suffix: also the DXF
/// layer of that ink.
pub fn ink_id(color: [u8; 3]) -> String {
    format!("ink-{}", &hex(color)[1..])
}

/// Writes `groups` (bottom to top) into a `width × height` document of at most `max_bytes`
/// bytes (`usize::MAX`: no limit).
pub fn write_document(
    width: u32,
    height: u32,
    groups: &[InkGroup],
    max_bytes: usize,
) -> Result<Written, TooLarge> {
    write(width, height, groups, max_bytes, true)
}

/// The same document without its `<g>` elements: the same paths in the same order, so the
/// same picture (what the tests compare the grouped document against). The layers returned
/// are those [`write_document`] would write.
pub fn write_flat(
    width: u32,
    height: u32,
    groups: &[InkGroup],
    max_bytes: usize,
) -> Result<Written, TooLarge> {
    write(width, height, groups, max_bytes, false)
}

fn write(
    width: u32,
    height: u32,
    groups: &[InkGroup],
    max_bytes: usize,
    grouped: bool,
) -> Result<Written, TooLarge> {
    let capacity: usize = groups
        .iter()
        .flat_map(|group| &group.paths)
        .map(|path| path.data.len() + 64 + 96 * path.shapes.len())
        .sum();
    let mut svg = String::with_capacity(256 + capacity.min(max_bytes));
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">"
    );
    let ids = group_ids(groups);
    let mut layers = Vec::new();
    let mut primitives = Primitives::default();
    for (group, id) in groups.iter().zip(ids) {
        let Some(id) = id else {
            continue;
        };
        let color = hex(group.color);
        if grouped {
            let _ = write!(svg, "<g id=\"{id}\" data-color=\"{color}\"");
            if let Some(role) = group.role.data_role() {
                let _ = write!(svg, " data-role=\"{role}\"");
            }
            svg.push_str(">\n");
        }
        let mut paths = 0;
        for path in group.paths.iter().filter(|path| path.elements() > 0) {
            write_path(&mut svg, path, &color);
            paths += path.elements();
            primitives.arcs += path.arcs;
            for shape in &path.shapes {
                match shape {
                    Element::Conic(conic) if conic.circle => primitives.circles += 1,
                    Element::Conic(_) => primitives.ellipses += 1,
                    Element::Rect(_) => primitives.rects += 1,
                }
            }
            if svg.len() > max_bytes {
                return Err(TooLarge { limit: max_bytes });
            }
        }
        if grouped {
            svg.push_str("</g>\n");
        }
        layers.push(Layer {
            id,
            color,
            role: group.role,
            paths,
            area: (group.area * 1e6).round() / 1e6,
        });
    }
    svg.push_str("</svg>\n");
    Ok(Written {
        svg,
        layers,
        primitives,
    })
}

/// The id of each group, `None` for a group with nothing to write.
fn group_ids(groups: &[InkGroup]) -> Vec<Option<String>> {
    let written = |group: &InkGroup| group.paths.iter().any(|path| path.elements() > 0);
    let has_opaque = |color: [u8; 3]| {
        groups
            .iter()
            .any(|g| g.color == color && g.role == InkRole::Opaque && written(g))
    };
    let mut taken: Vec<String> = Vec::new();
    groups
        .iter()
        .map(|group| {
            if !written(group) {
                return None;
            }
            let suffix = match group.role {
                InkRole::Translucent if !has_opaque(group.color) => "",
                role => role.suffix(),
            };
            let base = format!("{}{suffix}", ink_id(group.color));
            let mut id = base.clone();
            let mut repeat = 1;
            while taken.contains(&id) {
                repeat += 1;
                id = format!("{base}-{repeat}");
            }
            taken.push(id.clone());
            Some(id)
        })
        .collect()
}

/// One `<path …/>` line (unless its data is empty), then one line per whole shape.
fn write_path(svg: &mut String, path: &SvgPath, color: &str) {
    let paint = match path.paint {
        Paint::Fill { opacity: None } => format!("fill=\"{color}\""),
        Paint::Fill {
            opacity: Some(opacity),
        } => format!(
            "fill=\"{color}\" fill-opacity=\"{}\"",
            format_opacity(opacity)
        ),
        Paint::Stroke { width } => format!(
            "fill=\"none\" stroke=\"{color}\" stroke-width=\"{}\" stroke-linejoin=\"round\" stroke-linecap=\"round\"",
            format_opacity(width)
        ),
    };
    if !path.data.is_empty() {
        let _ = writeln!(svg, "<path d=\"{}\" {paint}/>", path.data);
    }
    for shape in &path.shapes {
        match shape {
            Element::Conic(conic) => write_conic(svg, conic, &paint),
            Element::Rect(rect) => write_rect(svg, rect, &paint),
        }
    }
}

/// A `<circle>`, or an `<ellipse>` (rotated about its centre when its axes are not the
/// page's), in output coordinates already rounded. Numbers have at most 8 decimals.
fn write_conic(svg: &mut String, shape: &Conic, paint: &str) {
    let number = |value: f64| decimal(value, 8);
    let (cx, cy) = (number(shape.center.0), number(shape.center.1));
    if shape.circle {
        let _ = writeln!(
            svg,
            "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"{}\" {paint}/>",
            number(shape.rx)
        );
        return;
    }
    let degrees = shape.angle.to_degrees();
    let _ = write!(
        svg,
        "<ellipse cx=\"{cx}\" cy=\"{cy}\" rx=\"{}\" ry=\"{}\"",
        number(shape.rx),
        number(shape.ry)
    );
    if degrees != 0.0 {
        let _ = write!(
            svg,
            " transform=\"rotate({} {cx} {cy})\"",
            decimal(degrees, 3)
        );
    }
    let _ = writeln!(svg, " {paint}/>");
}

/// A `<rect>` (`rx` when rounded), rotated about its centre when its sides are not the
/// page's, in output coordinates already rounded.
fn write_rect(svg: &mut String, rect: &Rect, paint: &str) {
    let number = |value: f64| decimal(value, 8);
    let _ = write!(
        svg,
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"",
        number(rect.center.0 - 0.5 * rect.width),
        number(rect.center.1 - 0.5 * rect.height),
        number(rect.width),
        number(rect.height)
    );
    if rect.radius > 0.0 {
        let _ = write!(svg, " rx=\"{}\"", number(rect.radius));
    }
    let degrees = rect.angle.to_degrees();
    if degrees != 0.0 {
        let _ = write!(
            svg,
            " transform=\"rotate({} {} {})\"",
            decimal(degrees, 3),
            number(rect.center.0),
            number(rect.center.1)
        );
    }
    let _ = writeln!(svg, " {paint}/>");
}

/// A number with at most three decimals and no trailing zeros (`0.125`, `0.5`, `2`).
fn format_opacity(value: f64) -> String {
    decimal(value, 3)
}

/// `value` with `precision` decimals, trailing zeros and a bare `.` dropped, and `-0` as `0`
/// (`2.50` → `2.5`, `-0.00` → `0`): numbers for SVG, EPS and the like.
pub fn decimal(value: f64, precision: usize) -> String {
    let mut text = format!("{value:.precision$}");
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
    text
}

/// A cubic whose control points lie within this distance (output pixels) of its chord is
/// written as a straight line: the fitter emits many straight edges as cubics.
const STRAIGHT_TOLERANCE: f64 = 0.05;

/// Exact shapes (circles, ellipses, rectangles, straight-sided polygons, arcs) are written
/// with a rounding step of at most this share of the document's long side (and never coarser
/// than the path precision): `0.01` for a 96 or a 512 px upload, `0.1` for a 1024 px one. Their
/// geometry is fitted to the sub-pixel edge, so at `0.1` of a 96 px upload the rounding alone
/// moved a circle scaled to 512 px by up to a quarter of a pixel (bench/geometry.md). Béziers
/// keep the path precision: on the artwork sets a second decimal there added 15–18 % of the
/// bytes for under 0.1 dB.
const EXACT_STEP_PER_SIDE: f64 = 1.0 / 8192.0;

/// Writes path data in output coordinates with relative commands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PathWriter {
    scale_x: f64,
    scale_y: f64,
    precision: usize,
    /// Decimals of exact shapes (see [`EXACT_STEP_PER_SIDE`]), at least `precision`.
    exact_precision: usize,
}

impl PathWriter {
    /// A writer from a `grid_width × grid_height` grid to a `output_width × output_height`
    /// document, rounding to `precision` decimals (at most 8).
    pub fn new(
        grid_width: usize,
        grid_height: usize,
        output_width: u32,
        output_height: u32,
        precision: u32,
    ) -> Self {
        let precision = precision.min(8) as usize;
        let side = f64::from(output_width.max(output_height).max(1));
        let needed = (-(side * EXACT_STEP_PER_SIDE).log10()).ceil().max(0.0) as usize;
        Self {
            scale_x: f64::from(output_width) / grid_width as f64,
            scale_y: f64::from(output_height) / grid_height as f64,
            precision,
            exact_precision: needed.clamp(precision, 8),
        }
    }

    /// The same writer at the precision of exact shapes: for a straight-sided polygon's
    /// corners (circles, ellipses, rectangles and arcs use it by themselves).
    pub fn exact(&self) -> Self {
        Self {
            precision: self.exact_precision,
            ..*self
        }
    }

    /// The whole `width × height` canvas, exactly.
    pub fn rectangle(&self, width: u32, height: u32) -> String {
        format!("M0 0H{width}V{height}H0Z")
    }

    /// `value` rounded to the writer's precision.
    pub fn round(&self, value: f64) -> f64 {
        let factor = 10f64.powi(self.precision as i32);
        (value * factor).round() / factor
    }

    /// A grid point in output coordinates, rounded.
    pub fn point(&self, grid: (f64, f64)) -> (f64, f64) {
        (
            self.round(grid.0 * self.scale_x),
            self.round(grid.1 * self.scale_y),
        )
    }

    /// Appends `value` in SVG's compact syntax (`1`, `2.5`, `.25`, `-.5`; `-0` is `0`).
    pub fn number(&self, value: f64, out: &mut String) {
        let mut text = decimal(value, self.precision);
        // SVG numbers need no leading zero: `0.5` is `.5`, `-0.5` is `-.5`.
        if let Some(rest) = text.strip_prefix("0.") {
            text = format!(".{rest}");
        } else if let Some(rest) = text.strip_prefix("-0.") {
            text = format!("-.{rest}");
        }
        out.push_str(&text);
    }

    /// Starts a subpath at absolute output point `start` (already rounded).
    pub fn move_to(&self, start: (f64, f64), data: &mut PathData) {
        let current = data.current;
        data.text.push('m');
        data.after_letter = true;
        // At the exact precision: the previous subpath may have been an exact shape, whose
        // end (the current point) has more decimals than this writer's.
        self.exact()
            .numbers(&[start.0 - current.0, start.1 - current.1], data);
        data.current = start;
        data.start = start;
        // After `m`, bare numbers would mean `l`: force the next letter.
        data.last_command = None;
    }

    /// A straight segment to absolute output point `end`.
    pub fn line_to(&self, end: (f64, f64), data: &mut PathData) {
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

    /// A cubic to absolute output point `end`, or a line when it is straight.
    pub fn cubic_to(&self, c1: (f64, f64), c2: (f64, f64), end: (f64, f64), data: &mut PathData) {
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

    /// Closes the subpath (`z`); the current point returns to its start.
    pub fn close(&self, data: &mut PathData) {
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

    /// A closed polygon of grid points (a repeated first point at the end is dropped, as
    /// are points that round onto the previous one); fewer than three points write nothing.
    pub fn polygon(&self, grid_points: &[(f64, f64)], data: &mut PathData) {
        let mut points: Vec<(f64, f64)> = grid_points.iter().map(|p| self.point(*p)).collect();
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

    /// A circle or ellipse in grid coordinates as an element's geometry: in output
    /// coordinates, rounded to the writer's precision, the angle to a thousandth of a degree
    /// (an ellipse within that of the page's axes is written without rotation).
    pub fn shape(&self, grid: &Conic) -> Conic {
        let exact = self.exact();
        let mut conic = grid.scaled(self.scale_x, self.scale_y);
        let mut degrees = (conic.angle.to_degrees() * 1000.0).round() / 1000.0;
        if degrees.abs() >= 90.0 {
            // An axis at ±90°: the same ellipse with its axes swapped and no rotation.
            std::mem::swap(&mut conic.rx, &mut conic.ry);
            degrees = 0.0;
        }
        conic.angle = degrees.to_radians();
        conic.center = (exact.round(conic.center.0), exact.round(conic.center.1));
        conic.rx = exact.round(conic.rx);
        conic.ry = exact.round(conic.ry);
        conic
    }

    /// A rectangle in grid coordinates as an element's geometry, in output coordinates:
    /// corners, sides and radius rounded to the writer's precision (x, y, width and height
    /// are what is written), the angle to a thousandth of a degree. `None` where the
    /// writer's two scales differ (see [`Rect::scaled`]).
    pub fn rect(&self, grid: &Rect) -> Option<Rect> {
        let exact = self.exact();
        let mut rect = grid.scaled(self.scale_x, self.scale_y)?;
        let left = exact.round(rect.center.0 - 0.5 * rect.width);
        let top = exact.round(rect.center.1 - 0.5 * rect.height);
        rect.width = exact.round(rect.width);
        rect.height = exact.round(rect.height);
        rect.center = (left + 0.5 * rect.width, top + 0.5 * rect.height);
        rect.radius = exact.round(rect.radius);
        rect.angle = ((rect.angle.to_degrees() * 1000.0).round() / 1000.0).to_radians();
        Some(rect)
    }

    /// A closed circle or ellipse (grid coordinates) as a subpath of two exact elliptic arcs,
    /// clockwise on screen when `clockwise`; returns the arc commands written (2).
    pub fn conic(&self, grid: &Conic, clockwise: bool, data: &mut PathData) -> usize {
        let this = self.exact();
        let conic = this.shape(grid);
        let (c, s) = (conic.angle.cos(), conic.angle.sin());
        let first = (
            this.round(conic.center.0 + conic.rx * c),
            this.round(conic.center.1 + conic.rx * s),
        );
        let second = (
            this.round(conic.center.0 - conic.rx * c),
            this.round(conic.center.1 - conic.rx * s),
        );
        this.move_to(first, data);
        for end in [second, first] {
            this.command('a', data);
            let (dx, dy) = (end.0 - data.current.0, end.1 - data.current.1);
            this.numbers(
                &[
                    conic.rx,
                    conic.ry,
                    this.round(conic.angle.to_degrees()),
                    1.0,
                    if clockwise { 1.0 } else { 0.0 },
                    dx,
                    dy,
                ],
                data,
            );
            data.current = end;
            data.arcs += 1;
        }
        this.close(data);
        2
    }

    /// A closed run of cubics in grid coordinates, each starting where the previous ended.
    pub fn cubics(&self, cubics: &[fit::Cubic], data: &mut PathData) {
        let Some(first) = cubics.first() else {
            return;
        };
        self.move_to(self.point(first[0]), data);
        for cubic in cubics {
            self.cubic_to(
                self.point(cubic[1]),
                self.point(cubic[2]),
                self.point(cubic[3]),
                data,
            );
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
#[derive(Debug, Default, Clone)]
pub struct PathData {
    text: String,
    current: (f64, f64),
    start: (f64, f64),
    last_command: Option<char>,
    /// The last thing written is a command letter (no separator needed).
    after_letter: bool,
    /// Elliptic-arc commands written.
    arcs: usize,
}

impl PathData {
    /// Empty path data at the origin.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Elliptic-arc commands written so far.
    pub fn arcs(&self) -> usize {
        self.arcs
    }

    /// Nothing written yet.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The `d` attribute's text.
    pub fn into_string(self) -> String {
        self.text
    }
}

#[cfg(test)]
#[path = "svg_tests.rs"]
mod tests;
