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
    format!("#{:02x}{:02x}{:02x}", color[0], color[1], color[2])
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
