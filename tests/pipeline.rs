//! The pipeline end to end with the real engine on CPU and the shipped models: decoding and
//! its limits, palettes, transparency, the SVG contract, the phase-2 gate with the shipped
//! test steering models, and cancellation.

mod common;
mod inks;

use common::{fills, png_header_only};
use std::io::Cursor;
use std::path::PathBuf;

use gemini3::cancel::CancelToken;
use gemini3::engine::Engine;
use gemini3::pipeline::palette::{Palette, PaletteError};
use gemini3::pipeline::svg::InkRole;
use gemini3::pipeline::{
    decode, DecodeLimits, DecodedImage, Output, Phase, Pipeline, PipelineError, PipelineErrorKind,
    Request, SteeringRequest,
};
use gemini3::settings::{LoadOptions, Settings};
use image::ImageEncoder;

const LIMITS: DecodeLimits = DecodeLimits {
    max_bytes: 20_000_000,
    max_pixels: 40_000_000,
};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Settings on CPU without warm-up, plus `overrides` (full keys, TOML values).
fn settings(overrides: &[(&str, toml::Value)]) -> Settings {
    let mut all = vec![("hardware.warmup".to_owned(), toml::Value::Boolean(false))];
    all.extend(overrides.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    Settings::load(&LoadOptions {
        root: root(),
        env: vec![("GEMINI3__HARDWARE__DEVICE".into(), "cpu".into())],
        overrides: all,
        ..Default::default()
    })
    .expect("test settings are valid")
}

fn pipeline(overrides: &[(&str, toml::Value)]) -> Pipeline {
    let settings = settings(overrides);
    let engine = Engine::load(&settings.engine).expect("ONNX Runtime loads from .ort/lib");
    let models = engine
        .load_models(&settings.pipeline)
        .expect("the shipped models load");
    Pipeline::new(settings.pipeline, models)
}

fn run(pipeline: &Pipeline, request: &Request) -> Result<Output, PipelineError> {
    pipeline.run(request, &CancelToken::new(), &mut |_| {})
}

fn logo() -> DecodedImage {
    let bytes = std::fs::read(root().join("tests/fixtures/logo.png")).unwrap();
    decode(&bytes, &LIMITS).unwrap()
}

fn encode(image: image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), format)
        .unwrap();
    bytes
}

// ---------------------------------------------------------------------------------------------
// Decoding and limits.

#[test]
fn a_png_header_declaring_100000_by_100000_is_refused_before_decoding() {
    let bytes = png_header_only(100_000, 100_000);
    // Without our limits the header alone would ask for 40 GB of RGBA.
    let error = decode(&bytes, &LIMITS).unwrap_err();
    assert_eq!(error.phase, Phase::Decode);
    match &error.kind {
        PipelineErrorKind::InvalidInput { field, message } => {
            assert_eq!(field, "image");
            assert!(message.contains("100000x100000"), "{message}");
            assert!(message.contains("40000000 pixels"), "{message}");
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn too_many_bytes_are_refused_naming_the_limit() {
    let limits = DecodeLimits {
        max_bytes: 100,
        max_pixels: 1_000_000,
    };
    let bytes = std::fs::read(root().join("tests/fixtures/logo.png")).unwrap();
    let error = decode(&bytes, &limits).unwrap_err();
    assert!(error.to_string().contains("limit of 100 bytes"), "{error}");
}

#[test]
fn jpeg_and_webp_decode() {
    let image = image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
        20,
        10,
        image::Rgb([200, 100, 50]),
    ));
    for format in [image::ImageFormat::Jpeg, image::ImageFormat::WebP] {
        let decoded = decode(&encode(image.clone(), format), &LIMITS).unwrap();
        assert_eq!((decoded.width, decoded.height), (20, 10), "{format:?}");
        assert_eq!(decoded.rgba[3], 255);
    }
}

#[test]
fn exif_orientation_is_applied() {
    // A 2×1 image (red, blue) tagged "rotate 90° clockwise" (orientation 6) becomes 1×2.
    let pixels = [255u8, 0, 0, 255, 0, 0, 255, 255];
    let exif = [
        b'M', b'M', 0, 42, 0, 0, 0, 8, // TIFF header, big-endian, IFD at 8
        0, 1, // one entry
        0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, // Orientation, SHORT, 1, value 6
        0, 0, 0, 0, // no next IFD
    ];
    let mut bytes = Vec::new();
    let mut encoder = image::codecs::png::PngEncoder::new(&mut bytes);
    encoder.set_exif_metadata(exif.to_vec()).unwrap();
    encoder
        .write_image(&pixels, 2, 1, image::ExtendedColorType::Rgba8)
        .unwrap();
    let decoded = decode(&bytes, &LIMITS).unwrap();
    assert_eq!((decoded.width, decoded.height), (1, 2));
    assert_eq!(&decoded.rgba[..4], &[255, 0, 0, 255]);
}

// ---------------------------------------------------------------------------------------------
// Palettes.

#[test]
fn palette_errors_name_the_value_and_its_index() {
    let error = Palette::from_hex(&["#ff0000", "12345G"]).unwrap_err();
    assert_eq!(
        error,
        PaletteError::BadHex {
            index: 1,
            value: "12345G".to_owned()
        }
    );
    assert!(error.to_string().starts_with("palette[1]: \"12345G\""));
    let error = Palette::from_hex(&["00FF00", "#00ff00"]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "palette[1]: \"#00ff00\" repeats palette[0]"
    );
    let many: Vec<String> = (0..65).map(|i| format!("{:06x}", i * 1000)).collect();
    assert!(Palette::from_hex(&many)
        .unwrap_err()
        .to_string()
        .contains("65 colours"));
}

#[test]
fn every_fill_is_a_request_palette_colour_on_a_real_image() {
    let pipeline = pipeline(&[]);
    let mut request = Request::new(logo());
    let palette = Palette::from_hex(&["FFFFFF", "#000000", "e07020", "2040a0", "30b050"]).unwrap();
    request.options.palette = Some(palette.clone());
    let output = run(&pipeline, &request).unwrap();
    let allowed = palette.hex_list();
    let fills = fills(&output.svg);
    assert!(fills.len() >= 3, "{}", output.svg);
    for fill in &fills {
        assert!(allowed.contains(fill), "{fill} is not in {allowed:?}");
    }
    // The palette lists the inks used (this logo has no black), the request is echoed.
    assert_eq!(
        output.metadata.palette,
        vec!["#ffffff", "#e07020", "#2040a0", "#30b050"]
    );
    assert_eq!(output.metadata.palette_requested, Some(allowed));
    assert_eq!(output.metadata.paths, fills.len());
}

#[test]
fn every_fill_is_an_automatic_palette_colour_and_the_palette_is_deterministic() {
    let pipeline = pipeline(&[]);
    let first = run(&pipeline, &Request::new(logo())).unwrap();
    let second = run(&pipeline, &Request::new(logo())).unwrap();
    assert_eq!(first.metadata.palette, second.metadata.palette);
    assert_eq!(first.svg, second.svg);
    assert!(first.metadata.palette.len() <= 16);
    for fill in fills(&first.svg) {
        assert!(first.metadata.palette.contains(&fill), "{fill}");
    }
    // The flat colours of the fixture survive exactly.
    for color in ["#f58c1e", "#1e2878", "#28aa50", "#faf5e6"] {
        assert!(
            first.metadata.palette.iter().any(|c| c == color),
            "{color} missing from {:?}",
            first.metadata.palette
        );
    }
}

#[test]
fn max_colors_limits_the_automatic_palette() {
    let pipeline = pipeline(&[]);
    let mut request = Request::new(logo());
    request.options.max_colors = Some(3);
    let output = run(&pipeline, &request).unwrap();
    assert!(output.metadata.palette.len() <= 3);
    assert!(output.metadata.colors_used <= 3);
}

// ---------------------------------------------------------------------------------------------
// The SVG contract.

fn check_svg_size(svg: &str, width: u32, height: u32) {
    let document = roxmltree::Document::parse(svg).expect("the SVG is valid XML");
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.attribute("width"), Some(width.to_string().as_str()));
    assert_eq!(root.attribute("height"), Some(height.to_string().as_str()));
    assert_eq!(
        root.attribute("viewBox"),
        Some(format!("0 0 {width} {height}").as_str())
    );
}

#[test]
fn the_svg_parses_as_xml_and_its_viewbox_is_the_input_size() {
    let output = run(&pipeline(&[]), &Request::new(logo())).unwrap();
    check_svg_size(&output.svg, 160, 120);
    assert_eq!((output.metadata.width, output.metadata.height), (160, 120));
    assert_eq!(output.metadata.svg_bytes, output.svg.len());
}

#[test]
fn paths_are_scaled_from_the_working_resolution_to_input_pixels() {
    // Working at 80×60 (half), the SVG must still cover 160×120 input pixels.
    let pipeline = pipeline(&[("pipeline.working_size", toml::Value::Integer(80))]);
    let output = run(&pipeline, &Request::new(logo())).unwrap();
    check_svg_size(&output.svg, 160, 120);
    let rendered = render(&output.svg);
    // The orange disc is centred at (80, 60) in input pixels; the navy square inside it.
    assert_eq!(rgb_at(&rendered, 80, 60), [0x1e, 0x28, 0x78]);
    assert_eq!(rgb_at(&rendered, 80, 20), [0xf5, 0x8c, 0x1e]);
}

fn render(svg: &str) -> resvg::tiny_skia::Pixmap {
    let tree = resvg::usvg::Tree::from_str(svg, &resvg::usvg::Options::default()).unwrap();
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    pixmap
}

fn rgb_at(pixmap: &resvg::tiny_skia::Pixmap, x: u32, y: u32) -> [u8; 3] {
    let pixel = pixmap.pixel(x, y).unwrap().demultiply();
    [pixel.red(), pixel.green(), pixel.blue()]
}

fn alpha_at(pixmap: &resvg::tiny_skia::Pixmap, x: u32, y: u32) -> u8 {
    pixmap.pixel(x, y).unwrap().alpha()
}

#[test]
fn fully_transparent_pixels_get_no_paths() {
    // Left half transparent, right half opaque red.
    let (width, height) = (64u32, 40u32);
    let rgba = (0..width * height)
        .flat_map(|i| {
            if i % width < 32 {
                [0, 255, 0, 0]
            } else {
                [220, 30, 30, 255]
            }
        })
        .collect();
    let image = DecodedImage::from_rgba(width, height, rgba).unwrap();
    let output = run(&pipeline(&[]), &Request::new(image)).unwrap();
    let rendered = render(&output.svg);
    for y in 0..height {
        for x in 0..30 {
            assert_eq!(alpha_at(&rendered, x, y), 0, "({x}, {y}) is painted");
        }
        for x in 34..width {
            assert_eq!(alpha_at(&rendered, x, y), 255, "({x}, {y}) is not painted");
        }
    }
    // The transparent pixels' colour (green) never reaches the palette.
    assert_eq!(output.metadata.palette[0], "#dc1e1e");
    assert!(
        output.metadata.palette.iter().all(|c| c != "#00ff00"),
        "{:?}",
        output.metadata.palette
    );

    let empty = DecodedImage::from_rgba(16, 16, vec![0; 16 * 16 * 4]).unwrap();
    let output = run(&pipeline(&[]), &Request::new(empty)).unwrap();
    assert_eq!(output.metadata.paths, 0);
    assert!(fills(&output.svg).is_empty());
}

#[test]
fn the_logo_renders_back_close_to_the_input() {
    let input = logo();
    let output = run(&pipeline(&[]), &Request::new(input.clone())).unwrap();
    let rendered = render(&output.svg);
    let mut close = 0;
    let mut counted = 0;
    for y in 0..input.height {
        for x in 0..input.width {
            let index = ((y * input.width + x) * 4) as usize;
            if input.rgba[index + 3] != 255 {
                continue;
            }
            counted += 1;
            let got = rgb_at(&rendered, x, y);
            let want = &input.rgba[index..index + 3];
            if got.iter().zip(want).all(|(a, b)| a.abs_diff(*b) <= 8) {
                close += 1;
            }
        }
    }
    // Edge pixels may differ; the flat areas must match.
    assert!(
        close * 100 >= counted * 95,
        "{close} of {counted} pixels match"
    );
}

// ---------------------------------------------------------------------------------------------
// The phase-2 gate with the shipped test steering models.

/// 64×32, left half red, right half blue: a right shift by d pixels scores
/// 0.5·(32/(32+d) + (32−d)/32), so 1 px passes 0.85, 4 px passes, 9 px fails.
fn split_image() -> DecodedImage {
    let rgba = (0..64 * 32)
        .flat_map(|i| {
            if i % 64 < 32 {
                [220, 20, 20, 255]
            } else {
                [20, 20, 220, 255]
            }
        })
        .collect();
    DecodedImage::from_rgba(64, 32, rgba).unwrap()
}

fn steered(model: &str, strength: f32, allow_skip: bool) -> Result<Output, PipelineError> {
    let pipeline = pipeline(&[
        ("phase2.enabled", toml::Value::Boolean(true)),
        (
            "phase2.model",
            toml::Value::String(format!("models/{model}.onnx")),
        ),
        ("phase2.iou_retry.max_retries", toml::Value::Integer(2)),
        ("phase2.iou_retry.iou_threshold", toml::Value::Float(0.85)),
        ("phase2.iou_retry.strength_decay", toml::Value::Float(0.5)),
        (
            "phase2.iou_retry.allow_skip_on_failure",
            toml::Value::Boolean(allow_skip),
        ),
    ]);
    let mut request = Request::new(split_image());
    request.options.palette = Some(Palette::from_hex(&["dc1414", "1414dc"]).unwrap());
    request.options.steering = Some(SteeringRequest {
        enabled: true,
        seed: Some(11),
        strength: Some(strength),
    });
    run(&pipeline, &request)
}

#[test]
fn gate_passes_a_two_pixel_drift_at_the_first_attempt() {
    // steer_shift_2 at strength 0.6 moves 1 px.
    let output = steered("steer_shift_2", 0.6, false).unwrap();
    let steering = &output.metadata.steering;
    assert_eq!(steering.attempts, 1);
    assert!(steering.accepted);
    assert!(steering.iou.unwrap() >= 0.85);
    assert!(output.metadata.warnings.is_empty());
    assert!(output.metadata.phases.contains_key("phase2"));
}

#[test]
fn gate_passes_only_on_a_retry_with_lower_strength() {
    // steer_shift_48: strength 0.2 moves 9 px (IoU 0.75), the retry at 0.1 moves 4 px (0.88).
    let output = steered("steer_shift_48", 0.2, false).unwrap();
    let steering = &output.metadata.steering;
    assert_eq!(steering.attempts, 2, "{steering:?}");
    assert!(steering.accepted);
    let iou = steering.iou.unwrap();
    assert!((iou - 0.8819).abs() < 0.01, "{iou}");
}

#[test]
fn gate_that_never_passes_traces_the_plate_with_a_warning_when_skipping_is_allowed() {
    let output = steered("steer_shift_512", 0.6, true).unwrap();
    let steering = &output.metadata.steering;
    assert_eq!(steering.attempts, 3);
    assert!(!steering.accepted);
    assert!(steering.iou.unwrap() < 0.85);
    assert_eq!(
        output.metadata.warnings.len(),
        1,
        "{:?}",
        output.metadata.warnings
    );
    assert!(output.metadata.warnings[0].contains("0.85"));
    assert!(output.metadata.warnings[0].contains("clean plate traced"));
    assert!(!fills(&output.svg).is_empty());
}

#[test]
fn gate_that_never_passes_fails_naming_best_iou_and_threshold_when_skipping_is_not_allowed() {
    let error = steered("steer_shift_512", 0.6, false).unwrap_err();
    assert_eq!(error.phase, Phase::Steer);
    let PipelineErrorKind::GateFailed {
        best_iou,
        threshold,
        attempts,
    } = error.kind
    else {
        panic!("expected GateFailed, got {:?}", error.kind);
    };
    assert_eq!((threshold, attempts), (0.85, 3));
    assert!(best_iou < 0.85);
    let message = steered("steer_shift_512", 0.6, false)
        .unwrap_err()
        .to_string();
    assert!(message.contains(&format!("{best_iou:.3}")), "{message}");
    assert!(message.contains("threshold 0.85"), "{message}");
}

// ---------------------------------------------------------------------------------------------
// Cancellation.

#[test]
fn cancelling_between_phases_stops_with_a_cancellation_error() {
    // Phase 1 is off by default since the upscaler (issue 19); this test cancels after it.
    let pipeline = pipeline(&[("phase1.enabled", toml::Value::Boolean(true))]);
    let cancel = CancelToken::new();
    let token = cancel.clone();
    let mut seen = Vec::new();
    let error = pipeline
        .run(&Request::new(logo()), &cancel, &mut |progress| {
            seen.push(progress.phase);
            if progress.phase == Phase::Clean {
                token.cancel();
            }
        })
        .unwrap_err();
    assert!(
        matches!(error.kind, PipelineErrorKind::Cancelled),
        "{error}"
    );
    assert_eq!(error.phase, Phase::Quantize);
    assert_eq!(seen, vec![Phase::Decode, Phase::Clean]);
}

/// A disc of `color` with an anti-aliased rim (coverage from the distance to the centre) and,
/// when `shadow` is set, a soft black shadow of alpha up to 0.35 below-right of it.
fn disc(size: u32, color: [u8; 3], shadow: bool) -> DecodedImage {
    let centre = f64::from(size) / 2.0 - 4.0;
    let radius = f64::from(size) * 0.3;
    let rgba = (0..size * size)
        .flat_map(|i| {
            let (x, y) = (f64::from(i % size) + 0.5, f64::from(i / size) + 0.5);
            let distance = ((x - centre).powi(2) + (y - centre).powi(2)).sqrt();
            let coverage = (radius + 0.5 - distance).clamp(0.0, 1.0);
            let shadow_distance = ((x - centre - 6.0).powi(2) + (y - centre - 6.0).powi(2)).sqrt();
            let shadow_alpha = if shadow {
                (0.35 * (1.0 - (shadow_distance - radius).max(0.0) / 8.0)).clamp(0.0, 0.35)
            } else {
                0.0
            };
            // The disc over its shadow, straight alpha.
            let alpha = coverage + shadow_alpha * (1.0 - coverage);
            let rgb = if alpha > 0.0 {
                color.map(|c| (f64::from(c) * coverage / alpha).round() as u8)
            } else {
                [0, 0, 0]
            };
            [rgb[0], rgb[1], rgb[2], (alpha * 255.0).round() as u8]
        })
        .collect();
    DecodedImage::from_rgba(size, size, rgba).unwrap()
}

#[test]
fn an_anti_aliased_edge_against_transparency_lands_at_half_coverage() {
    // The disc's radius is 0.3 × 128 = 38.4 px: the SVG's coverage matches the input's area
    // within a thin rim, where counting every alpha above zero added a whole pixel all round
    // (about 2π·38 ≈ 240 pixels).
    let image = disc(128, [200, 40, 40], false);
    let input_area: f64 = image
        .rgba
        .chunks(4)
        .map(|px| f64::from(px[3]) / 255.0)
        .sum();
    let output = run(&pipeline(&[]), &Request::new(image)).unwrap();
    let rendered = render(&output.svg);
    let output_area: f64 = rendered
        .pixels()
        .iter()
        .map(|px| f64::from(px.alpha()) / 255.0)
        .sum();
    assert!(
        (output_area - input_area).abs() < 40.0,
        "input covers {input_area:.0} px, the SVG {output_area:.0} px"
    );
}

#[test]
fn a_soft_shadow_becomes_translucent_palette_shapes_or_nothing_in_threshold_mode() {
    let pipeline = pipeline(&[]);
    let image = disc(96, [30, 90, 200], true);
    let output = run(&pipeline, &Request::new(image.clone())).unwrap();
    assert!(output.svg.contains("fill-opacity="), "{}", output.svg);
    // Every fill, translucent or not, is an ink of the palette.
    for fill in fills(&output.svg) {
        assert!(output.metadata.palette.contains(&fill), "{fill}");
    }
    // Under the shadow's densest part (alpha 0.35) the SVG is translucent, not opaque.
    let rendered = render(&output.svg);
    let alpha = alpha_at(&rendered, 76, 60);
    assert!(
        (40..=160).contains(&alpha),
        "alpha {alpha} under the shadow"
    );
    let mut request = Request::new(image);
    request.options.alpha = Some(gemini3::pipeline::alpha::AlphaMode::Threshold);
    let opaque = run(&pipeline, &request).unwrap();
    assert!(!opaque.svg.contains("fill-opacity="));
    assert_eq!(alpha_at(&render(&opaque.svg), 76, 60), 0);
}

#[test]
fn one_pixel_single_colour_and_all_translucent_images_give_valid_svgs() {
    let pipeline = pipeline(&[]);
    let one = DecodedImage::from_rgba(1, 1, vec![10, 200, 30, 255]).unwrap();
    let output = run(&pipeline, &Request::new(one)).unwrap();
    check_svg_size(&output.svg, 1, 1);
    assert_eq!(output.metadata.palette, vec!["#0ac81e"]);

    let flat = DecodedImage::from_rgba(40, 30, [90, 90, 250, 255].repeat(1200)).unwrap();
    let output = run(&pipeline, &Request::new(flat)).unwrap();
    check_svg_size(&output.svg, 40, 30);
    assert_eq!(fills(&output.svg), vec!["#5a5afa"]);

    // Half-transparent all over: drawn, translucent, one ink.
    let glass = DecodedImage::from_rgba(40, 30, [250, 20, 20, 128].repeat(1200)).unwrap();
    let output = run(&pipeline, &Request::new(glass)).unwrap();
    check_svg_size(&output.svg, 40, 30);
    assert!(output.svg.contains("fill-opacity="), "{}", output.svg);
    let alpha = alpha_at(&render(&output.svg), 20, 15);
    assert!((110..=146).contains(&alpha), "alpha {alpha}");
    assert!(
        output.metadata.warnings.is_empty(),
        "{:?}",
        output.metadata.warnings
    );
}

/// A red disc in a dark ring, over a soft shadow in the ring's colour (straight alpha up to
/// 0.6): the dark ink is drawn both translucent and opaque.
fn ringed_disc_with_shadow() -> DecodedImage {
    let size = 128u32;
    let rgba = (0..size * size)
        .flat_map(|i| {
            let (x, y) = (f64::from(i % size), f64::from(i / size));
            let d = (x - 60.0).hypot(y - 56.0);
            if d < 30.0 {
                [220, 40, 40, 255]
            } else if d < 34.0 {
                [40, 40, 40, 255]
            } else {
                let shadow = (x - 68.0).hypot(y - 66.0);
                let alpha = ((48.0 - shadow) / 14.0).clamp(0.0, 1.0) * 0.6;
                [40, 40, 40, (alpha * 255.0).round() as u8]
            }
        })
        .collect();
    DecodedImage::from_rgba(size, size, rgba).unwrap()
}

#[test]
fn every_path_sits_in_one_ink_group_in_painting_order_as_metadata_layers_says() {
    let pipeline = pipeline(&[]);
    let mut cases: Vec<(String, Request)> = [
        "logo.png",
        "logo96.png",
        "clean_source.png",
        "clean_q30.jpg",
    ]
    .iter()
    .map(|name| {
        let bytes = std::fs::read(root().join("tests/fixtures").join(name)).unwrap();
        (
            name.to_string(),
            Request::new(decode(&bytes, &LIMITS).unwrap()),
        )
    })
    .collect();
    let mut shadow = Request::new(ringed_disc_with_shadow());
    shadow.options.palette = Some(Palette::from_hex(&["282828", "dc2828"]).unwrap());
    cases.push(("ringed disc with shadow".to_owned(), shadow));
    for (name, request) in &cases {
        let output = run(&pipeline, request).unwrap();
        let layers = &output.metadata.layers;
        if let Err(problem) = inks::check_groups(&output.svg, layers) {
            panic!("{name}: {problem}\n{}", output.svg);
        }
        assert_eq!(
            output.metadata.paths,
            layers.iter().map(|l| l.paths).sum::<usize>(),
            "{name}"
        );
        // Every ink used has its plain `ink-rrggbb` group.
        for ink in &output.metadata.palette {
            let id = format!("ink-{}", &ink[1..]);
            assert!(layers.iter().any(|l| l.id == id), "{name}: no group {id}");
        }
        // Painting order: translucent groups first, then opaque ones by area, largest first.
        let opaque_from = layers
            .iter()
            .position(|l| l.role == InkRole::Opaque)
            .unwrap_or(layers.len());
        assert!(
            layers[opaque_from..]
                .iter()
                .all(|l| l.role == InkRole::Opaque),
            "{name}: {layers:?}"
        );
        assert!(
            layers[opaque_from..]
                .windows(2)
                .all(|w| w[0].area >= w[1].area),
            "{name}: {layers:?}"
        );
        // Area shares of the drawn pixels add up to the whole.
        let total: f64 = layers.iter().map(|l| l.area).sum();
        assert!(
            (total - 1.0).abs() < 1e-4,
            "{name}: areas add up to {total}"
        );
        // The groups change nothing in the picture: the same paths without them render the
        // same pixels.
        let flat: String = output
            .svg
            .lines()
            .filter(|line| !line.starts_with("<g ") && *line != "</g>")
            .map(|line| format!("{line}\n"))
            .collect();
        assert!(!flat.contains("<g"), "{name}");
        assert_eq!(
            render(&flat).data(),
            render(&output.svg).data(),
            "{name}: the grouped SVG renders differently"
        );
    }
    // The dark ink is drawn both ways: its translucent group under its opaque one.
    let output = run(&pipeline, &cases[4].1).unwrap();
    let ids: Vec<&str> = output
        .metadata
        .layers
        .iter()
        .map(|l| l.id.as_str())
        .collect();
    let soft = ids.iter().position(|id| *id == "ink-282828-soft");
    let opaque = ids.iter().position(|id| *id == "ink-282828");
    assert!(
        matches!((soft, opaque), (Some(s), Some(o)) if s < o),
        "{ids:?}"
    );
}
