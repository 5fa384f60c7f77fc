//! Property tests: whatever the labels, palette and transparency, the SVG parses back, has the
//! output size, and fills only with palette colours. Once on the image tracer alone (many
//! cases, fast) and once through the whole pipeline with the real engine on CPU. Every path
//! sits in one ink group whose colour is its fill, as `metadata.layers` says.

mod inks;

use std::path::PathBuf;
use std::sync::OnceLock;

use gemini3::cancel::CancelToken;
use gemini3::engine::Engine;
use gemini3::pipeline::alpha::AlphaMode;
use gemini3::pipeline::palette::{Palette, Rgb8};
use gemini3::pipeline::trace::{trace, TraceInput, TraceOptions};
use gemini3::pipeline::{DecodedImage, Pipeline, Request};
use gemini3::settings::{LoadOptions, Settings, TraceMode};
use proptest::prelude::*;

/// The root element's `width`, `height` and every `fill`, or a panic if it is not XML.
fn parse(svg: &str) -> (String, String, Vec<String>) {
    let document = roxmltree::Document::parse(svg).expect("the SVG is valid XML");
    let root = document.root_element();
    let fills = document
        .descendants()
        .filter_map(|n| n.attribute("fill").map(str::to_owned))
        .collect();
    (
        root.attribute("width").unwrap_or_default().to_owned(),
        root.attribute("height").unwrap_or_default().to_owned(),
        fills,
    )
}

fn palette_strategy() -> impl Strategy<Value = Palette> {
    proptest::collection::hash_set(any::<[u8; 3]>(), 1..8)
        .prop_map(|colors| Palette::from_colors(colors.into_iter().map(Rgb8).collect()).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn traced_svg_parses_and_fills_only_with_palette_colours(
        palette in palette_strategy(),
        width in 1u32..40,
        height in 1u32..40,
        seed in any::<u64>(),
        polygon in any::<bool>(),
        filter_speckle in 0u32..6,
        scale in 1u32..4,
    ) {
        let pixels = (width * height) as usize;
        // A cheap deterministic pattern generator: blobs of labels plus some transparency.
        let mut state = seed | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let labels: Vec<u8> = (0..pixels).map(|_| (next() % palette.len() as u64) as u8).collect();
        // Mostly opaque, some transparent, some translucent (levels 1..=3 of 4).
        let levels: Vec<u8> = (0..pixels)
            .map(|_| match next() % 8 {
                0 => 0,
                1 => (next() % 3 + 1) as u8,
                _ => 4,
            })
            .collect();
        let input = TraceInput {
            width,
            height,
            labels: &labels,
            levels: &levels,
            alpha_levels: 4,
            scale: 1,
            upscale: 1,
            palette: &palette,
            output_width: width * scale,
            output_height: height * scale,
            max_bytes: usize::MAX,
        };
        let options = TraceOptions {
            mode: if polygon { TraceMode::Polygon } else { TraceMode::Spline },
            filter_speckle,
            corner_threshold: 60.0,
            fit_tolerance: 0.4,
            path_precision: 2,
            alpha: AlphaMode::Levels,
            alpha_levels: 4,
            supersample: 1,
            layout: Default::default(),
            gap_filler: 0.0,
        primitives: true,
        };
        let traced = trace(&input, &options, &CancelToken::new()).unwrap();
        let (svg_width, svg_height, fills) = parse(&traced.svg);
        prop_assert_eq!(svg_width, (width * scale).to_string());
        prop_assert_eq!(svg_height, (height * scale).to_string());
        prop_assert_eq!(fills.len(), traced.paths);
        let groups = inks::check_groups(&traced.svg, &traced.layers);
        prop_assert!(groups.is_ok(), "{:?}\n{}", groups, traced.svg);
        let allowed = palette.hex_list();
        for fill in &fills {
            prop_assert!(allowed.contains(fill), "{} not in {:?}", fill, allowed);
        }
    }
}

fn pipeline() -> &'static Pipeline {
    static PIPELINE: OnceLock<Pipeline> = OnceLock::new();
    PIPELINE.get_or_init(|| {
        let settings = Settings::load(&LoadOptions {
            root: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
            env: vec![
                ("GEMINI3__HARDWARE__DEVICE".into(), "cpu".into()),
                ("GEMINI3__HARDWARE__WARMUP".into(), "false".into()),
            ],
            ..Default::default()
        })
        .expect("test settings are valid");
        let engine = Engine::load(&settings.engine).expect("ONNX Runtime loads");
        let models = engine.load_models(&settings.pipeline).expect("models load");
        Pipeline::new(settings.pipeline, models)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn pipeline_svg_uses_only_palette_colours(
        width in 1u32..48,
        height in 1u32..48,
        colors in proptest::collection::vec(any::<[u8; 4]>(), 1..6),
        seed in any::<u64>(),
        given in proptest::option::of(palette_strategy()),
        max_colors in 1u8..20,
    ) {
        let mut state = seed | 1;
        let rgba: Vec<u8> = (0..width * height)
            .flat_map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                colors[(state >> 33) as usize % colors.len()]
            })
            .collect();
        let mut request = Request::new(DecodedImage::from_rgba(width, height, rgba).unwrap());
        request.options.palette = given.clone();
        request.options.max_colors = Some(max_colors);
        let output = pipeline()
            .run(&request, &CancelToken::new(), &mut |_| {})
            .unwrap();
        let (svg_width, svg_height, fills) = parse(&output.svg);
        prop_assert_eq!(svg_width, width.to_string());
        prop_assert_eq!(svg_height, height.to_string());
        if let Some(palette) = &given {
            // The inks used, a subset of the request's palette, which is echoed.
            let requested = palette.hex_list();
            prop_assert_eq!(output.metadata.palette_requested.as_ref(), Some(&requested));
            for ink in &output.metadata.palette {
                prop_assert!(requested.contains(ink), "{} not in {:?}", ink, requested);
            }
        } else {
            prop_assert!(output.metadata.palette.len() <= usize::from(max_colors));
            prop_assert_eq!(output.metadata.palette_requested.as_ref(), None);
        }
        prop_assert_eq!(output.metadata.colors_used, output.metadata.palette.len());
        let groups = inks::check_groups(&output.svg, &output.metadata.layers);
        prop_assert!(groups.is_ok(), "{:?}\n{}", groups, output.svg);
        for fill in &fills {
            prop_assert!(output.metadata.palette.contains(fill), "{} not in {:?}", fill, output.metadata.palette);
        }
    }
}
