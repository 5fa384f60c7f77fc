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
//! decimals, which read back to the same byte); a translucent paint is composited over white,
//! and a run of one colour's nested translucent layers as the stack they make (see the module
//! documentation of [`super`]).

use std::fmt::Write;

use super::geometry::{hex, Drawing, Paint, Segment, Shape};
use super::OutputError;

/// Points per SVG pixel (96 px per inch).
const PT_PER_PX: f64 = 0.75;

/// The EPS text of `drawing`.
pub(crate) fn write(drawing: &Drawing) -> Result<Vec<u8>, OutputError> {
    let width_pt = drawing.width * PT_PER_PX;
    let height_pt = drawing.height * PT_PER_PX;
    let box_width = width_pt.ceil();
    let box_height = height_pt.ceil();
    let mut out = String::with_capacity(4096 + drawing.shapes.len() * 256);
    // `write!` into a String cannot fail; the results are ignored through this helper.
    let mut put = |text: std::fmt::Arguments<'_>| {
        let _ = out.write_fmt(text);
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
    // The run of translucent fills of one colour just painted: its last shape and the
    // opacity the run adds up to.
    let mut run: Option<(&Shape, f64)> = None;
    for shape in &drawing.shapes {
        let translucent_fill = shape.opacity < 1.0 && matches!(shape.paint, Paint::Fill { .. });
        if !translucent_fill {
            run = None;
            put(format_args!("% {}\n", hex(shape.color)));
            set_color(&mut put, shape.color);
            path(&mut put, shape);
            paint(&mut put, shape);
            continue;
        }
        put(format_args!(
            "% {} at opacity {}, over white\n",
            hex(shape.color),
            num(shape.opacity)
        ));
        set_color(&mut put, over_white(shape.color, shape.opacity));
        path(&mut put, shape);
        paint(&mut put, shape);
        let below = run.filter(|(last, _)| last.color == shape.color);
        let total = match below {
            // A nested layer of the run (the pipeline's opacity levels): where it lies over
            // the run's last shape, the colour of the whole stack over white.
            Some((last, opacity)) => {
                let total = 1.0 - (1.0 - opacity) * (1.0 - shape.opacity);
                put(format_args!(
                    "% over the {} below it: opacity {}\ngsave\n",
                    hex(last.color),
                    num(total)
                ));
                path(&mut put, last);
                put(format_args!(
                    "{}\nnewpath\n",
                    if even_odd(last) { "eoclip" } else { "clip" }
                ));
                set_color(&mut put, over_white(shape.color, total));
                path(&mut put, shape);
                paint(&mut put, shape);
                put(format_args!("grestore\n"));
                total
            }
            None => shape.opacity,
        };
        run = Some((shape, total));
    }
    put(format_args!("grestore\nend\nshowpage\n%%Trailer\n%%EOF\n"));
    Ok(out.into_bytes())
}

fn even_odd(shape: &Shape) -> bool {
    matches!(shape.paint, Paint::Fill { even_odd: true })
}

fn set_color(put: &mut impl FnMut(std::fmt::Arguments<'_>), [r, g, b]: [u8; 3]) {
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
        Paint::Stroke(style) => put(format_args!(
            "{} setlinewidth {} setlinejoin {} setlinecap {} setmiterlimit s\n",
            num(style.width),
            style.join,
            style.cap,
            num(style.miter_limit.max(1.0))
        )),
    }
}

/// `color` at `opacity` over white, per 8-bit channel; exact when opaque.
pub(crate) fn over_white(color: [u8; 3], opacity: f64) -> [u8; 3] {
    if opacity >= 1.0 {
        return color;
    }
    let a = opacity.clamp(0.0, 1.0);
    color.map(|c| (f64::from(c) * a + 255.0 * (1.0 - a)).round() as u8)
}

/// A channel as a fraction of 255 with four decimals (reads back to the same byte).
fn channel(value: u8) -> String {
    num4(f64::from(value) / 255.0)
}

fn num4(value: f64) -> String {
    trim(format!("{value:.4}"))
}

/// A coordinate with three decimals, trailing zeros dropped.
fn num(value: f64) -> String {
    trim(format!("{value:.3}"))
}

fn trim(mut text: String) -> String {
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
            let back: f64 = channel(byte).parse().unwrap();
            assert_eq!((back * 255.0).round() as u8, byte);
        }
    }

    #[test]
    fn translucent_colours_are_composited_over_white_and_opaque_ones_kept() {
        assert_eq!(over_white([30, 90, 200], 1.0), [30, 90, 200]);
        assert_eq!(over_white([0, 0, 0], 0.5), [128, 128, 128]);
        assert_eq!(over_white([0, 100, 255], 0.0), [255, 255, 255]);
    }
}
