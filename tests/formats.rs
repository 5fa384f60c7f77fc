//! The output formats (issue 13, item 3) on the real pipeline's SVGs: PDF and EPS render back
//! (poppler's `pdftoppm`, Ghostscript) to the SVG's picture (resvg) within a PSNR bound and
//! with the palette's exact colours inside shapes; DXF reads back with the `dxf` crate with one
//! layer per ink, closed outlines (polylines, circles, ellipses, or chains of lines and arcs) and millimetre extents; PNG is resvg's render exactly; bad
//! input is an error; and `gemini3 vectorize -o x.pdf|.eps|.dxf|.png` picks the format from
//! the extension.
//!
//! The SVGs come from one `gemini3 vectorize` run over a folder of the repository's fixtures
//! (the logo, the face icon, the small logo) and a disc with a soft shadow, whose SVG has
//! translucent fills.

#[allow(dead_code)]
mod common;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use gemini3::output::{encode, Format, OutputError, OutputOptions};
use image::{Rgb, RgbImage};
use resvg::usvg;

/// PDF and EPS must render back at least this close to the SVG. Measured (see the report
/// printed by the tests): about 35 to 45 dB, the difference being only anti-aliasing along
/// edges; a y flip or a wrong colour is far below (checked on every picture).
const MIN_PSNR_DB: f64 = 30.0;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `gemini3 vectorize ARGS` on CPU with the repository's configuration: whether it
/// succeeded, and its stderr.
fn vectorize(args: &[&OsStr]) -> (bool, String) {
    let run = Command::new(env!("CARGO_BIN_EXE_gemini3"))
        .env("GEMINI3_ROOT", root())
        .env("GEMINI3__HARDWARE__DEVICE", "cpu")
        .env_remove("GEMINI3_PROFILE")
        .env_remove("GPU_MODEL")
        .arg("vectorize")
        .args(args)
        .output()
        .unwrap();
    (
        run.status.success(),
        String::from_utf8_lossy(&run.stderr).into_owned(),
    )
}

/// A 96 px disc of blue with an anti-aliased rim and a soft grey shadow below-right, straight
/// alpha: its SVG has `fill-opacity`.
fn shadowed_disc() -> image::RgbaImage {
    image::RgbaImage::from_fn(96, 96, |x, y| {
        let (x, y) = (f64::from(x) + 0.5, f64::from(y) + 0.5);
        let disc = (30.5 - ((x - 44.0).powi(2) + (y - 44.0).powi(2)).sqrt()).clamp(0.0, 1.0);
        let off = ((x - 52.0).powi(2) + (y - 52.0).powi(2)).sqrt();
        let shadow = (0.4 * (1.0 - (off - 30.0).max(0.0) / 10.0)).clamp(0.0, 0.4);
        let alpha = disc + shadow * (1.0 - disc);
        let blue = [30.0, 90.0, 200.0];
        let rgb = blue.map(|c| {
            if alpha > 0.0 {
                (c * disc / alpha).round() as u8
            } else {
                0
            }
        });
        image::Rgba([rgb[0], rgb[1], rgb[2], (alpha * 255.0).round() as u8])
    })
}

/// The pipeline's SVGs of the pictures, by name, made once per test binary: each picture
/// stacked (`logo`) and in the cutout layout with a 1 px gap filler (`cutout-logo`, whose
/// SVG has strokes).
fn svgs() -> &'static Vec<(String, String)> {
    static SVGS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    SVGS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        std::fs::create_dir(&input).unwrap();
        for name in ["logo.png", "logo96.png", "clean_source.png"] {
            std::fs::copy(root().join("tests/fixtures").join(name), input.join(name)).unwrap();
        }
        shadowed_disc().save(input.join("shadow.png")).unwrap();
        let mut svgs = Vec::new();
        for (prefix, flags) in [
            ("", &[][..]),
            ("cutout-", &["--layout", "cutout", "--gap-filler", "1"][..]),
        ] {
            let out = dir.path().join(format!("{prefix}out"));
            let mut args: Vec<&OsStr> = vec![input.as_ref(), "-o".as_ref(), out.as_ref()];
            args.extend(flags.iter().map(OsStr::new));
            let (ok, stderr) = vectorize(&args);
            assert!(ok, "{stderr}");
            for stem in ["logo", "logo96", "clean_source", "shadow"] {
                let svg = std::fs::read_to_string(out.join(format!("{stem}.svg"))).unwrap();
                svgs.push((format!("{prefix}{stem}"), svg));
            }
        }
        // To look at them: FORMATS_DUMP=folder keeps the SVGs there (and the PDFs, EPSs and
        // renderings of the render-back tests).
        if let Some(folder) = std::env::var_os("FORMATS_DUMP") {
            for (name, svg) in &svgs {
                std::fs::write(Path::new(&folder).join(format!("{name}.svg")), svg).unwrap();
            }
        }
        assert!(
            svgs.iter().any(|(_, svg)| svg.contains("fill-opacity")),
            "the shadow gives translucent fills"
        );
        assert!(
            svgs.iter().any(|(_, svg)| svg.contains("stroke=")),
            "the gap filler gives strokes"
        );
        svgs
    })
}

fn parse(svg: &str) -> usvg::Tree {
    usvg::Tree::from_str(svg, &usvg::Options::default()).unwrap()
}

/// The SVG rendered by resvg over white, at its own size.
fn render_svg(svg: &str) -> RgbImage {
    let tree = parse(svg);
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    RgbImage::from_fn(size.width(), size.height(), |x, y| {
        let px = pixmap.pixel(x, y).unwrap();
        Rgb([px.red(), px.green(), px.blue()])
    })
}

/// Runs a renderer; a missing program fails the test naming the Debian package to install.
fn run_tool(program: &str, package: &str, args: &[&OsStr]) {
    let output = match Command::new(program).args(args).output() {
        Ok(output) => output,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => panic!(
            "{program} is not installed: install the Debian package {package} \
             (apt-get install -y {package}); .ci/run does"
        ),
        Err(error) => panic!("cannot run {program}: {error}"),
    };
    assert!(
        output.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The top-left `width × height` of a rendered PNG, which may be a pixel larger (page sizes
/// are rounded up).
fn load_cropped(path: &Path, width: u32, height: u32) -> RgbImage {
    let image = image::open(path).unwrap().to_rgb8();
    assert!(
        image.width() >= width && image.height() >= height,
        "{} is {}×{}, the SVG {width}×{height}",
        path.display(),
        image.width(),
        image.height()
    );
    assert!(image.width() <= width + 1 && image.height() <= height + 1);
    image::imageops::crop_imm(&image, 0, 0, width, height).to_image()
}

/// The PDF rendered by pdftoppm at 96 dpi (its page is the SVG's size at 96 px per inch).
fn render_pdf(pdf: &[u8], width: u32, height: u32) -> RgbImage {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.pdf");
    std::fs::write(&file, pdf).unwrap();
    let prefix = dir.path().join("page");
    run_tool(
        "pdftoppm",
        "poppler-utils",
        &["-r", "96", "-png", "-singlefile"]
            .map(OsStr::new)
            .into_iter()
            .chain([file.as_os_str(), prefix.as_os_str()])
            .collect::<Vec<_>>(),
    );
    load_cropped(&dir.path().join("page.png"), width, height)
}

/// The EPS rendered by Ghostscript at 96 dpi over white, cropped to its bounding box.
fn render_eps(eps: &[u8], width: u32, height: u32) -> RgbImage {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.eps");
    std::fs::write(&file, eps).unwrap();
    let png = dir.path().join("page.png");
    let output_file = format!("-sOutputFile={}", png.display());
    run_tool(
        "gs",
        "ghostscript",
        &[
            "-dSAFER",
            "-dBATCH",
            "-dNOPAUSE",
            "-dQUIET",
            "-dEPSCrop",
            "-sDEVICE=png16m",
            "-r96",
            "-dGraphicsAlphaBits=4",
            &output_file,
        ]
        .map(OsStr::new)
        .into_iter()
        .chain([file.as_os_str()])
        .collect::<Vec<_>>(),
    );
    load_cropped(&png, width, height)
}

/// Peak signal-to-noise ratio over the RGB channels, in dB (infinite when equal).
fn psnr(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let squares: f64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum();
    let mse = squares / a.as_raw().len() as f64;
    10.0 * (255.0f64.powi(2) / mse).log10()
}

/// The share of the SVG render's flat pixels (the 3×3 around them one colour: inside a
/// shape, away from anti-aliased edges) whose colour `other` reproduces within one level
/// per channel; and how many there are.
fn flat_colour_match(svg: &RgbImage, other: &RgbImage) -> (f64, usize) {
    let (width, height) = svg.dimensions();
    let (mut flat, mut matched) = (0usize, 0usize);
    for y in 1..height - 1 {
        for x in 1..width - 1 {
            let centre = svg.get_pixel(x, y);
            let uniform = (0..9).all(|i| svg.get_pixel(x + i % 3 - 1, y + i / 3 - 1) == centre);
            if uniform {
                flat += 1;
                let near = centre
                    .0
                    .iter()
                    .zip(other.get_pixel(x, y).0)
                    .all(|(&a, b)| a.abs_diff(b) <= 1);
                matched += usize::from(near);
            }
        }
    }
    (matched as f64 / flat.max(1) as f64, flat)
}

/// Renders each SVG's `format` back and compares it with the SVG's render.
fn check_render_back(format: Format, render: fn(&[u8], u32, u32) -> RgbImage) {
    let mut report = Vec::new();
    for (name, svg) in svgs() {
        let expected = render_svg(svg);
        let (width, height) = expected.dimensions();
        let bytes = encode(svg, format, &OutputOptions::default()).unwrap();
        let actual = render(&bytes, width, height);
        if let Some(folder) = std::env::var_os("FORMATS_DUMP") {
            let folder = Path::new(&folder);
            std::fs::write(folder.join(format!("{name}.{format}")), &bytes).unwrap();
            actual
                .save(folder.join(format!("{name}.{format}.png")))
                .unwrap();
            expected
                .save(folder.join(format!("{name}.svg.png")))
                .unwrap();
        }
        let db = psnr(&expected, &actual);
        let (share, flat) = flat_colour_match(&expected, &actual);
        // The bound means something: the same picture upside down is far below it.
        let flipped = psnr(&expected, &image::imageops::flip_vertical(&expected));
        report.push(format!(
            "{format} {name} {width}×{height}: PSNR {db:.1} dB, {:.2} % of {flat} flat pixels \
             exact, upside down {flipped:.1} dB",
            share * 100.0
        ));
        assert!(db >= MIN_PSNR_DB, "{}", report.join("\n"));
        assert!(flipped < MIN_PSNR_DB, "{}", report.join("\n"));
        assert!(share >= 0.99, "{}", report.join("\n"));
    }
    eprintln!("{}", report.join("\n"));
}

#[test]
fn pdf_renders_back_to_the_svg_picture() {
    check_render_back(Format::Pdf, render_pdf);
}

#[test]
fn eps_renders_back_to_the_svg_picture() {
    check_render_back(Format::Eps, render_eps);
}

#[test]
fn every_format_is_deterministic_and_eps_keeps_exact_opaque_colours() {
    for (name, svg) in svgs() {
        let pdf = encode(svg, Format::Pdf, &OutputOptions::default()).unwrap();
        assert!(pdf.starts_with(b"%PDF-"), "{name}");
        // Deterministic: the same SVG gives the same bytes in every format (the PDF's
        // resource entries aside).
        for format in Format::ALL {
            let options = OutputOptions::default();
            let (a, b) = (
                encode(svg, format, &options).unwrap(),
                encode(svg, format, &options).unwrap(),
            );
            // svg2pdf writes a page's resource dictionary from a hash map: its entries
            // (graphics states of translucent fills) may come in another order, nothing else.
            let same = if format == Format::Pdf {
                let mut sorted = [a.clone(), b.clone()];
                sorted.iter_mut().for_each(|bytes| bytes.sort_unstable());
                sorted[0] == sorted[1]
            } else {
                a == b
            };
            if !same {
                if let Some(folder) = std::env::var_os("FORMATS_DUMP") {
                    std::fs::write(Path::new(&folder).join(format!("{name}.a.{format}")), &a)
                        .unwrap();
                    std::fs::write(Path::new(&folder).join(format!("{name}.b.{format}")), &b)
                        .unwrap();
                }
                panic!("{name}: {format} differs between two runs");
            }
        }
        let eps = String::from_utf8(encode(svg, Format::Eps, &OutputOptions::default()).unwrap())
            .unwrap();
        assert!(eps.starts_with("%!PS-Adobe-3.0 EPSF-3.0\n"), "{name}");
        // Every opaque fill's colour is set exactly: r/255 g/255 b/255 to four decimals.
        let tree = parse(svg);
        for (color, opacity) in fill_colours(tree.root()) {
            if opacity >= 1.0 {
                let set = color
                    .map(|c| {
                        let text = format!("{:.4}", f64::from(c) / 255.0);
                        let text = text.trim_end_matches('0').trim_end_matches('.');
                        if text.is_empty() {
                            "0".to_owned()
                        } else {
                            text.to_owned()
                        }
                    })
                    .join(" ");
                assert!(
                    eps.contains(&format!("\n{set} rg\n")),
                    "{name}: {color:?} as {set}"
                );
            }
        }
    }
}

/// Every filled path's colour and opacity, in painting order.
fn fill_colours(group: &usvg::Group) -> Vec<([u8; 3], f32)> {
    let mut out = Vec::new();
    for node in group.children() {
        match node {
            usvg::Node::Group(child) => out.extend(fill_colours(child)),
            usvg::Node::Path(path) => {
                if let Some(fill) = path.fill() {
                    if let usvg::Paint::Color(c) = fill.paint() {
                        out.push(([c.red, c.green, c.blue], fill.opacity().get()));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Every filled path's subpath count and bounding box (root pixels).
fn fill_outlines(group: &usvg::Group, out: &mut Vec<(usize, usvg::Rect)>) {
    for node in group.children() {
        match node {
            usvg::Node::Group(child) => fill_outlines(child, out),
            usvg::Node::Path(path) if path.fill().is_some() => {
                let moves = path
                    .data()
                    .verbs()
                    .iter()
                    .filter(|v| matches!(v, usvg::tiny_skia_path::PathVerb::Move))
                    .count();
                out.push((moves, path.abs_bounding_box()));
            }
            _ => {}
        }
    }
}

#[test]
fn dxf_reads_back_with_one_layer_per_ink_closed_outlines_and_millimetres() {
    for dpi in [96.0, 300.0] {
        let options = OutputOptions {
            dxf_dpi: dpi,
            ..Default::default()
        };
        for (name, svg) in svgs() {
            let bytes = encode(svg, Format::Dxf, &options).unwrap();
            assert!(bytes.starts_with(b"  0\r\nSECTION") || bytes.starts_with(b"  0\nSECTION"));
            let drawing = dxf::Drawing::load(&mut bytes.as_slice()).unwrap();
            let tree = parse(svg);
            let mm = 25.4 / dpi;
            let (width, height) = (
                f64::from(tree.size().width()) * mm,
                f64::from(tree.size().height()) * mm,
            );

            // Units and extents: the SVG's viewport in millimetres.
            assert_eq!(
                drawing.header.default_drawing_units,
                dxf::enums::Units::Millimeters
            );
            let (min, max) = (
                &drawing.header.minimum_drawing_extents,
                &drawing.header.maximum_drawing_extents,
            );
            assert_eq!((min.x, min.y), (0.0, 0.0), "{name}");
            assert!(
                (max.x - width).abs() < 1e-9 && (max.y - height).abs() < 1e-9,
                "{name}"
            );

            // One layer per ink, named by its hex colour; layer 0 is DXF's own and empty.
            let inks: BTreeSet<String> = common::fills(svg)
                .iter()
                .filter(|fill| fill.starts_with('#'))
                .map(|fill| format!("ink-{}", fill.trim_start_matches('#')))
                .collect();
            let layers: BTreeSet<String> = drawing
                .layers()
                .map(|layer| layer.name.clone())
                .filter(|layer| layer != "0")
                .collect();
            assert_eq!(layers, inks, "{name}");

            // Every entity a closed outline (or a piece of one) on an ink layer, in that ink's exact colour,
            // on the viewport; as many as the fills have subpaths.
            let (mut low, mut high) = ([f64::MAX; 2], [f64::MIN; 2]);
            let mut count = 0;
            let mut pieces = Vec::new();
            let mut used = BTreeSet::new();
            for entity in drawing.entities() {
                // A closed polyline, or a whole circle or ellipse (issue 20): its outline's
                // points, for the bounds below.
                let vertices: Vec<(f64, f64)> = match &entity.specific {
                    dxf::entities::EntityType::LwPolyline(polyline) => {
                        assert!(polyline.is_closed(), "{name}");
                        assert!(polyline.vertices.len() >= 3, "{name}");
                        polyline.vertices.iter().map(|v| (v.x, v.y)).collect()
                    }
                    dxf::entities::EntityType::Circle(circle) => {
                        assert!(circle.radius > 0.0, "{name}");
                        let (c, r) = (&circle.center, circle.radius);
                        vec![
                            (c.x - r, c.y),
                            (c.x + r, c.y),
                            (c.x, c.y - r),
                            (c.x, c.y + r),
                        ]
                    }
                    dxf::entities::EntityType::Ellipse(ellipse) => {
                        let (c, a) = (&ellipse.center, &ellipse.major_axis);
                        let ratio = ellipse.minor_axis_ratio;
                        assert!(ratio > 0.0 && ratio <= 1.0, "{name}");
                        (0..720)
                            .map(|i| {
                                let t = std::f64::consts::TAU * f64::from(i) / 720.0;
                                let (u, v) = (t.cos(), ratio * t.sin());
                                (c.x + u * a.x - v * a.y, c.y + u * a.y + v * a.x)
                            })
                            .collect()
                    }
                    // A piece of an outline of lines and arcs (issue 20): its ends, joined
                    // into closed outlines below.
                    dxf::entities::EntityType::Line(line) => {
                        let ends = [(line.p1.x, line.p1.y), (line.p2.x, line.p2.y)];
                        pieces.push(ends);
                        ends.to_vec()
                    }
                    dxf::entities::EntityType::Arc(arc) => {
                        let (c, r) = (&arc.center, arc.radius);
                        let at = |degrees: f64| {
                            let t = degrees.to_radians();
                            (c.x + r * t.cos(), c.y + r * t.sin())
                        };
                        let ends = [at(arc.start_angle), at(arc.end_angle)];
                        pieces.push(ends);
                        let sweep = (arc.end_angle - arc.start_angle).rem_euclid(360.0);
                        (0..=64)
                            .map(|i| at(arc.start_angle + sweep * f64::from(i) / 64.0))
                            .collect()
                    }
                    other => panic!("{name}: not a closed outline: {other:?}"),
                };
                let layer = &entity.common.layer;
                assert_eq!(
                    format!("ink-{:06x}", entity.common.color_24_bit),
                    *layer,
                    "{name}: true colour"
                );
                // Opaque (0x020000FF) unless the fill is translucent; never DXF's invalid 0.
                assert_eq!(entity.common.transparency >> 8, 0x0002_0000, "{name}");
                used.insert(layer.clone());
                // The pipeline's outlines may reach a fraction of a pixel past the edge.
                let margin = 0.5 * mm;
                for (x, y) in vertices {
                    assert!(x >= -margin && x <= width + margin, "{name}: x {x}");
                    assert!(y >= -margin && y <= height + margin, "{name}: y {y}");
                    low = [low[0].min(x), low[1].min(y)];
                    high = [high[0].max(x), high[1].max(y)];
                }
                if !matches!(
                    entity.specific,
                    dxf::entities::EntityType::Line(_) | dxf::entities::EntityType::Arc(_)
                ) {
                    count += 1;
                }
            }
            count += closed_chains(&pieces, name);
            assert_eq!(used, inks, "{name}: every ink has entities");
            let mut outlines = Vec::new();
            fill_outlines(tree.root(), &mut outlines);
            let subpaths: usize = outlines.iter().map(|(moves, _)| moves).sum();
            assert_eq!(
                count, subpaths,
                "{name}: one entity or closed chain of LINEs and ARCs per subpath"
            );

            // The same geometry, y up: the fills' bounding box in millimetres, within the
            // flattening tolerance.
            let (left, top, right, bottom) = outlines.iter().fold(
                (f32::MAX, f32::MAX, f32::MIN, f32::MIN),
                |(l, t, r, b), (_, rect)| {
                    (
                        l.min(rect.left()),
                        t.min(rect.top()),
                        r.max(rect.right()),
                        b.max(rect.bottom()),
                    )
                },
            );
            let slack = options.dxf_tolerance_mm + 1e-3;
            let expected = [
                f64::from(left) * mm,
                height - f64::from(bottom) * mm,
                f64::from(right) * mm,
                height - f64::from(top) * mm,
            ];
            let actual = [low[0], low[1], high[0], high[1]];
            for (e, a) in expected.iter().zip(actual) {
                assert!(
                    (e - a).abs() <= slack,
                    "{name}: bounds {actual:?} vs {expected:?}"
                );
            }
        }
    }
}

/// How many closed chains the `LINE` and `ARC` pieces (their two ends each) make: every end
/// must meet exactly one other piece's end (within 1e-6 mm).
fn closed_chains(pieces: &[[(f64, f64); 2]], name: &str) -> usize {
    let meets = |a: (f64, f64), b: (f64, f64)| (a.0 - b.0).hypot(a.1 - b.1) < 1e-6;
    let mut seen = vec![false; pieces.len()];
    let mut chains = 0;
    for first in 0..pieces.len() {
        if seen[first] {
            continue;
        }
        chains += 1;
        let mut stack = vec![first];
        seen[first] = true;
        while let Some(i) = stack.pop() {
            for end in pieces[i] {
                let others: Vec<usize> = (0..pieces.len())
                    .filter(|&j| j != i && pieces[j].iter().any(|&e| meets(e, end)))
                    .collect();
                assert_eq!(others.len(), 1, "{name}: an open end at {end:?}");
                for j in others {
                    if !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
    }
    chains
}

#[test]
fn png_is_resvgs_render_at_the_svg_size() {
    for (name, svg) in svgs() {
        let png = encode(svg, Format::Png, &OutputOptions::default()).unwrap();
        let decoded = image::load_from_memory_with_format(&png, image::ImageFormat::Png)
            .unwrap()
            .to_rgba8();
        let tree = parse(svg);
        let size = tree.size().to_int_size();
        assert_eq!(
            decoded.dimensions(),
            (size.width(), size.height()),
            "{name}"
        );
        let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
        resvg::render(
            &tree,
            resvg::tiny_skia::Transform::default(),
            &mut pixmap.as_mut(),
        );
        let expected: Vec<u8> = pixmap
            .pixels()
            .iter()
            .flat_map(|px| {
                let c = px.demultiply();
                [c.red(), c.green(), c.blue(), c.alpha()]
            })
            .collect();
        assert!(
            decoded.as_raw() == &expected,
            "{name}: the PNG differs from resvg's render"
        );
        // Transparent where nothing is drawn: the logo's corner.
        if name == "logo" {
            assert_eq!(decoded.get_pixel(0, 0).0[3], 0);
        }
    }
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let error = "tiff".parse::<Format>().unwrap_err();
    assert!(matches!(error, OutputError::UnknownFormat { .. }));
    assert_eq!(
        error.to_string(),
        "unknown output format \"tiff\" (valid: svg, pdf, eps, dxf, png)"
    );
    // Every prefix of a real SVG (most of them broken XML) gives Ok or an error per format.
    let (_, svg) = &svgs()[0];
    let options = OutputOptions::default();
    for cut in (0..svg.len()).step_by(svg.len() / 23 + 1) {
        let Some(prefix) = svg.get(..cut) else {
            continue;
        };
        for format in Format::ALL {
            match encode(prefix, format, &options) {
                Ok(bytes) => assert!(!bytes.is_empty()),
                Err(error) => assert!(!error.to_string().is_empty()),
            }
        }
    }
    for format in Format::ALL {
        let error = encode("<svg", format, &options).unwrap_err();
        assert!(
            error.to_string().starts_with("the SVG does not parse"),
            "{error}"
        );
    }
}

#[test]
fn vectorize_picks_the_format_from_the_output_extension() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("logo.png");
    std::fs::copy(root().join("tests/fixtures/logo.png"), &input).unwrap();
    let magic: [(&str, &[u8]); 5] = [
        ("pdf", b"%PDF-"),
        ("eps", b"%!PS-Adobe-3.0 EPSF-3.0"),
        ("DXF", b"  0\r\nSECTION"),
        ("png", b"\x89PNG\r\n\x1a\n"),
        ("svg", b"<svg"),
    ];
    for (extension, start) in magic {
        let out = dir.path().join(format!("out/logo.{extension}"));
        let mut args: Vec<&OsStr> = vec![input.as_ref(), "-o".as_ref(), out.as_ref()];
        if extension == "DXF" {
            args.extend(["--dxf-dpi", "254"].map(OsStr::new));
        }
        let (ok, stderr) = vectorize(&args);
        assert!(ok, "{extension}: {stderr}");
        let bytes = std::fs::read(&out).unwrap();
        let start_ok =
            bytes.starts_with(start) || (extension == "DXF" && bytes.starts_with(b"  0\nSECTION"));
        assert!(
            start_ok,
            "{extension}: {:?}",
            String::from_utf8_lossy(&bytes[..20])
        );
        if extension == "DXF" {
            // 160 px at 254 px per inch is 16 mm.
            let drawing = dxf::Drawing::load(&mut bytes.as_slice()).unwrap();
            let max = &drawing.header.maximum_drawing_extents;
            assert!(
                (max.x - 16.0).abs() < 1e-9 && (max.y - 12.0).abs() < 1e-9,
                "{max:?}"
            );
        }
    }

    let out = dir.path().join("logo.tiff");
    let (ok, stderr) = vectorize(&[input.as_ref(), "-o".as_ref(), out.as_ref()]);
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("\"tiff\""), "{stderr}");
    assert!(stderr.contains("svg, pdf, eps, dxf, png"), "{stderr}");
    assert!(!out.exists());

    // The scale is checked like any setting, naming its key.
    let out = dir.path().join("logo.dxf");
    let (ok, stderr) = vectorize(&[
        input.as_ref(),
        "-o".as_ref(),
        out.as_ref(),
        "--dxf-dpi".as_ref(),
        "0".as_ref(),
    ]);
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("output.dxf_dpi"), "{stderr}");
    assert!(!out.exists());

    let out = dir.path().join("logo.pdf");
    let (ok, stderr) = vectorize(&[
        "--format".as_ref(),
        "eps".as_ref(),
        input.as_ref(),
        "-o".as_ref(),
        out.as_ref(),
    ]);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("extension says pdf but --format says eps"),
        "{stderr}"
    );
}

#[test]
fn vectorize_on_a_folder_writes_the_format_asked_for_with_previews() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("icons");
    std::fs::create_dir(&input).unwrap();
    for name in ["logo.png", "logo96.png"] {
        std::fs::copy(root().join("tests/fixtures").join(name), input.join(name)).unwrap();
    }
    let preview = dir.path().join("previews");
    let (ok, stderr) = vectorize(&[
        "--format".as_ref(),
        "EPS".as_ref(),
        input.as_ref(),
        "--preview".as_ref(),
        preview.as_ref(),
    ]);
    assert!(ok, "{stderr}");
    let out = dir.path().join("icons-eps");
    for stem in ["logo", "logo96"] {
        let eps = std::fs::read(out.join(format!("{stem}.eps"))).unwrap();
        assert!(eps.starts_with(b"%!PS-Adobe-3.0 EPSF-3.0\n"), "{stem}");
        let png = image::open(preview.join(format!("{stem}.png"))).unwrap();
        let expected = if stem == "logo" { (160, 120) } else { (96, 96) };
        assert_eq!((png.width(), png.height()), expected);
    }

    let (ok, stderr) = vectorize(&["--format".as_ref(), "ai".as_ref(), input.as_ref()]);
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("unknown output format \"ai\""), "{stderr}");
}
