//! Unit tests of image tracing (`trace.rs`): layers, modes, speckles, holes and limits.

use super::*;
use crate::mode::{fragmentation, PHOTO_FRAGMENTATION};
use crate::palette::Palette;

fn options(mode: TraceMode) -> TraceOptions {
    crate::tests::trace_options(mode)
}

fn levels_of(opaque: &[bool]) -> Vec<u8> {
    opaque.iter().map(|o| if *o { 8 } else { 0 }).collect()
}

fn input<'a>(
    labels: &'a [u8],
    levels: &'a [u8],
    palette: &'a Palette,
    width: u32,
    height: u32,
) -> TraceInput<'a> {
    TraceInput {
        width,
        height,
        labels,
        levels,
        alpha_levels: 8,
        scale: 1,
        upscale: 1,
        palette,
        output_width: width * 2,
        output_height: height * 2,
        max_bytes: usize::MAX,
        source_pixel: 0.0,
        coverage: None,
    }
}

fn run(labels: &[u8], opaque: &[bool], width: u32, height: u32, mode: TraceMode) -> Traced {
    let palette = Palette::from_hex(&["ff0000", "00ff00", "0000ff"]).unwrap();
    let levels = levels_of(opaque);
    let input = input(labels, &levels, &palette, width, height);
    trace(&input, &options(mode), &CancelToken::new()).unwrap()
}

/// A 20×20 (label, level) map of three nested squares, inner first: 8×8 at (6, 6), a ring
/// out to 12×12 at (4, 4), and a ring out to 16×16 at (2, 2); transparent around.
fn nested_squares(squares: [(u8, u8); 3]) -> (Vec<u8>, Vec<u8>) {
    let mut labels = vec![0u8; 400];
    let mut levels = vec![0u8; 400];
    for y in 2..18usize {
        for x in 2..18usize {
            let within = |lo, hi| (lo..hi).contains(&x) && (lo..hi).contains(&y);
            let square = if within(6, 14) {
                0
            } else if within(4, 16) {
                1
            } else {
                2
            };
            (labels[y * 20 + x], levels[y * 20 + x]) = squares[square];
        }
    }
    (labels, levels)
}

#[test]
fn a_soft_shadow_becomes_nested_translucent_layers_under_the_shape() {
    // A 20×20 canvas: an opaque red square (label 0) with a black shadow (label 1) at
    // levels 2 and 4 of 8 around it, transparent elsewhere.
    let palette = Palette::from_hex(&["ff0000", "000000"]).unwrap();
    let (labels, levels) = nested_squares([(0, 8), (1, 4), (1, 2)]);
    let input = input(&labels, &levels, &palette, 20, 20);
    let traced = trace(&input, &options(TraceMode::Polygon), &CancelToken::new()).unwrap();
    // Two translucent layers (levels 2 and 4 of black), then the red square on top.
    let fills: Vec<&str> = traced
        .svg
        .lines()
        .filter(|line| line.starts_with("<path"))
        .map(|line| &line[line.find("fill=").unwrap()..])
        .collect();
    assert_eq!(
        fills,
        vec![
            "fill=\"#000000\" fill-opacity=\"0.25\"/>",
            "fill=\"#000000\" fill-opacity=\"0.333\"/>",
            "fill=\"#ff0000\"/>",
        ]
    );
    // Stacked, the two layers give 1 − (6/8)(4/6) = 1/2 = level 4 of 8.
    assert_eq!(traced.inks, vec![0, 1]);
    assert_eq!(traced.colors_used, 2);
}

#[test]
fn a_shadow_all_around_the_art_reaches_under_it_and_costs_its_outer_edge_only() {
    // The shadow rings surround the red square: each translucent layer continues under the
    // square (hidden by it) instead of tracing the square's outline again as a hole.
    let palette = Palette::from_hex(&["ff0000", "000000"]).unwrap();
    let (labels, levels) = nested_squares([(0, 8), (1, 4), (1, 2)]);
    let input = input(&labels, &levels, &palette, 20, 20);
    let traced = trace(&input, &options(TraceMode::Polygon), &CancelToken::new()).unwrap();
    let subpaths: Vec<usize> = traced
        .svg
        .lines()
        .filter(|line| line.starts_with("<path"))
        .map(|line| line.matches(['m', 'M']).count())
        .collect();
    // Level 2 and level 4 of black: one outline each; the red square: one.
    assert_eq!(subpaths, vec![1, 1, 1]);
    // A shadow only on one side of the art keeps the outline that is shorter: the art's
    // outline is not traced where the shadow does not reach.
    let mut one_side = vec![0u8; 400];
    let mut one_side_levels = vec![0u8; 400];
    for y in 4..16usize {
        for x in 4..16usize {
            one_side_levels[y * 20 + x] = 8;
        }
        for x in 16..19usize {
            (one_side[y * 20 + x], one_side_levels[y * 20 + x]) = (1, 3);
        }
    }
    let strip = self::input(&one_side, &one_side_levels, &palette, 20, 20);
    let traced = trace(&strip, &options(TraceMode::Polygon), &CancelToken::new()).unwrap();
    let shadow = traced
        .svg
        .lines()
        .find(|line| line.contains("fill-opacity"))
        .unwrap();
    // Its outline: the 3×12 strip plus the working pixel under the square, a rectangle
    // (doubled to the output size).
    assert!(shadow.starts_with("<path d=\"m30 8h8v24h-8z\""), "{shadow}");
}

#[test]
fn tracing_stops_past_the_byte_limit() {
    let palette = Palette::from_hex(&["ff0000", "00ff00", "0000ff"]).unwrap();
    // A checkerboard of 8×8 cells: many shapes.
    let labels: Vec<u8> = (0..64 * 64)
        .map(|i| (((i % 64) / 8 + (i / 64) / 8) % 3) as u8)
        .collect();
    let levels = vec![8u8; 64 * 64];
    let mut limited = input(&labels, &levels, &palette, 64, 64);
    limited.max_bytes = 500;
    let error = trace(&limited, &options(TraceMode::Polygon), &CancelToken::new()).unwrap_err();
    assert_eq!(error, TraceError::TooLarge { limit: 500 });
    limited.max_bytes = usize::MAX;
    let traced = trace(&limited, &options(TraceMode::Polygon), &CancelToken::new()).unwrap();
    assert!(traced.svg.len() > 500);
}

#[test]
fn auto_mode_is_splines_for_artwork_and_polygons_for_fragmented_labels() {
    // Artwork: a square on a background. Fragmentation is its outline over its side.
    let (width, height) = (40usize, 40usize);
    let square: Vec<u8> = (0..width * height)
        .map(|i| u8::from((10..30).contains(&(i % width)) && (10..30).contains(&(i / width))) * 2)
        .collect();
    let resolve =
        |grid: &[u8], w, h| crate::mode::resolve(TraceMode::Auto, fragmentation(grid, w, h));
    assert!(fragmentation(&square, width, height) < 2.0);
    assert_eq!(resolve(&square, width, height), TraceMode::Spline);
    // A photo-like label map: labels change every two pixels in a pseudo-random pattern
    // (the measure grows with the side for such maps, so it needs some size).
    let mut state = 12345u32;
    let noisy: Vec<u8> = (0..160 * 160)
        .map(|i| {
            if i % 2 == 0 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
            }
            (state % 3) as u8
        })
        .collect();
    assert!(fragmentation(&noisy, 160, 160) > PHOTO_FRAGMENTATION);
    assert_eq!(resolve(&noisy, 160, 160), TraceMode::Polygon);
}

#[test]
fn the_tracer_refuses_an_undecided_mode() {
    let labels = vec![0u8; 16];
    let palette = Palette::from_hex(&["ff0000"]).unwrap();
    let levels = vec![8u8; 16];
    let error = trace(
        &input(&labels, &levels, &palette, 4, 4),
        &options(TraceMode::Auto),
        &CancelToken::new(),
    )
    .unwrap_err();
    assert!(
        matches!(error, TraceError::BadInput(ref m) if m.contains("auto")),
        "{error:?}"
    );
}

#[test]
fn pixel_mode_keeps_every_step_of_a_staircase() {
    // A 16×16 staircase: label 2 where x > y. Polygon simplification turns it into a
    // triangle; pixel mode keeps each step, so it has far more vertices, all on the pixel
    // grid (scaled by 2 to the output).
    let labels: Vec<u8> = (0..256).map(|i| u8::from(i % 16 > i / 16) * 2).collect();
    let last_path = |mode| {
        let traced = run(&labels, &[true; 256], 16, 16, mode);
        let start = traced.svg.rfind("<path d=\"").unwrap() + 9;
        let end = start + traced.svg[start..].find('"').unwrap();
        traced.svg[start..end].to_owned()
    };
    let pixel = last_path(TraceMode::Pixel);
    let polygon = last_path(TraceMode::Polygon);
    // Compact SVG numbers: a new number starts at a command letter, a space, a '-', or a
    // second '.' ("0.5.5" is 0.5 and .5).
    let numbers = |d: &str| -> Vec<f64> {
        let mut tokens: Vec<String> = Vec::new();
        let mut current = String::new();
        for c in d.chars() {
            let starts_new = c == '-' || (c == '.' && current.contains('.'));
            if c.is_ascii_digit() || c == '.' || c == '-' {
                if starts_new && !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
                current.push(c);
            } else if !current.is_empty() {
                tokens.push(std::mem::take(&mut current));
            }
        }
        tokens.extend((!current.is_empty()).then_some(current));
        tokens.iter().map(|t| t.parse().unwrap()).collect()
    };
    assert!(
        numbers(&pixel).len() >= 2 * numbers(&polygon).len(),
        "{pixel} vs {polygon}"
    );
    assert!(numbers(&pixel).iter().all(|v| v.fract() == 0.0), "{pixel}");
}

#[test]
fn a_square_on_a_background_gives_two_stacked_paths() {
    let (width, height) = (20u32, 20u32);
    let labels: Vec<u8> = (0..400)
        .map(|i| {
            let (x, y) = (i % 20, i / 20);
            u8::from((5..15).contains(&x) && (5..15).contains(&y)) * 2
        })
        .collect();
    for mode in [TraceMode::Spline, TraceMode::Polygon, TraceMode::Pixel] {
        let traced = run(&labels, &[true; 400], width, height, mode);
        assert_eq!(traced.paths, 2, "{}", traced.svg);
        assert!(traced
            .svg
            .contains("width=\"40\" height=\"40\" viewBox=\"0 0 40 40\""));
        // The background (largest) is the exact canvas; the square is drawn above it.
        let background = traced.svg.find("M0 0H40V40H0Z\" fill=\"#ff0000\"").unwrap();
        let square = traced.svg.find("fill=\"#0000ff\"").unwrap();
        assert!(background < square);
    }
}

#[test]
fn transparent_pixels_get_no_paths() {
    let labels = vec![0u8; 100];
    let traced = run(&labels, &[false; 100], 10, 10, TraceMode::Spline);
    assert_eq!(traced.paths, 0);
    assert!(!traced.svg.contains("<path"));
}

#[test]
fn speckles_are_merged_into_their_neighbour() {
    let mut labels = vec![0u8; 100];
    labels[55] = 1;
    let traced = run(&labels, &[true; 100], 10, 10, TraceMode::Polygon);
    assert_eq!(traced.paths, 1, "{}", traced.svg);
}

#[test]
fn holes_are_reversed_subpaths() {
    // A ring of label 1 on label 0, where label 1 is the larger area: the ring layer is
    // the whole canvas and label 0 sits on top as the outer frame plus the hole.
    let mut labels = vec![0u8; 30 * 30];
    for y in 3..27 {
        for x in 3..27 {
            labels[y * 30 + x] = 1;
        }
    }
    for y in 10..20 {
        for x in 10..20 {
            labels[y * 30 + x] = 0;
        }
    }
    let mut opaque = vec![true; 900];
    opaque[0] = false;
    let traced = run(&labels, &opaque, 30, 30, TraceMode::Polygon);
    assert_eq!(traced.paths, 2, "{}", traced.svg);
    let frame = traced
        .svg
        .lines()
        .find(|l| l.starts_with("<path") && l.contains("fill=\"#ff0000\""))
        .unwrap()
        .to_owned();
    // Outer frame with its square hole, and the centre square: three subpaths.
    assert_eq!(frame.matches('m').count(), 3, "{frame}");
}

/// Checks the ink groups of `svg` against `layers`: every path sits directly in one
/// `<g id="ink-…">` child of the root and nowhere else, ids are unique, each group's
/// `data-color` is the paint of every path in it, and `layers` lists the groups in order
/// with their ids, colours, roles and path counts.
fn check_groups(svg: &str, layers: &[svg::Layer]) {
    let document = roxmltree::Document::parse(svg).unwrap();
    let root = document.root_element();
    let groups: Vec<roxmltree::Node> = root.children().filter(|n| n.is_element()).collect();
    assert!(groups.iter().all(|g| g.has_tag_name("g")), "{svg}");
    let ids: Vec<&str> = groups.iter().map(|g| g.attribute("id").unwrap()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    assert_eq!(
        ids,
        layers.iter().map(|l| l.id.as_str()).collect::<Vec<_>>()
    );
    for (group, layer) in groups.iter().zip(layers) {
        let color = group.attribute("data-color").unwrap();
        assert_eq!(color, layer.color);
        assert!(layer.id.starts_with(&format!("ink-{}", &color[1..])));
        let paths: Vec<roxmltree::Node> = group.children().filter(|n| n.is_element()).collect();
        assert!(paths
            .iter()
            .all(|p| ["path", "circle", "ellipse", "rect"].contains(&p.tag_name().name())));
        assert_eq!(paths.len(), layer.paths);
        for path in paths {
            assert_eq!(path.attribute("fill"), Some(color));
        }
        let translucent = layer.role == InkRole::Translucent;
        assert_eq!(
            group.attribute("data-role") == Some("translucent"),
            translucent
        );
    }
    let in_groups: usize = layers.iter().map(|l| l.paths).sum();
    let all = document
        .descendants()
        .filter(|n| ["path", "circle", "ellipse", "rect"].contains(&n.tag_name().name()))
        .count();
    assert_eq!(all, in_groups);
}

#[test]
fn an_ink_both_translucent_and_opaque_gets_a_soft_group_under_its_opaque_one() {
    // A red square (label 0, 64 px) inside an opaque black ring (label 1, 80 px) inside a
    // black shadow at level 4 of 8 (112 px).
    let palette = Palette::from_hex(&["ff0000", "000000"]).unwrap();
    let (labels, levels) = nested_squares([(0, 8), (1, 8), (1, 4)]);
    for mode in [TraceMode::Polygon, TraceMode::Spline] {
        let input = input(&labels, &levels, &palette, 20, 20);
        let traced = trace(&input, &options(mode), &CancelToken::new()).unwrap();
        check_groups(&traced.svg, &traced.layers);
        let summary: Vec<(&str, InkRole, usize, f64)> = traced
            .layers
            .iter()
            .map(|l| (l.id.as_str(), l.role, l.paths, l.area))
            .collect();
        // Painting order: the shadow, then the black ring (the larger opaque area), then red.
        assert_eq!(
            summary,
            vec![
                ("ink-000000-soft", InkRole::Translucent, 1, 0.4375),
                ("ink-000000", InkRole::Opaque, 1, 0.3125),
                ("ink-ff0000", InkRole::Opaque, 1, 0.25),
            ]
        );
        assert_eq!(traced.paths, 3);
    }
}

#[test]
fn a_shadow_only_ink_keeps_the_plain_id() {
    // The soft-shadow map of the first test: black is only translucent, red only opaque.
    let palette = Palette::from_hex(&["ff0000", "000000"]).unwrap();
    let mut labels = vec![1u8; 400];
    let mut levels = vec![3u8; 400];
    for y in 5..15 {
        for x in 5..15 {
            (labels[y * 20 + x], levels[y * 20 + x]) = (0, 8);
        }
    }
    let input = input(&labels, &levels, &palette, 20, 20);
    let traced = trace(&input, &options(TraceMode::Polygon), &CancelToken::new()).unwrap();
    check_groups(&traced.svg, &traced.layers);
    let ids: Vec<&str> = traced.layers.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["ink-000000", "ink-ff0000"]);
    assert_eq!(traced.layers[0].role, InkRole::Translucent);
    assert_eq!(traced.layers[0].area + traced.layers[1].area, 1.0);
}

#[test]
fn concurrent_jobs_share_the_pool_and_trace_exactly_what_one_job_alone_does() {
    // A checkerboard of 4×4 cells in three colours: many components per layer.
    let labels: Vec<u8> = (0..48 * 48)
        .map(|i| (((i % 48) / 4 + (i / 48) / 4) % 3) as u8)
        .collect();
    let alone = run(&labels, &[true; 48 * 48], 48, 48, TraceMode::Spline);
    let together: Vec<Traced> = std::thread::scope(|scope| {
        let jobs: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| run(&labels, &[true; 48 * 48], 48, 48, TraceMode::Spline)))
            .collect();
        jobs.into_iter().map(|job| job.join().unwrap()).collect()
    });
    for traced in &together {
        assert_eq!(traced, &alone);
    }
}

#[test]
fn a_stacked_layer_reaches_under_the_shapes_it_touches_only() {
    // Red background; a green square (second largest) and, far from it, a small blue square
    // inside the red, plus a blue square sitting on the green one.
    let (width, height) = (40usize, 40usize);
    let labels: Vec<u8> = (0..width * height)
        .map(|i| {
            let (x, y) = (i % width, i / width);
            let far_blue = (28..34).contains(&x) && (28..34).contains(&y);
            let blue_on_green = (8..12).contains(&x) && (8..12).contains(&y);
            if far_blue || blue_on_green {
                2
            } else if (4..20).contains(&x) && (4..20).contains(&y) {
                1
            } else {
                0
            }
        })
        .collect();
    let traced = run(&labels, &[true; 1600], 40, 40, TraceMode::Polygon);
    let group = |id: &str| {
        let start = traced.svg.find(&format!("<g id=\"{id}\"")).unwrap();
        let end = start + traced.svg[start..].find("</g>").unwrap();
        traced.svg[start..end].to_owned()
    };
    let subpaths = |id: &str| group(id).matches(['M', 'm']).count();
    // The green layer runs on under the blue square it holds (its outline is the green
    // square's, one subpath) and not under the far blue square (no second subpath there).
    assert_eq!(subpaths("ink-00ff00"), 1, "{}", group("ink-00ff00"));
    assert_eq!(subpaths("ink-0000ff"), 2, "{}", group("ink-0000ff"));
}

#[test]
fn the_speckle_area_scales_with_small_art_and_never_below_one() {
    // 4 px at 256 px and above, (long side / 256)² of it below, at least 1; 0 stays 0.
    assert_eq!(super::art_speckle(4, 1024), 4);
    assert_eq!(super::art_speckle(4, 256), 4);
    assert_eq!(super::art_speckle(4, 192), 2);
    assert_eq!(super::art_speckle(4, 128), 1);
    assert_eq!(super::art_speckle(4, 96), 1);
    assert_eq!(super::art_speckle(4, 16), 1);
    assert_eq!(super::art_speckle(0, 96), 0);
    assert_eq!(super::art_speckle(64, 128), 16);
}

/// The root element's `width`, `height` and every `fill`, or a panic if it is not XML.
fn size_and_fills(svg: &str) -> (String, String, Vec<String>) {
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

fn palette_strategy() -> impl proptest::strategy::Strategy<Value = Palette> {
    use proptest::prelude::*;
    proptest::collection::hash_set(any::<[u8; 3]>(), 1..8).prop_map(|colors| {
        Palette::from_colors(colors.into_iter().map(crate::palette::Rgb8).collect()).unwrap()
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Whatever the labels, palette and transparency, the SVG parses back, has the output
    /// size, fills only with palette colours, and every path sits in the ink group of its fill.
    #[test]
    fn traced_svg_parses_and_fills_only_with_palette_colours(
        palette in palette_strategy(),
        width in 1u32..40,
        height in 1u32..40,
        seed in proptest::prelude::any::<u64>(),
        polygon in proptest::prelude::any::<bool>(),
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
            source_pixel: 0.0,
            coverage: None,
        };
        let options = TraceOptions {
            mode: if polygon { TraceMode::Polygon } else { TraceMode::Spline },
            filter_speckle,
            corner_threshold: 60.0,
            fit_tolerance: 0.4,
            path_precision: 2,
            alpha: crate::alpha::AlphaMode::Levels,
            alpha_levels: 4,
            supersample: 1,
            layout: Default::default(),
            gap_filler: 0.0,
            primitives: true,
        };
        let traced = trace(&input, &options, &CancelToken::new()).unwrap();
        let (svg_width, svg_height, fills) = size_and_fills(&traced.svg);
        proptest::prop_assert_eq!(svg_width, (width * scale).to_string());
        proptest::prop_assert_eq!(svg_height, (height * scale).to_string());
        proptest::prop_assert_eq!(fills.len(), traced.paths);
        check_groups(&traced.svg, &traced.layers);
        let allowed = palette.hex_list();
        for fill in &fills {
            proptest::prop_assert!(allowed.contains(fill), "{} not in {:?}", fill, allowed);
        }
    }
}

#[test]
fn after_an_upscale_a_layer_under_a_border_keeps_off_the_edge_against_transparency() {
    // A red 12×12 square in a green one-pixel border, transparent around: the red layer
    // reaches under the whole border (its outline is then the border's outer square).
    let (width, height) = (20usize, 20usize);
    let mut labels = vec![0u8; width * height];
    let mut levels = vec![0u8; width * height];
    for y in 3..17 {
        for x in 3..17 {
            let inner = (4..16).contains(&x) && (4..16).contains(&y);
            labels[y * width + x] = if inner { 0 } else { 1 };
            levels[y * width + x] = 8;
        }
    }
    let palette = Palette::from_hex(&["ff0000", "00ff00", "0000ff"]).unwrap();
    let red = |upscale: u32| {
        let mut input = input(&labels, &levels, &palette, 20, 20);
        input.upscale = upscale;
        let traced = trace(&input, &options(TraceMode::Polygon), &CancelToken::new()).unwrap();
        let start = traced.svg.find("<g id=\"ink-ff0000\"").unwrap();
        let end = start + traced.svg[start..].find("</g>").unwrap();
        traced.svg[start..end].to_owned()
    };
    // At the working resolution it shares the border's outer edge (output pixels: 2×).
    assert!(red(1).contains("d=\"m6 6h28v28h-28z\""), "{}", red(1));
    // After phase 2's upscale it stops one working pixel inside it, under the border, so the
    // two colours no longer both anti-alias that edge.
    assert!(red(4).contains("d=\"m8 8h24v24h-24z\""), "{}", red(4));
}
