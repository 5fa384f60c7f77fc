//! Encapsulated PostScript (EPSF-3.0, language level 2), written directly: no maintained crate
//! writes EPS, and the pipeline's pictures need only filled (and perhaps stroked) paths in
//! solid colours.
//!
//! The page is the SVG's size at 96 px per inch (1 px = 0.75 pt, like the PDF), with
//! `%%BoundingBox` rounded up to whole points and the exact size in `%%HiResBoundingBox`; the
//! picture hangs from the top-left corner, so the rounding adds at most a point of empty
//! margin at the right and bottom. Coordinates stay in SVG pixels, mapped by one `concat`
//! that also flips the y axis, and the picture is clipped to its viewport as the SVG is.
//! Colours are the palette's exact 8-bit values (`r/255 g/255 b/255 setrgbcolor`, four
//! decimals, which read back to the same byte); a translucent paint is composited over what
//! lies below it, white where nothing does (see the module documentation of [`super`]).

use std::cell::OnceCell;
use std::fmt::Write;

use crate::pipeline::svg::decimal;

use super::geometry::{hex, Area, Drawing, Paint, Segment, Shape, StrokeStyle};
use super::{EncodeLimits, Format, OutputError};

/// Points per SVG pixel (96 px per inch).
const PT_PER_PX: f64 = 0.75;

/// The EPS text of `drawing`.
pub(crate) fn write(drawing: &Drawing, limits: &EncodeLimits<'_>) -> Result<Vec<u8>, OutputError> {
    let width_pt = drawing.width * PT_PER_PX;
    let height_pt = drawing.height * PT_PER_PX;
    let box_width = width_pt.ceil();
    let box_height = height_pt.ceil();
    let mut out = String::with_capacity(4096 + drawing.shapes.len() * 256);
    // `write!` into a String cannot fail; the results are ignored through this helper, which
    // also keeps the count the loop below checks against the limit.
    let written = std::cell::Cell::new(0usize);
    let mut put = |text: std::fmt::Arguments<'_>| {
        let _ = out.write_fmt(text);
        written.set(out.len());
    };
    put(format_args!("%!PS-Adobe-3.0 EPSF-3.0\n"));
    put(format_args!("%%Creator: gemini3\n"));
    put(format_args!(
        "%%BoundingBox: 0 0 {box_width} {box_height}\n"
    ));
    put(format_args!(
        "%%HiResBoundingBox: 0 {} {} {}\n",
        num(box_height - height_pt),
        num(width_pt),
        num(box_height)
    ));
    put(format_args!("%%LanguageLevel: 2\n"));
    put(format_args!("%%DocumentData: Clean7Bit\n"));
    put(format_args!("%%EndComments\n"));
    put(format_args!("%%BeginProlog\n"));
    put(format_args!(
        "/gemini3dict 16 dict def\ngemini3dict begin\n"
    ));
    put(format_args!(
        "/m {{moveto}} bind def /l {{lineto}} bind def /c {{curveto}} bind def\n"
    ));
    put(format_args!(
        "/h {{closepath}} bind def /f {{fill}} bind def /f* {{eofill}} bind def\n"
    ));
    put(format_args!(
        "/s {{stroke}} bind def /rg {{setrgbcolor}} bind def\nend\n"
    ));
    put(format_args!("%%EndProlog\n"));
    put(format_args!("gemini3dict begin\ngsave\n"));
    put(format_args!(
        "[{} 0 0 {} 0 {}] concat\n",
        num(PT_PER_PX),
        num(-PT_PER_PX),
        num(box_height)
    ));
    put(format_args!(
        "0 0 {} {} rectclip\n",
        num(drawing.width),
        num(drawing.height)
    ));
    let mut painted: Vec<Painted<'_>> = Vec::with_capacity(drawing.shapes.len());
    for shape in &drawing.shapes {
        limits.check_cancel(Format::Eps)?;
        limits.check_size(Format::Eps, written.get())?;
        let bounds = Bounds::of(shape);
        let color = shape.color.map(f64::from);
        if shape.opacity >= 1.0 {
            put(format_args!("% {}\n", hex(shape.color)));
            set_color(&mut put, color);
            path(&mut put, shape);
            paint(&mut put, shape);
            painted.push(Painted::new(shape, color, bounds));
            continue;
        }
        // Translucent. Its points, to see which shapes below it covers.
        let samples = Area::of(shape).map(|area| area.samples(SAMPLES));
        let share = |below: &Painted<'_>| match (&samples, below.area()) {
            (Some(samples), Some(area)) if !samples.is_empty() => Some(area.share_of(samples)),
            _ => None,
        };
        let overlapping = |below: &&Painted<'_>| below.bounds.overlaps(&bounds);
        // The last fill below that holds it whole (the pipeline's nested opacity levels):
        // its colour over that one's; else over white.
        // (The pipeline's levels may reach past each other under the opaque shapes painted
        // later, so the share is what counts, not the bounds.)
        let holder = painted
            .iter()
            .rposition(|below| overlapping(&below) && share(below).is_some_and(|s| s >= HOLDS));
        let backdrop = holder.map_or(WHITE, |k| painted[k].shown);
        let shown = over(color, shape.opacity, backdrop);
        put(format_args!(
            "% {} at opacity {}, over {}\n",
            hex(shape.color),
            num(shape.opacity),
            holder.map_or("white".to_owned(), |k| hex(painted[k].shape.color))
        ));
        set_color(&mut put, shown);
        path(&mut put, shape);
        paint(&mut put, shape);
        // Then, clipped to it, each later shape below it that it covers more than touches,
        // in painting order, in this colour over that shape's.
        let start = holder.map_or(0, |k| k + 1);
        for below in painted[start..].iter().filter(overlapping) {
            if share(below).is_some_and(|s| s <= TOUCHES) {
                continue;
            }
            put(format_args!(
                "% over the {} below it\ngsave\n",
                hex(below.shape.color)
            ));
            clip(&mut put, shape);
            set_color(&mut put, over(color, shape.opacity, below.shown));
            path(&mut put, below.shape);
            paint(&mut put, below.shape);
            put(format_args!("grestore\n"));
        }
        painted.push(Painted::new(shape, shown, bounds));
    }
    put(format_args!("grestore\nend\nshowpage\n%%Trailer\n%%EOF\n"));
    Ok(out.into_bytes())
}

const WHITE: [f64; 3] = [255.0; 3];

/// Points of a translucent shape sampled to see which shapes below it covers.
const SAMPLES: usize = 1024;
/// A shape below holds a translucent one whole when this share of its points lies inside.
const HOLDS: f64 = 0.95;
/// A shape below only touches a translucent one (shared edges) when at most this share of
/// its points lies inside; it is not painted again under it.
const TOUCHES: f64 = 0.02;

/// A shape painted so far: the colour it shows where nothing lies over it, its bounds, and
/// its area when a translucent shape above asks.
struct Painted<'a> {
    shape: &'a Shape,
    shown: [f64; 3],
    bounds: Bounds,
    area: OnceCell<Option<Area>>,
}

impl<'a> Painted<'a> {
    fn new(shape: &'a Shape, shown: [f64; 3], bounds: Bounds) -> Self {
        Painted {
            shape,
            shown,
            bounds,
            area: OnceCell::new(),
        }
    }

    fn area(&self) -> Option<&Area> {
        self.area.get_or_init(|| Area::of(self.shape)).as_ref()
    }
}

/// A shape's bounds in SVG pixels: its points and control points, a stroke's reach added.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    min: [f64; 2],
    max: [f64; 2],
}

impl Bounds {
    fn of(shape: &Shape) -> Bounds {
        let mut bounds = Bounds {
            min: [f64::INFINITY; 2],
            max: [f64::NEG_INFINITY; 2],
        };
        for segment in &shape.segments {
            let points = match *segment {
                Segment::Move(p) | Segment::Line(p) => [p, p, p],
                Segment::Cubic(a, b, p) => [a, b, p],
                Segment::Close => continue,
            };
            for p in points {
                bounds.min = [bounds.min[0].min(p.x), bounds.min[1].min(p.y)];
                bounds.max = [bounds.max[0].max(p.x), bounds.max[1].max(p.y)];
            }
        }
        if let Paint::Stroke(style) = shape.paint {
            // A miter reaches at most miter_limit × width / 2 from the line.
            let reach = style.width / 2.0 * style.miter_limit.max(1.0);
            bounds.min = bounds.min.map(|v| v - reach);
            bounds.max = bounds.max.map(|v| v + reach);
        }
        bounds
    }

    fn overlaps(&self, other: &Bounds) -> bool {
        (0..2).all(|i| self.min[i] <= other.max[i] && other.min[i] <= self.max[i])
    }
}

/// Makes the shape's painted area the clip: its outline, or its stroke's outline.
fn clip(put: &mut impl FnMut(std::fmt::Arguments<'_>), shape: &Shape) {
    if let Paint::Stroke(style) = shape.paint {
        stroke_style(put, style);
    }
    path(put, shape);
    put(format_args!(
        "{}\n",
        match shape.paint {
            Paint::Fill { even_odd: false } => "clip newpath",
            Paint::Fill { even_odd: true } => "eoclip newpath",
            Paint::Stroke(_) => "strokepath clip newpath",
        }
    ));
}

fn stroke_style(put: &mut impl FnMut(std::fmt::Arguments<'_>), style: StrokeStyle) {
    put(format_args!(
        "{} setlinewidth {} setlinejoin {} setlinecap {} setmiterlimit\n",
        num(style.width),
        style.join,
        style.cap,
        num(style.miter_limit.max(1.0))
    ));
}

fn set_color(put: &mut impl FnMut(std::fmt::Arguments<'_>), [r, g, b]: [f64; 3]) {
    put(format_args!(
        "{} {} {} rg\n",
        channel(r),
        channel(g),
        channel(b)
    ));
}

/// The shape's outline as the current path.
fn path(put: &mut impl FnMut(std::fmt::Arguments<'_>), shape: &Shape) {
    for segment in &shape.segments {
        match segment {
            Segment::Move(p) => put(format_args!("{} {} m\n", num(p.x), num(p.y))),
            Segment::Line(p) => put(format_args!("{} {} l\n", num(p.x), num(p.y))),
            Segment::Cubic(a, b, p) => put(format_args!(
                "{} {} {} {} {} {} c\n",
                num(a.x),
                num(a.y),
                num(b.x),
                num(b.y),
                num(p.x),
                num(p.y)
            )),
            Segment::Close => put(format_args!("h\n")),
        }
    }
}

/// Fills or strokes the current path as the shape asks.
fn paint(put: &mut impl FnMut(std::fmt::Arguments<'_>), shape: &Shape) {
    match shape.paint {
        Paint::Fill { even_odd: false } => put(format_args!("f\n")),
        Paint::Fill { even_odd: true } => put(format_args!("f*\n")),
        Paint::Stroke(style) => {
            stroke_style(put, style);
            put(format_args!("s\n"));
        }
    }
}

/// `color` at `opacity` over `backdrop`, per channel on the 0–255 scale; exactly `color`
/// when opaque.
pub(crate) fn over(color: [f64; 3], opacity: f64, backdrop: [f64; 3]) -> [f64; 3] {
    if opacity >= 1.0 {
        return color;
    }
    let a = opacity.clamp(0.0, 1.0);
    [0, 1, 2].map(|i| color[i] * a + backdrop[i] * (1.0 - a))
}

/// A channel (0–255) as a fraction of 255 with four decimals (a whole byte reads back to
/// the same byte).
fn channel(value: f64) -> String {
    num4(value.clamp(0.0, 255.0) / 255.0)
}

fn num4(value: f64) -> String {
    decimal(value, 4)
}

/// A coordinate with three decimals, trailing zeros dropped.
fn num(value: f64) -> String {
    decimal(value, 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_never_negative_zero() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(-0.0001), "0");
        assert_eq!(num(12.3456), "12.346");
        assert_eq!(num(0.5), "0.5");
    }

    #[test]
    fn every_byte_survives_the_four_decimal_channel() {
        for byte in 0..=255u8 {
            let back: f64 = channel(f64::from(byte)).parse().unwrap();
            assert_eq!((back * 255.0).round() as u8, byte);
        }
    }

    #[test]
    fn translucent_colours_are_composited_and_opaque_ones_kept() {
        assert_eq!(over([30.0, 90.0, 200.0], 1.0, WHITE), [30.0, 90.0, 200.0]);
        assert_eq!(over([0.0; 3], 0.5, WHITE), [127.5; 3]);
        assert_eq!(over([0.0, 100.0, 255.0], 0.0, WHITE), WHITE);
        assert_eq!(over([0.0; 3], 0.25, [100.0; 3]), [75.0; 3]);
    }
}
