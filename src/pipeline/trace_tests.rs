//! Unit tests of image tracing (`trace.rs`): layers, modes, speckles, holes and limits.

use super::*;

fn options(mode: TraceMode) -> TraceOptions {
    crate::pipeline::tests::trace_options(mode)
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
        palette,
        output_width: width * 2,
        output_height: height * 2,
        max_bytes: usize::MAX,
    }
}

fn run(labels: &[u8], opaque: &[bool], width: u32, height: u32, mode: TraceMode) -> Traced {
    let palette = Palette::from_hex(&["ff0000", "00ff00", "0000ff"]).unwrap();
    let levels = levels_of(opaque);
    let input = input(labels, &levels, &palette, width, height);
    trace(&input, &options(mode), &CancelToken::new()).unwrap()
}

#[test]
fn a_soft_shadow_becomes_nested_translucent_layers_under_the_shape() {
    // A 20×20 canvas: an opaque red square (label 0) with a black shadow (label 1) at
    // levels 2 and 4 of 8 around it, transparent elsewhere.
    let palette = Palette::from_hex(&["ff0000", "000000"]).unwrap();
    let (width, height) = (20usize, 20usize);
    let mut labels = vec![0u8; width * height];
    let mut levels = vec![0u8; width * height];
    for y in 2..18 {
        for x in 2..18 {
            let index = y * width + x;
            let inner = (6..14).contains(&x) && (6..14).contains(&y);
            let near = (4..16).contains(&x) && (4..16).contains(&y);
            (labels[index], levels[index]) = match (inner, near) {
                (true, _) => (0, 8),
                (false, true) => (1, 4),
                _ => (1, 2),
            };
        }
    }
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
fn auto_mode_traces_artwork_as_splines_and_fragmented_labels_as_pixels() {
    // Artwork: a square on a background. Fragmentation is its outline over its side.
    let (width, height) = (40usize, 40usize);
    let square: Vec<u8> = (0..width * height)
        .map(|i| u8::from((10..30).contains(&(i % width)) && (10..30).contains(&(i / width))) * 2)
        .collect();
    assert!(fragmentation(&square, width, height) < 2.0);
    let traced = run(&square, &[true; 1600], 40, 40, TraceMode::Auto);
    assert_eq!(traced.mode, TraceMode::Spline);
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
    assert!(fragmentation(&noisy, 160, 160) > AUTO_PIXEL_FRAGMENTATION);
    let mut options = options(TraceMode::Auto);
    options.filter_speckle = 0;
    let palette = Palette::from_hex(&["ff0000", "00ff00", "0000ff"]).unwrap();
    let levels = vec![8u8; 160 * 160];
    let mut input = input(&noisy, &levels, &palette, 160, 160);
    (input.output_width, input.output_height) = (160, 160);
    let traced = trace(&input, &options, &CancelToken::new()).unwrap();
    assert_eq!(traced.mode, TraceMode::Pixel);
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
        .find(|l| l.contains("#ff0000"))
        .unwrap()
        .to_owned();
    // Outer frame with its square hole, and the centre square: three subpaths.
    assert_eq!(frame.matches('m').count(), 3, "{frame}");
}
