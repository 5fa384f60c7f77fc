//! Output formats above the pipeline: the pipeline's SVG re-encoded as PDF, EPS, DXF or PNG.
//!
//! The input is always the SVG string the pipeline produced (palette-exact `fill="#rrggbb"`
//! paths, perhaps with `fill-opacity`, perhaps grouped per ink); it is parsed once with usvg
//! and every format is written from that tree, so all of them carry the same geometry and the
//! same colours:
//!
//! - **SVG**: the input, unchanged.
//! - **PDF** ([`svg2pdf`]): one page the size of the SVG at 96 px per inch (1 px = 0.75 pt,
//!   the CSS pixel), vector paths, exact colours, opacity kept.
//! - **EPS** (written here, [`eps`]): PostScript level 2, one `fill`/`eofill` per path in its
//!   exact colour, the same 96 px per inch, the y axis flipped by the CTM. PostScript has no
//!   transparency, so a translucent shape (`fill-opacity`, `stroke-opacity` or a group's
//!   `opacity`, as the pipeline's soft shadows have) is painted opaque in its colour
//!   **composited over what lies below it**: over white (the page) where nothing does, over
//!   the last fill below that holds it whole (the pipeline's nested opacity levels, each
//!   painted over the one below), and, clipped to its own outline, over each other shape
//!   below that it covers more than touches (a gap filler's strokes), in painting order.
//!   What lies below is found by sampling the shape's area. This is exact where what lies
//!   below is opaque or white, and for the pipeline's stacks of levels; a translucent shape
//!   over a translucent one that is itself over several colours is composited with that
//!   shape's main colour. Opaque shapes keep their exact palette colour.
//! - **DXF** (the [`dxf`] crate, [`cad`]): every filled path's subpaths as exact entities
//!   (`CIRCLE`, `ELLIPSE`, or `LINE`s and `ARC`s end to end when a subpath is only lines
//!   and circular arcs) or closed `LWPOLYLINE`s (exact corners; free-form curves flattened
//!   within [`OutputOptions::dxf_tolerance_mm`], circular arcs as bulges), one layer
//!   per ink named `ink-rrggbb` (the id of the SVG's ink groups), the exact colour as 24-bit
//!   true colour on each entity (plus the nearest indexed colour on the layer and entity for
//!   readers without true colour), in millimetres (`$INSUNITS` = 4) at
//!   [`OutputOptions::dxf_dpi`] (mm = px × 25.4 / dpi), y up. Holes are their own closed
//!   outlines on the same layer. Strokes (a renderer's gap filler) are not cut geometry and
//!   are left out; a translucent fill keeps its opacity as the entity's transparency.
//! - **PNG** ([`png`], resvg): the SVG rendered at its own size on a transparent background.
//!
//! Nothing here panics on bad input: an unparsable SVG, an unknown format name or an
//! unsupported construct (gradients, images, clips in EPS/DXF) is an [`OutputError`].
//!
//! **Bounded.** Every encoding runs under [`EncodeLimits`]: its output's byte limit and the
//! job's cancellation. Before the SVG is even parsed, a lower bound of the output's size is
//! counted from the SVG text ([`SvgStats`]: one closed polyline per subpath, one vertex per
//! segment) and an output that must pass the limit is refused at once; while encoding, DXF
//! and EPS stop as soon as what they wrote (or, for DXF, the entities they hold) passes it,
//! PNG is rendered in bands of rows, and every encoder checks the cancellation between
//! shapes or bands, so a job past its deadline stops within one shape or band. The memory
//! an encoding may use is then bounded by the SVG's size and the limit, which is what the
//! handler reserves once the SVG is made ([`encode_memory_estimate`]).

mod cad;
mod eps;
mod geometry;
mod pieces;
pub mod png;

use crate::cancel::CancelToken;

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use resvg::usvg;

/// An output file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// The pipeline's SVG as it is.
    Svg,
    /// One vector page.
    Pdf,
    /// Encapsulated PostScript (EPSF-3.0).
    Eps,
    /// AutoCAD DXF (ASCII), millimetres, one layer per ink.
    Dxf,
    /// A raster rendering at the SVG's size.
    Png,
}

impl Format {
    /// Every format, in the order they are listed in messages.
    pub const ALL: [Format; 5] = [
        Format::Svg,
        Format::Pdf,
        Format::Eps,
        Format::Dxf,
        Format::Png,
    ];

    /// The lower-case name, which is also the file extension.
    pub fn name(self) -> &'static str {
        match self {
            Format::Svg => "svg",
            Format::Pdf => "pdf",
            Format::Eps => "eps",
            Format::Dxf => "dxf",
            Format::Png => "png",
        }
    }

    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        self.name()
    }

    /// The IANA media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Svg => "image/svg+xml",
            Format::Pdf => "application/pdf",
            Format::Eps => "application/postscript",
            Format::Dxf => "image/vnd.dxf",
            Format::Png => "image/png",
        }
    }

    /// Whether the bytes are binary (base64 when inlined in JSON); SVG, EPS and DXF are text.
    pub fn is_binary(self) -> bool {
        matches!(self, Format::Pdf | Format::Png)
    }

    /// The format a file name's extension asks for (case-insensitive); `None` for an unknown
    /// or missing extension.
    pub fn from_path(path: &Path) -> Option<Format> {
        path.extension()
            .and_then(|e| e.to_str())
            .and_then(|e| e.parse().ok())
    }

    /// The valid names, comma-separated, for messages.
    pub fn valid_names() -> String {
        Format::ALL.map(Format::name).join(", ")
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = OutputError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|format| format.name().eq_ignore_ascii_case(value.trim()))
            .ok_or_else(|| OutputError::UnknownFormat {
                value: value.to_owned(),
            })
    }
}

impl serde::Serialize for Format {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Format {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        value.parse().map_err(serde::de::Error::custom)
    }
}

/// Options of the encoders; every field has a sound default.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputOptions {
    /// DXF scale: SVG pixels per inch (mm = px × 25.4 / dpi). Default 96, the CSS pixel.
    pub dxf_dpi: f64,
    /// DXF curve flattening: the largest distance, in millimetres, between a curve and its
    /// polyline. Default 0.01 mm, below any cutter's resolution.
    pub dxf_tolerance_mm: f64,
    /// PNG: the most pixels (width × height) rendered, to bound memory. Default 100 million.
    pub png_max_pixels: u64,
}

impl Default for OutputOptions {
    fn default() -> Self {
        OutputOptions {
            dxf_dpi: 96.0,
            dxf_tolerance_mm: 0.01,
            png_max_pixels: 100_000_000,
        }
    }
}

impl OutputOptions {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), OutputError> {
        let positive = |name: &'static str, value: f64, max: f64| {
            if value.is_finite() && value > 0.0 && value <= max {
                Ok(())
            } else {
                Err(OutputError::InvalidOption {
                    name,
                    value: value.to_string(),
                    expected: format!("a number above 0 and at most {max}"),
                })
            }
        };
        positive("dxf_dpi", self.dxf_dpi, 100_000.0)?;
        positive("dxf_tolerance_mm", self.dxf_tolerance_mm, 100.0)?;
        if self.png_max_pixels == 0 {
            return Err(OutputError::InvalidOption {
                name: "png_max_pixels",
                value: "0".to_owned(),
                expected: "at least 1".to_owned(),
            });
        }
        Ok(())
    }
}

/// Why an output could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A format name that is none of ours.
    #[error("unknown output format \"{value}\" (valid: {})", Format::valid_names())]
    UnknownFormat { value: String },
    /// An option out of range.
    #[error("output option {name} = {value} is invalid: expected {expected}")]
    InvalidOption {
        name: &'static str,
        value: String,
        expected: String,
    },
    /// The SVG does not parse.
    #[error("the SVG does not parse: {0}")]
    Svg(String),
    /// The SVG uses something the format cannot carry.
    #[error("{format} output cannot carry {what}")]
    Unsupported { format: Format, what: String },
    /// The PNG would be larger than allowed.
    #[error("the PNG would be {width}×{height} pixels, over the limit of {max_pixels}")]
    TooLarge {
        width: u32,
        height: u32,
        max_pixels: u64,
    },
    /// The encoder itself failed.
    #[error("{format} encoding failed: {message}")]
    Encode { format: Format, message: String },
    /// The output would pass (or did pass) its byte limit; encoding stopped there.
    #[error(
        "the {format} output would be over its limit of {limit} bytes (at least {at_least} bytes)"
    )]
    OverLimit {
        format: Format,
        limit: usize,
        at_least: usize,
    },
    /// The job was cancelled (its deadline passed) while encoding.
    #[error("{format} encoding was cancelled")]
    Cancelled { format: Format },
}

/// What one encoding may use: the most bytes of its output and the job's cancellation.
#[derive(Debug, Clone, Copy)]
pub struct EncodeLimits<'a> {
    /// The output's byte limit (inline: what is left of `output.max_inline_bytes`; bucket:
    /// `output.max_file_bytes`).
    pub max_bytes: usize,
    /// Checked between shapes, rows or bands.
    pub cancel: Option<&'a CancelToken>,
}

impl EncodeLimits<'_> {
    /// No cancellation and no practical limit (the CLI, tests).
    pub const UNBOUNDED: EncodeLimits<'static> = EncodeLimits {
        max_bytes: usize::MAX,
        cancel: None,
    };

    /// `Cancelled` once the job was cancelled.
    pub(crate) fn check_cancel(&self, format: Format) -> Result<(), OutputError> {
        match self.cancel {
            Some(cancel) if cancel.is_cancelled() => Err(OutputError::Cancelled { format }),
            _ => Ok(()),
        }
    }

    /// `OverLimit` once `bytes` (written, or surely to be written) pass the limit.
    pub(crate) fn check_size(&self, format: Format, bytes: usize) -> Result<(), OutputError> {
        if bytes > self.max_bytes {
            Err(OutputError::OverLimit {
                format,
                limit: self.max_bytes,
                at_least: bytes,
            })
        } else {
            Ok(())
        }
    }
}

/// Counts of an SVG's path data, read from its text without parsing it: the lower bounds
/// of what each format must write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SvgStats {
    /// Subpaths (`M`/`m` commands): each is at least one closed polyline or path.
    pub subpaths: usize,
    /// Path segments (every other command letter inside `d` attributes, arcs aside): at least
    /// one vertex or operator each.
    pub segments: usize,
}

impl SvgStats {
    /// Scans the `d="…"` attributes of `svg`.
    pub fn of(svg: &str) -> SvgStats {
        let mut stats = SvgStats::default();
        let mut rest = svg;
        while let Some(start) = rest.find(" d=\"") {
            let data = &rest[start + 4..];
            let end = data.find('"').unwrap_or(data.len());
            for byte in data[..end].bytes() {
                match byte {
                    b'M' | b'm' => stats.subpaths += 1,
                    // Arcs are left out: a subpath of arcs may become one DXF CIRCLE.
                    b'L' | b'l' | b'H' | b'h' | b'V' | b'v' | b'C' | b'c' | b'S' | b's' | b'Q'
                    | b'q' | b'T' | b't' => stats.segments += 1,
                    _ => {}
                }
            }
            rest = &data[end..];
        }
        stats
    }

    /// The fewest bytes `format` can write for these paths (subpaths and segments only;
    /// headers, colours and curve flattening come on top).
    pub fn min_output_bytes(&self, format: Format) -> usize {
        let (per_subpath, per_segment) = match format {
            // An LWPOLYLINE entity's group codes (handle, layer, colours, flags) and one
            // `10`/`20` vertex pair per segment.
            Format::Dxf => (DXF_MIN_ENTITY_BYTES, DXF_MIN_VERTEX_BYTES),
            // `x y m` ... `h f`, and `x y l` per segment.
            Format::Eps => (12, 8),
            // Compressed or not, svg2pdf and PNG give no useful lower bound.
            Format::Svg | Format::Pdf | Format::Png => (0, 0),
        };
        self.subpaths
            .saturating_mul(per_subpath)
            .saturating_add(self.segments.saturating_mul(per_segment))
    }
}

/// Bytes of one DXF entity (an `LWPOLYLINE` without its vertices, a `LINE`, `ARC`, `CIRCLE`
/// or `ELLIPSE`), at least (measured: 230 to 300; `output::tests` checks every kind). A
/// subpath of `n` lines and arcs is `n` entities, so one entity per subpath and a vertex per
/// segment stays a lower bound.
pub(crate) const DXF_MIN_ENTITY_BYTES: usize = 200;
/// Bytes of one DXF vertex (`10\nX\n20\nY\n`), at least.
pub(crate) const DXF_MIN_VERTEX_BYTES: usize = 16;

/// Memory one job's encoders may use beyond the pipeline's, in bytes, for an SVG of
/// `svg_bytes` drawn at `width × height`, each output at most `max_output_bytes`: the usvg
/// tree, each format's own working memory and its output (the output's expected size from the
/// SVG's, at most the cap). Measured on a pixel-mode 1024² checkerboard (6.3 MB of SVG),
/// peak RSS over the SVG alone: PDF +33 MB (4.8 MB out), EPS +182 MB (21.7 MB out), DXF
/// +1283 MB (191 MB out, uncapped), PNG +33 MB; commands in bench/hardening.md.
pub fn encode_memory_estimate(
    formats: &[Format],
    width: u32,
    height: u32,
    svg_bytes: usize,
    max_output_bytes: usize,
) -> u64 {
    let svg = svg_bytes as u64;
    let cap = max_output_bytes as u64;
    let out = |ratio: u64| svg.saturating_mul(ratio).min(cap);
    let pixels = u64::from(width) * u64::from(height);
    let mut total = 0u64;
    let mut parsed = false;
    for format in formats {
        let own = match format {
            Format::Svg => 0,
            // svg2pdf's object graph, then its output (0.8x the SVG measured).
            Format::Pdf => svg.saturating_mul(2).saturating_add(out(2)),
            // Our f64 geometry (about 10x the path text), the PostScript text (3.4x the SVG
            // measured) while it grows by doubling.
            Format::Eps => svg
                .saturating_mul(GEOMETRY_BYTES_PER_SVG_BYTE)
                .saturating_add(out(4).saturating_mul(2)),
            // Our geometry, the dxf crate's entities (stopped at the cap; 6.7x the bytes
            // they write, measured) and the file: 30x the SVG on one-pixel squares, more on
            // flattened curves.
            Format::Dxf => svg
                .saturating_mul(GEOMETRY_BYTES_PER_SVG_BYTE)
                .saturating_add(out(60).saturating_mul(8)),
            // The RGBA pixmap and one band, the PNG encoder's rows, the file.
            Format::Png => pixels
                .saturating_mul(8)
                .saturating_add(pixels.saturating_mul(4).min(cap)),
        };
        parsed |= *format != Format::Svg;
        total = total.saturating_add(own);
    }
    if parsed {
        total = total.saturating_add(svg.saturating_mul(TREE_BYTES_PER_SVG_BYTE));
    }
    total
}

/// usvg's tree of a pipeline SVG, per byte of SVG text.
pub const TREE_BYTES_PER_SVG_BYTE: u64 = 4;
/// Our geometry (f64 points, shapes) per byte of SVG text, for EPS and DXF.
pub const GEOMETRY_BYTES_PER_SVG_BYTE: u64 = 12;

/// Encodes the pipeline's `svg` as `format`, without limits (the CLI's one-shot use).
pub fn encode(svg: &str, format: Format, options: &OutputOptions) -> Result<Vec<u8>, OutputError> {
    encode_limited(svg, format, options, &EncodeLimits::UNBOUNDED)
}

/// Encodes the pipeline's `svg` as `format` under `limits`: refused before parsing when the
/// SVG's paths alone must pass the byte limit, stopped as soon as the output passes it, and
/// stopped between shapes or bands when the job is cancelled.
pub fn encode_limited(
    svg: &str,
    format: Format,
    options: &OutputOptions,
    limits: &EncodeLimits<'_>,
) -> Result<Vec<u8>, OutputError> {
    options.validate()?;
    limits.check_cancel(format)?;
    if format == Format::Svg {
        limits.check_size(format, svg.len())?;
        // Checked like the others, so a caller learns of a broken SVG whatever it asked for.
        parse(svg)?;
        return Ok(svg.as_bytes().to_vec());
    }
    limits.check_size(format, SvgStats::of(svg).min_output_bytes(format))?;
    let tree = parse(svg)?;
    limits.check_cancel(format)?;
    let bytes = match format {
        Format::Svg => svg.as_bytes().to_vec(),
        Format::Pdf => pdf(&tree)?,
        Format::Eps => eps::write(&geometry::Drawing::from_tree(&tree, Format::Eps)?, limits)?,
        Format::Dxf => cad::write(
            &geometry::Drawing::from_tree(&tree, Format::Dxf)?,
            options,
            limits,
        )?,
        Format::Png => png::encode_tree(&tree, options.png_max_pixels, limits)?,
    };
    limits.check_size(format, bytes.len())?;
    Ok(bytes)
}

/// Parses an SVG with usvg, without reading any file the SVG names.
pub(crate) fn parse(svg: &str) -> Result<usvg::Tree, OutputError> {
    let mut options = usvg::Options::default();
    // An `<image href="file">` must not read the disk: only data URLs are resolved.
    options.image_href_resolver.resolve_string = Box::new(|_, _| None);
    usvg::Tree::from_str(svg, &options).map_err(|error| OutputError::Svg(error.to_string()))
}

/// One PDF page of the SVG's size at 96 px per inch.
fn pdf(tree: &usvg::Tree) -> Result<Vec<u8>, OutputError> {
    let page = svg2pdf::PageOptions { dpi: 96.0 };
    svg2pdf::to_pdf(tree, svg2pdf::ConversionOptions::default(), page).map_err(|error| {
        OutputError::Encode {
            format: Format::Pdf,
            message: error.to_string(),
        }
    })
}

#[cfg(test)]
mod tests;
