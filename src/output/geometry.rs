//! The usvg tree as a flat, painting-ordered list of filled and stroked outlines in the SVG's
//! root pixel space: what the EPS and DXF writers draw from. Only what the pipeline makes is
//! carried (solid colours, fills, strokes, group opacity); anything else is an
//! [`OutputError::Unsupported`] naming it, never silently dropped.

use resvg::usvg::{self, Node};

use super::{Format, OutputError};

/// A point in SVG pixels, y down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Point {
    pub x: f64,
    pub y: f64,
}

/// One piece of an outline; quadratic curves are raised to cubics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Segment {
    Move(Point),
    Line(Point),
    Cubic(Point, Point, Point),
    Close,
}

/// How an outline is painted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Paint {
    Fill { even_odd: bool },
    Stroke(StrokeStyle),
}

/// A stroke's pen, its width in SVG pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct StrokeStyle {
    pub width: f64,
    /// PostScript's numbering: 0 miter, 1 round, 2 bevel.
    pub join: u8,
    /// PostScript's numbering: 0 butt, 1 round, 2 square.
    pub cap: u8,
    pub miter_limit: f64,
}

/// One painted outline.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Shape {
    pub color: [u8; 3],
    /// The paint's opacity times every enclosing group's, 0 to 1.
    pub opacity: f64,
    pub paint: Paint,
    pub segments: Vec<Segment>,
}

/// The whole picture.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Drawing {
    /// The SVG's size in pixels.
    pub width: f64,
    pub height: f64,
    /// Bottom to top.
    pub shapes: Vec<Shape>,
}

impl Drawing {
    /// Flattens `tree` for `format`, refusing what the format's writer cannot draw.
    pub fn from_tree(tree: &usvg::Tree, format: Format) -> Result<Drawing, OutputError> {
        let mut drawing = Drawing {
            width: f64::from(tree.size().width()),
            height: f64::from(tree.size().height()),
            shapes: Vec::new(),
        };
        collect(tree.root(), 1.0, format, &mut drawing.shapes)?;
        Ok(drawing)
    }
}

/// `#rrggbb`, lower case.
pub(crate) fn hex(color: [u8; 3]) -> String {
    crate::pipeline::svg::hex(color)
}

fn unsupported(format: Format, what: impl Into<String>) -> OutputError {
    OutputError::Unsupported {
        format,
        what: what.into(),
    }
}

fn named(what: &str, id: &str) -> String {
    if id.is_empty() {
        what.to_owned()
    } else {
        format!("{what} (id \"{id}\")")
    }
}

fn collect(
    group: &usvg::Group,
    opacity: f64,
    format: Format,
    out: &mut Vec<Shape>,
) -> Result<(), OutputError> {
    for node in group.children() {
        match node {
            Node::Group(child) => {
                if child.clip_path().is_some() {
                    return Err(unsupported(format, named("a clip path", child.id())));
                }
                if child.mask().is_some() {
                    return Err(unsupported(format, named("a mask", child.id())));
                }
                if !child.filters().is_empty() {
                    return Err(unsupported(format, named("a filter", child.id())));
                }
                if child.blend_mode() != usvg::BlendMode::Normal {
                    return Err(unsupported(format, named("a blend mode", child.id())));
                }
                let opacity = opacity * f64::from(child.opacity().get());
                collect(child, opacity, format, out)?;
            }
            Node::Path(path) => add_path(path, opacity, format, out)?,
            Node::Image(image) => {
                return Err(unsupported(format, named("an embedded image", image.id())))
            }
            // Text is already outlined by usvg (with whatever fonts it had).
            Node::Text(text) => collect(text.flattened(), opacity, format, out)?,
        }
    }
    Ok(())
}

fn add_path(
    path: &usvg::Path,
    opacity: f64,
    format: Format,
    out: &mut Vec<Shape>,
) -> Result<(), OutputError> {
    if !path.is_visible() {
        return Ok(());
    }
    let transform = path.abs_transform();
    let segments = segments(path.data(), transform);
    if segments.is_empty() {
        return Ok(());
    }
    let color = |paint: &usvg::Paint, what: &str| match paint {
        usvg::Paint::Color(c) => Ok([c.red, c.green, c.blue]),
        _ => Err(unsupported(
            format,
            named(&format!("a gradient or pattern {what}"), path.id()),
        )),
    };
    let fill = match path.fill() {
        Some(fill) => Some(Shape {
            color: color(fill.paint(), "fill")?,
            opacity: opacity * f64::from(fill.opacity().get()),
            paint: Paint::Fill {
                even_odd: fill.rule() == usvg::FillRule::EvenOdd,
            },
            segments: segments.clone(),
        }),
        None => None,
    };
    let stroke = match path.stroke() {
        Some(stroke) => {
            if stroke.dasharray().is_some() {
                return Err(unsupported(format, named("a dashed stroke", path.id())));
            }
            // A uniform scale's factor; the pipeline only scales uniformly.
            let scale = f64::from(
                (transform.sx * transform.sy - transform.kx * transform.ky)
                    .abs()
                    .sqrt(),
            );
            Some(Shape {
                color: color(stroke.paint(), "stroke")?,
                opacity: opacity * f64::from(stroke.opacity().get()),
                paint: Paint::Stroke(StrokeStyle {
                    width: f64::from(stroke.width().get()) * scale,
                    join: match stroke.linejoin() {
                        usvg::LineJoin::Round => 1,
                        usvg::LineJoin::Bevel => 2,
                        usvg::LineJoin::Miter | usvg::LineJoin::MiterClip => 0,
                    },
                    cap: match stroke.linecap() {
                        usvg::LineCap::Butt => 0,
                        usvg::LineCap::Round => 1,
                        usvg::LineCap::Square => 2,
                    },
                    miter_limit: f64::from(stroke.miterlimit().get()),
                }),
                segments,
            })
        }
        None => None,
    };
    let (first, second) = match path.paint_order() {
        usvg::PaintOrder::FillAndStroke => (fill, stroke),
        usvg::PaintOrder::StrokeAndFill => (stroke, fill),
    };
    out.extend(first.into_iter().chain(second));
    Ok(())
}

/// The path's segments mapped through `transform` into root pixels.
fn segments(data: &usvg::tiny_skia_path::Path, transform: usvg::Transform) -> Vec<Segment> {
    use usvg::tiny_skia_path::PathSegment;
    let map = |p: usvg::tiny_skia_path::Point| {
        let (x, y) = (f64::from(p.x), f64::from(p.y));
        Point {
            x: f64::from(transform.sx) * x + f64::from(transform.kx) * y + f64::from(transform.tx),
            y: f64::from(transform.ky) * x + f64::from(transform.sy) * y + f64::from(transform.ty),
        }
    };
    let mut out = Vec::with_capacity(data.len());
    let mut current = Point { x: 0.0, y: 0.0 };
    let mut start = current;
    for segment in data.segments() {
        let next = match segment {
            PathSegment::MoveTo(p) => Segment::Move(map(p)),
            PathSegment::LineTo(p) => Segment::Line(map(p)),
            PathSegment::QuadTo(c, p) => {
                let (c, p) = (map(c), map(p));
                let lerp = |a: Point, b: Point| Point {
                    x: a.x + (b.x - a.x) * 2.0 / 3.0,
                    y: a.y + (b.y - a.y) * 2.0 / 3.0,
                };
                Segment::Cubic(lerp(current, c), lerp(p, c), p)
            }
            PathSegment::CubicTo(a, b, p) => Segment::Cubic(map(a), map(b), map(p)),
            PathSegment::Close => Segment::Close,
        };
        match next {
            Segment::Move(p) => (start, current) = (p, p),
            Segment::Line(p) | Segment::Cubic(_, _, p) => current = p,
            Segment::Close => current = start,
        }
        out.push(next);
    }
    out
}

/// A filled shape's area, flattened, to ask which points it covers.
#[derive(Debug, Clone)]
pub(crate) struct Area {
    rings: Vec<Vec<Point>>,
    even_odd: bool,
    min: Point,
    max: Point,
}

impl Area {
    /// The area of a fill (within 0.05 px); `None` for a stroke or an empty outline.
    pub fn of(shape: &Shape) -> Option<Area> {
        let Paint::Fill { even_odd } = shape.paint else {
            return None;
        };
        let rings = rings(&shape.segments, |p| p, 0.05);
        let points = rings.iter().flatten();
        let min = points.clone().fold(
            Point {
                x: f64::INFINITY,
                y: f64::INFINITY,
            },
            |m, p| Point {
                x: m.x.min(p.x),
                y: m.y.min(p.y),
            },
        );
        let max = points.fold(
            Point {
                x: f64::NEG_INFINITY,
                y: f64::NEG_INFINITY,
            },
            |m, p| Point {
                x: m.x.max(p.x),
                y: m.y.max(p.y),
            },
        );
        (!rings.is_empty()).then_some(Area {
            rings,
            even_odd,
            min,
            max,
        })
    }

    /// Whether `p` is inside, by the shape's fill rule.
    pub fn contains(&self, p: Point) -> bool {
        if p.x < self.min.x || p.x > self.max.x || p.y < self.min.y || p.y > self.max.y {
            return false;
        }
        let mut winding = 0i32;
        for ring in &self.rings {
            for (i, &a) in ring.iter().enumerate() {
                let b = ring[(i + 1) % ring.len()];
                let side = (b.x - a.x) * (p.y - a.y) - (p.x - a.x) * (b.y - a.y);
                if a.y <= p.y && b.y > p.y && side > 0.0 {
                    winding += 1;
                } else if b.y <= p.y && a.y > p.y && side < 0.0 {
                    winding -= 1;
                }
            }
        }
        if self.even_odd {
            winding % 2 != 0
        } else {
            winding != 0
        }
    }

    /// Points inside, on a regular grid over the bounds (about `count` grid points, at most
    /// about 3 × `count`, at least 0.25 px apart, offset so that they do not fall on the half-pixel lines outlines
    /// run along).
    pub fn samples(&self, count: usize) -> Vec<Point> {
        let (width, height) = (self.max.x - self.min.x, self.max.y - self.min.y);
        // At least max(width, height) / count apart too, so that a long thin shape does not
        // make a grid of millions: the grid has at most about 3 × count points.
        let count = count.max(1) as f64;
        let step = (width * height / count)
            .sqrt()
            .max(width.max(height) / count)
            .max(0.25);
        if !step.is_finite() {
            return Vec::new();
        }
        let columns = (width / step).ceil() as usize + 1;
        let rows = (height / step).ceil() as usize + 1;
        let mut points = Vec::new();
        for row in 0..rows {
            for column in 0..columns {
                let p = Point {
                    x: self.min.x + (column as f64 + 0.3137) * step,
                    y: self.min.y + (row as f64 + 0.6181) * step,
                };
                if self.contains(p) {
                    points.push(p);
                }
            }
        }
        points
    }

    /// The share of `points` inside (0 when there are none).
    pub fn share_of(&self, points: &[Point]) -> f64 {
        let inside = points.iter().filter(|p| self.contains(**p)).count();
        inside as f64 / points.len().max(1) as f64
    }
}

/// The most segments one curve is flattened into, however tight the tolerance.
const MAX_CURVE_SEGMENTS: usize = 4096;

/// The closed rings of an outline mapped by `map` (to millimetres for DXF), curves flattened
/// within `tolerance` (in the mapped units);
/// repeated points and the closing point dropped, rings of under three points left out.
pub(crate) fn rings(
    segments: &[Segment],
    map: impl Fn(Point) -> Point,
    tolerance: f64,
) -> Vec<Vec<Point>> {
    let mut rings = Vec::new();
    let mut ring: Vec<Point> = Vec::new();
    let finish = |ring: &mut Vec<Point>, rings: &mut Vec<Vec<Point>>| {
        let mut points = std::mem::take(ring);
        while points.len() > 1 && near(points[0], points[points.len() - 1]) {
            points.pop();
        }
        if points.len() >= 3 {
            rings.push(points);
        }
    };
    let push = |ring: &mut Vec<Point>, p: Point| {
        if ring.last().is_none_or(|&last| !near(last, p)) {
            ring.push(p);
        }
    };
    for segment in segments {
        match *segment {
            Segment::Move(p) => {
                finish(&mut ring, &mut rings);
                ring.push(map(p));
            }
            Segment::Line(p) => push(&mut ring, map(p)),
            Segment::Cubic(a, b, p) => {
                let Some(&start) = ring.last() else {
                    continue;
                };
                let (a, b, p) = (map(a), map(b), map(p));
                for q in flatten_cubic(start, a, b, p, tolerance) {
                    push(&mut ring, q);
                }
            }
            Segment::Close => finish(&mut ring, &mut rings),
        }
    }
    finish(&mut ring, &mut rings);
    rings
}

fn near(a: Point, b: Point) -> bool {
    (a.x - b.x).abs() < 1e-9 && (a.y - b.y).abs() < 1e-9
}

/// The points after `p0` of a polyline within `tolerance` of the cubic: `n` equal parameter
/// steps, where the distance of a cubic from its chords is at most ¾·M/n², M the larger
/// second difference of the control points.
pub(crate) fn flatten_cubic(
    p0: Point,
    p1: Point,
    p2: Point,
    p3: Point,
    tolerance: f64,
) -> Vec<Point> {
    let second = |a: Point, b: Point, c: Point| {
        let (x, y) = (a.x - 2.0 * b.x + c.x, a.y - 2.0 * b.y + c.y);
        (x * x + y * y).sqrt()
    };
    let m = second(p0, p1, p2).max(second(p1, p2, p3));
    let n = (0.75 * m / tolerance).sqrt().ceil();
    let n = if n.is_finite() {
        (n as usize).clamp(1, MAX_CURVE_SEGMENTS)
    } else {
        MAX_CURVE_SEGMENTS
    };
    (1..=n)
        .map(|i| {
            let t = i as f64 / n as f64;
            let u = 1.0 - t;
            let (a, b, c, d) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
            Point {
                x: a * p0.x + b * p1.x + c * p2.x + d * p3.x,
                y: a * p0.y + b * p1.y + c * p2.y + d * p3.y,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flattened_quarter_circle_stays_within_the_tolerance() {
        // The usual cubic for a quarter of the unit circle (radius 10 mm).
        let k = 0.552_284_749_8 * 10.0;
        let p = |x: f64, y: f64| Point { x, y };
        let points = flatten_cubic(p(10.0, 0.0), p(10.0, k), p(k, 10.0), p(0.0, 10.0), 0.01);
        assert!(points.len() > 4, "{}", points.len());
        // Every chord's midpoint is within tolerance of the circle (the cubic is within
        // 0.03 % of the radius, 0.003 mm, of it).
        let mut previous = p(10.0, 0.0);
        for q in points {
            let mid = p((previous.x + q.x) / 2.0, (previous.y + q.y) / 2.0);
            let off = 10.0 - (mid.x * mid.x + mid.y * mid.y).sqrt();
            assert!(off.abs() < 0.01 + 0.003, "{off}");
            previous = q;
        }
        assert_eq!(previous, p(0.0, 10.0));
    }

    #[test]
    fn rings_drop_the_closing_point_and_degenerate_rings() {
        let p = |x: f64, y: f64| Point { x, y };
        let segments = [
            Segment::Move(p(0.0, 0.0)),
            Segment::Line(p(1.0, 0.0)),
            Segment::Line(p(1.0, 1.0)),
            Segment::Line(p(0.0, 0.0)),
            Segment::Close,
            Segment::Move(p(5.0, 5.0)),
            Segment::Line(p(6.0, 5.0)),
            Segment::Close,
        ];
        let rings = rings(&segments, |q| q, 0.01);
        assert_eq!(rings, vec![vec![p(0.0, 0.0), p(1.0, 0.0), p(1.0, 1.0)]]);
    }

    #[test]
    fn an_area_knows_its_points_by_its_fill_rule() {
        let p = |x: f64, y: f64| Point { x, y };
        // A square with a square hole, the hole in the same direction: a hole for even-odd
        // only.
        let square = |x: f64, size: f64| {
            [
                Segment::Move(p(x, x)),
                Segment::Line(p(x + size, x)),
                Segment::Line(p(x + size, x + size)),
                Segment::Line(p(x, x + size)),
                Segment::Close,
            ]
        };
        let segments: Vec<Segment> = square(0.0, 10.0)
            .into_iter()
            .chain(square(3.0, 4.0))
            .collect();
        let shape = |even_odd| Shape {
            color: [0, 0, 0],
            opacity: 1.0,
            paint: Paint::Fill { even_odd },
            segments: segments.clone(),
        };
        let even_odd = Area::of(&shape(true)).unwrap();
        let nonzero = Area::of(&shape(false)).unwrap();
        assert!(even_odd.contains(p(1.0, 1.0)) && nonzero.contains(p(1.0, 1.0)));
        assert!(!even_odd.contains(p(5.0, 5.0)) && nonzero.contains(p(5.0, 5.0)));
        assert!(!nonzero.contains(p(11.0, 5.0)) && !nonzero.contains(p(-1.0, 5.0)));
        // 100 − 16 of 100 square pixels: the samples' share of the whole square is about 84 %.
        let samples = even_odd.samples(4096);
        let whole = Area::of(&Shape {
            segments: square(0.0, 10.0).to_vec(),
            ..shape(false)
        })
        .unwrap();
        assert!((whole.share_of(&samples) - 1.0).abs() < 1e-9);
        let all = whole.samples(4096);
        let share = even_odd.share_of(&all);
        assert!((share - 0.84).abs() < 0.02, "{share}");
    }
}
