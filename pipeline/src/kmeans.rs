//! Automatic palettes: weighted k-means in OKLab, deterministic for the same pixels.
//!
//! Pixels are sampled with a fixed stride, counted per exact colour, and clustered with the
//! counts as weights, so a flat icon with a few hundred distinct colours clusters a few
//! hundred points rather than a million pixels. Seeding is greedy and has no randomness (the
//! heaviest colour first, then the colour with the largest weighted squared distance to the
//! centroids so far), so the same image always gives the same palette. When the image has no
//! more distinct colours than asked for, they are the palette as they are.

use std::collections::HashMap;

use crate::cancel::CancelToken;
use crate::palette::{
    nearest_oklab, nearest_on_segment, oklab_distance as distance, oklab_to_srgb, srgb_to_oklab,
    Palette, Rgb8, MAX_COLORS,
};

/// What an automatic palette is built from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutoPaletteOptions {
    /// Most colours, 1..=64.
    pub max_colors: u8,
    /// Colours closer than this in OKLab are one colour ([`MIN_SEPARATION`] for clean
    /// artwork, [`NOISY_SEPARATION`] when the samples are noisy).
    pub min_separation: f32,
    /// Lloyd iterations at most (it stops earlier once no point changes cluster).
    pub iterations: u32,
    /// Pixels sampled, at most (a fixed stride over the pixels given).
    pub sample: usize,
}

/// Why no automatic palette came out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AutoPaletteError {
    /// No pixels to learn colours from (for example a fully transparent image).
    #[error("no opaque pixels to build a palette from")]
    NoPixels,
    /// `max_colors` outside 1..=64.
    #[error("max_colors: {0} is outside 1..=64")]
    BadMaxColors(u8),
    /// The cancel token fired.
    #[error("cancelled")]
    Cancelled,
}

/// A cluster member is kept as the palette colour instead of the cluster mean when it holds
/// at least this share of the cluster's weight. Flat artwork then keeps its exact colours
/// (the mean of a flat region and its anti-aliased edges is a slightly wrong colour), while
/// photos, where no single colour dominates, get the mean.
const DOMINANT_SHARE: f64 = 0.25;

/// Palette colours closer than this in OKLab (about half a just-noticeable difference, which
/// is near 0.02) are one colour: seeding skips candidates this close to a centroid, and the
/// final palette drops a colour this close to a heavier one. Without it, an image with four
/// flat colours asked for sixteen gets near-duplicates that split flat areas into noisy
/// patches. Much larger, and distinct artwork colours merge: Twemoji's fox draws its ears and
/// face in two oranges 0.010 apart (26 levels apart in blue), and merging them cost SSIM.
pub const MIN_SEPARATION: f32 = 0.008;

/// The separation for lossy artwork (a JPEG upload), about two and a half just-noticeable
/// differences. Compression noise spreads every flat colour into a cloud of near shades, and
/// at half a JND k-means spent most of a 16-colour palette on shades of a JPEG's white
/// background (`#fbfbfb`, `#f8f8f8`, `#efefef` …) while the dark outlines got no colour of
/// their own. On the benchmark's JPEG sets (q30, 10 images each) 0.02, 0.03, 0.04, 0.05 and
/// 0.065 gave glossy +0.3, +0.9, +1.5, +1.8, +1.6 dB over VTracer at 2.0, 1.7, 1.0, 0.6,
/// 0.4× its bytes, and the flat sets did not lose above 0.03.
pub const NOISY_SEPARATION: f32 = 0.05;

/// One distinct colour and how often it was sampled.
struct Point {
    color: Rgb8,
    lab: [f32; 3],
    weight: f64,
}

impl Palette {
    /// Builds a palette of at most `options.max_colors` colours from `pixels` (sRGB, opaque
    /// pixels only), ordered by how much of the image each colour covers. Deterministic.
    pub fn automatic(
        pixels: &[Rgb8],
        options: &AutoPaletteOptions,
        cancel: &CancelToken,
    ) -> Result<Palette, AutoPaletteError> {
        let k = usize::from(options.max_colors);
        if k == 0 || k > MAX_COLORS {
            return Err(AutoPaletteError::BadMaxColors(options.max_colors));
        }
        if pixels.is_empty() {
            return Err(AutoPaletteError::NoPixels);
        }
        let points = histogram(pixels, options.sample.max(1));
        let colors = if points.len() <= k {
            separated(points.iter().map(|p| p.color), options.min_separation)
        } else {
            cluster(
                &points,
                k,
                options.iterations,
                options.min_separation,
                cancel,
            )?
        };
        Palette::from_colors(colors).map_err(|_| AutoPaletteError::NoPixels)
    }
}

/// Distinct colours of a strided sample, heaviest first (ties by colour, for determinism).
fn histogram(pixels: &[Rgb8], sample: usize) -> Vec<Point> {
    let stride = pixels.len().div_ceil(sample).max(1);
    let mut counts: HashMap<Rgb8, u32> = HashMap::new();
    for color in pixels.iter().step_by(stride) {
        *counts.entry(*color).or_insert(0) += 1;
    }
    let mut points: Vec<Point> = counts
        .into_iter()
        .map(|(color, count)| Point {
            color,
            lab: srgb_to_oklab(color.to_unit()),
            weight: f64::from(count),
        })
        .collect();
    points.sort_by(|a, b| {
        b.weight
            .total_cmp(&a.weight)
            .then_with(|| a.color.0.cmp(&b.color.0))
    });
    points
}

fn distance2(a: [f32; 3], b: [f32; 3]) -> f32 {
    let d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
}

/// Weighted Lloyd k-means over `points` (more than `k` of them), returning at most `k`
/// distinct colours, heaviest cluster first.
fn cluster(
    points: &[Point],
    k: usize,
    iterations: u32,
    min_separation: f32,
    cancel: &CancelToken,
) -> Result<Vec<Rgb8>, AutoPaletteError> {
    // Greedy seeding: heaviest colour, then the largest weight × squared distance.
    let mut centroids: Vec<[f32; 3]> = vec![points[0].lab];
    let mut closest: Vec<f32> = points
        .iter()
        .map(|p| distance2(p.lab, points[0].lab))
        .collect();
    while centroids.len() < k {
        let (index, score) = points
            .iter()
            .zip(&closest)
            .enumerate()
            .filter(|(_, (_, d))| **d >= min_separation * min_separation)
            .map(|(i, (p, d))| (i, p.weight * f64::from(*d)))
            .fold(
                (0, -1.0),
                |best, item| if item.1 > best.1 { item } else { best },
            );
        if score <= 0.0 {
            break;
        }
        let lab = points[index].lab;
        centroids.push(lab);
        for (distance, point) in closest.iter_mut().zip(points) {
            *distance = distance.min(distance2(point.lab, lab));
        }
    }

    let mut assignment = vec![usize::MAX; points.len()];
    for _ in 0..iterations.max(1) {
        if cancel.is_cancelled() {
            return Err(AutoPaletteError::Cancelled);
        }
        let mut changed = false;
        for (slot, point) in assignment.iter_mut().zip(points) {
            let index = nearest_oklab(&centroids, point.lab);
            if *slot != index {
                *slot = index;
                changed = true;
            }
        }
        if !changed {
            break;
        }
        let mut sums = vec![[0f64; 4]; centroids.len()];
        for (index, point) in assignment.iter().zip(points) {
            let sum = &mut sums[*index];
            for (total, value) in sum.iter_mut().zip(point.lab) {
                *total += point.weight * f64::from(value);
            }
            sum[3] += point.weight;
        }
        for (centroid, sum) in centroids.iter_mut().zip(&sums) {
            if sum[3] > 0.0 {
                *centroid = [
                    (sum[0] / sum[3]) as f32,
                    (sum[1] / sum[3]) as f32,
                    (sum[2] / sum[3]) as f32,
                ];
            }
        }
    }
    if cancel.is_cancelled() {
        return Err(AutoPaletteError::Cancelled);
    }

    // Final assignment against the final centroids, then one colour per non-empty cluster.
    let mut clusters: Vec<(f64, Option<(f64, Rgb8)>)> = vec![(0.0, None); centroids.len()];
    for point in points {
        let cluster = &mut clusters[nearest_oklab(&centroids, point.lab)];
        cluster.0 += point.weight;
        // Points are sorted heaviest first, so the first member seen is the heaviest.
        if cluster.1.is_none() {
            cluster.1 = Some((point.weight, point.color));
        }
    }
    let mut chosen: Vec<(f64, Rgb8)> = clusters
        .iter()
        .zip(&centroids)
        .filter_map(|((weight, heaviest), centroid)| {
            let (heaviest_weight, heaviest_color) = (*heaviest)?;
            let color = if heaviest_weight >= DOMINANT_SHARE * weight {
                heaviest_color
            } else {
                Rgb8::from_unit(oklab_to_srgb(*centroid))
            };
            Some((*weight, color))
        })
        .collect();
    chosen.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1 .0.cmp(&b.1 .0)));
    Ok(separated(
        chosen.into_iter().map(|(_, color)| color),
        min_separation,
    ))
}

/// Keeps each colour (heaviest first) unless it is within `min_separation` of one kept.
fn separated(colors: impl Iterator<Item = Rgb8>, min_separation: f32) -> Vec<Rgb8> {
    let mut kept: Vec<(Rgb8, [f32; 3])> = Vec::new();
    for color in colors {
        let lab = srgb_to_oklab(color.to_unit());
        let distinct = kept
            .iter()
            .all(|(_, other)| distance2(*other, lab) >= min_separation * min_separation);
        if distinct {
            kept.push((color, lab));
        }
    }
    kept.into_iter().map(|(color, _)| color).collect()
}

/// A just-noticeable difference in OKLab (Euclidean distance).
pub const JND: f32 = 0.02;

/// A label "covers a real area" when it holds at least this share of the drawn pixels.
const REAL_AREA_SHARE: f64 = 0.005;

/// Colours closer than this (OKLab, three quarters of a just-noticeable difference) are one ink
/// to the eye whatever their areas.
pub const SAME_INK: f32 = 0.75 * JND;

/// After labelling with an automatic palette: a colour closer than a just-noticeable
/// difference to a colour that covers more is merged into it unless both cover a real area
/// (at least [`REAL_AREA_SHARE`] of the drawn pixels) and are at least [`SAME_INK`] apart.
/// Without it, colours k-means kept for a few anti-aliased pixels (`#1e5ac8`, `#215ece`,
/// `#205dc6`) all reach the SVG; and two real inks that no eye tells apart (an outline emoji's
/// `#45413c` and `#47433b`, 0.008 apart) interleave in specks along every edge they share,
/// most of all at phase 2's 4x (quick benchmark: half-size flat icons 0.90x VTracer's bytes
/// instead of 1.68x, flags 0.72x instead of 0.94x). Returns how many pixels changed.
pub fn merge_near_duplicates(labels: &mut [u8], drawn: &[bool], palette: &Palette) -> usize {
    let mut areas = vec![0usize; palette.len()];
    let mut total = 0usize;
    for (label, drawn) in labels.iter().zip(drawn) {
        if *drawn {
            if let Some(area) = areas.get_mut(usize::from(*label)) {
                *area += 1;
                total += 1;
            }
        }
    }
    let real = (total as f64 * REAL_AREA_SHARE).ceil() as usize;
    let labs: Vec<[f32; 3]> = palette
        .colors()
        .iter()
        .map(|color| srgb_to_oklab(color.to_unit()))
        .collect();
    // Smallest first, each into the largest close colour that covers more.
    let mut order: Vec<usize> = (0..palette.len()).filter(|l| areas[*l] > 0).collect();
    order.sort_by_key(|label| (areas[*label], *label));
    let mut target: Vec<u8> = (0..palette.len() as u8).collect();
    for &small in &order {
        let best = order
            .iter()
            .copied()
            .filter(|other| {
                *other != small
                    && target[*other] as usize == *other
                    && areas[*other] >= areas[small]
                    && (!(areas[small] >= real && areas[*other] >= real)
                        || distance(labs[small], labs[*other]) < SAME_INK)
                    && distance(labs[small], labs[*other]) < JND
            })
            .max_by_key(|other| (areas[*other], std::cmp::Reverse(*other)));
        if let Some(best) = best {
            target[small] = best as u8;
            areas[best] += areas[small];
            areas[small] = 0;
        }
    }
    let mut changed = 0;
    for label in labels.iter_mut() {
        let mut to = target[usize::from(*label).min(target.len() - 1)];
        // Follow chains (a merged into b, b later merged into c).
        while target[usize::from(to)] != to {
            to = target[usize::from(to)];
        }
        if usize::from(*label) < target.len() && to != *label {
            *label = to;
            changed += 1;
        }
    }
    changed
}

/// A drawn pixel is a detail pixel when it is at least this far (OKLab) from every palette
/// colour and from every blend of two of them: about five just-noticeable differences. A
/// JPEG's 8-colour gradient bands stay within about half of this of their nearest colour,
/// and anti-aliased edges lie on the blend of the colours either side.
pub const DETAIL_DISTANCE: f32 = 0.1;

/// Detail pixels must number at least this share of the drawn pixels (and
/// [`DETAIL_MIN_PIXELS`]) before they get a colour of their own.
const DETAIL_SHARE: f64 = 0.0004;

/// The fewest detail pixels that get a colour of their own.
const DETAIL_MIN_PIXELS: usize = 6;

/// Colours added (or swapped in) for details, at most.
const DETAIL_COLORS: usize = 2;

/// Small features a weighted k-means leaves without a colour: the eyes and mouth of a
/// 128 px emoji are a few dozen pixels, and k-means spends its colours on the bands of the
/// gradients around them (which cover thousands), so the face traces blank. `pixels` are all
/// drawn pixels (the clean plate's for lossy input). Pixels far from every palette colour and
/// from every blend of two ([`DETAIL_DISTANCE`]) that are numerous enough
/// ([`DETAIL_SHARE`], [`DETAIL_MIN_PIXELS`]) get a colour: added while the palette is under
/// `max_colors`, else swapped for the colour whose pixels lose least by moving to their next
/// nearest colour. At most [`DETAIL_COLORS`] rounds; deterministic.
pub fn with_detail_colors(
    palette: Palette,
    pixels: &[Rgb8],
    max_colors: u8,
    sample: usize,
) -> Palette {
    let stride = pixels.len().div_ceil(sample.max(1)).max(1);
    let sampled: Vec<[f32; 3]> = pixels
        .iter()
        .step_by(stride)
        .map(|color| srgb_to_oklab(color.to_unit()))
        .collect();
    let needed = ((sampled.len() as f64 * DETAIL_SHARE).ceil() as usize).max(DETAIL_MIN_PIXELS);
    let mut palette = palette;
    for _ in 0..DETAIL_COLORS {
        let labs: Vec<[f32; 3]> = palette
            .colors()
            .iter()
            .map(|color| srgb_to_oklab(color.to_unit()))
            .collect();
        let far = |lab: [f32; 3]| {
            labs.iter().all(|c| distance(lab, *c) >= DETAIL_DISTANCE)
                && (0..labs.len()).all(|i| {
                    (i + 1..labs.len()).all(|j| {
                        distance(lab, nearest_on_segment(lab, labs[i], labs[j]).0)
                            >= DETAIL_DISTANCE
                    })
                })
        };
        let outliers: Vec<Rgb8> = sampled
            .iter()
            .filter(|lab| far(**lab))
            .map(|lab| Rgb8::from_unit(oklab_to_srgb(*lab)))
            .collect();
        if outliers.len() < needed {
            break;
        }
        let points = histogram(&outliers, outliers.len());
        let detail = if points.len() == 1 {
            points[0].color
        } else {
            match cluster(&points, 1, 8, 0.0, &CancelToken::new()) {
                Ok(colors) if !colors.is_empty() => colors[0],
                _ => break,
            }
        };
        let mut colors = palette.colors().to_vec();
        if colors.contains(&detail) {
            break;
        }
        if colors.len() >= usize::from(max_colors) {
            // The colour whose pixels lose least (squared distance) moving to their next
            // nearest colour; ties to the later (smaller) colour.
            let mut cost = vec![0f64; labs.len()];
            for lab in &sampled {
                let mut order: Vec<(f32, usize)> = labs
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (distance2(*c, *lab), i))
                    .collect();
                order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                if order.len() > 1 {
                    cost[order[0].1] += f64::from(order[1].0 - order[0].0);
                }
            }
            let cheapest = (0..cost.len())
                .rev()
                .min_by(|a, b| cost[*a].total_cmp(&cost[*b]))
                .unwrap_or(colors.len() - 1);
            colors.remove(cheapest);
        }
        colors.push(detail);
        match Palette::from_colors(colors) {
            Ok(next) => palette = next,
            Err(_) => break,
        }
    }
    palette
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(max_colors: u8) -> AutoPaletteOptions {
        AutoPaletteOptions {
            max_colors,
            min_separation: MIN_SEPARATION,
            iterations: 24,
            sample: 65536,
        }
    }

    #[test]
    fn few_colours_are_kept_exactly_heaviest_first() {
        let mut pixels = vec![Rgb8([255, 0, 0]); 10];
        pixels.extend(vec![Rgb8([0, 0, 255]); 30]);
        let palette = Palette::automatic(&pixels, &options(16), &CancelToken::new()).unwrap();
        assert_eq!(palette.hex_list(), vec!["#0000ff", "#ff0000"]);
    }

    #[test]
    fn clusters_to_at_most_max_colors_and_is_deterministic() {
        let pixels: Vec<Rgb8> = (0..20_000u32)
            .map(|i| {
                Rgb8([
                    (i % 256) as u8,
                    ((i / 7) % 256) as u8,
                    ((i / 91) % 256) as u8,
                ])
            })
            .collect();
        let first = Palette::automatic(&pixels, &options(8), &CancelToken::new()).unwrap();
        let second = Palette::automatic(&pixels, &options(8), &CancelToken::new()).unwrap();
        assert!(first.len() <= 8 && first.len() >= 4, "{first:?}");
        assert_eq!(first, second);
    }

    #[test]
    fn flat_colours_survive_anti_aliased_edges() {
        // Two flat colours with a ramp of edge colours between them.
        let mut pixels = vec![Rgb8([200, 30, 30]); 5000];
        pixels.extend(vec![Rgb8([20, 20, 220]); 5000]);
        for step in 1..40u8 {
            let t = f32::from(step) / 40.0;
            let mix = |a: u8, b: u8| (f32::from(a) * (1.0 - t) + f32::from(b) * t) as u8;
            pixels.push(Rgb8([mix(200, 20), mix(30, 20), mix(30, 220)]));
        }
        let palette = Palette::automatic(&pixels, &options(2), &CancelToken::new()).unwrap();
        let mut hex = palette.hex_list();
        hex.sort();
        assert_eq!(hex, vec!["#1414dc", "#c81e1e"]);
    }

    #[test]
    fn near_duplicate_colours_are_not_separate_entries() {
        let mut pixels = Vec::new();
        for shade in 0..40u8 {
            pixels.extend(vec![Rgb8([250 - shade % 4, 245, 230]); 50]);
            pixels.extend(vec![Rgb8([30, 40, 120 + shade % 3]); 50]);
        }
        let palette = Palette::automatic(&pixels, &options(16), &CancelToken::new()).unwrap();
        assert_eq!(palette.len(), 2, "{palette:?}");
    }

    #[test]
    fn cancelled_token_stops_clustering() {
        let pixels: Vec<Rgb8> = (0..5000u32)
            .map(|i| Rgb8([(i % 256) as u8, (i / 256) as u8, 7]))
            .collect();
        let cancel = CancelToken::new();
        cancel.cancel();
        assert_eq!(
            Palette::automatic(&pixels, &options(4), &cancel),
            Err(AutoPaletteError::Cancelled)
        );
    }

    #[test]
    fn empty_input_and_bad_counts_are_refused() {
        assert_eq!(
            Palette::automatic(&[], &options(4), &CancelToken::new()),
            Err(AutoPaletteError::NoPixels)
        );
        assert_eq!(
            Palette::automatic(&[Rgb8([0, 0, 0])], &options(0), &CancelToken::new()),
            Err(AutoPaletteError::BadMaxColors(0))
        );
    }

    #[test]
    fn a_near_duplicate_with_a_few_pixels_merges_into_its_heavy_twin() {
        // #1e5ac8 covers 995 pixels, #205dc6 (0.009 away) 5, under the real-area share of
        // 0.5 % of 2000; a distinct red 1000.
        let palette = Palette::from_hex(&["1e5ac8", "205dc6", "ff0000"]).unwrap();
        let mut labels = vec![0u8; 995];
        labels.extend([1u8; 5]);
        labels.extend([2u8; 1000]);
        let drawn = vec![true; labels.len()];
        assert_eq!(merge_near_duplicates(&mut labels, &drawn, &palette), 5);
        assert!(labels[..1000].iter().all(|l| *l == 0));
        assert!(labels[1000..].iter().all(|l| *l == 2));
    }

    #[test]
    fn near_colours_that_both_cover_real_areas_stay() {
        // 0.018 apart: under a just-noticeable difference, not under `SAME_INK`.
        let palette = Palette::from_hex(&["1e5ac8", "1a55c0"]).unwrap();
        let mut labels = vec![0u8; 500];
        labels.extend([1u8; 500]);
        let drawn = vec![true; labels.len()];
        assert_eq!(merge_near_duplicates(&mut labels, &drawn, &palette), 0);
    }

    #[test]
    fn twins_no_eye_tells_apart_merge_whatever_their_areas() {
        // 0.009 apart, both real areas: one ink (the larger keeps its pixels).
        let palette = Palette::from_hex(&["1e5ac8", "205dc6"]).unwrap();
        let mut labels = vec![0u8; 400];
        labels.extend([1u8; 600]);
        let drawn = vec![true; labels.len()];
        assert_eq!(merge_near_duplicates(&mut labels, &drawn, &palette), 400);
        assert!(labels.iter().all(|l| *l == 1));
    }

    /// A skin gradient of many shades (60,000 pixels) and a pair of dark eyes (30).
    fn face_with_eyes() -> Vec<Rgb8> {
        let mut pixels: Vec<Rgb8> = (0..60_000u32)
            .map(|i| {
                let t = (i % 120) as u8;
                Rgb8([250 - t, 210 - t, 180 - t])
            })
            .collect();
        pixels.extend(vec![Rgb8([40, 20, 30]); 30]);
        pixels
    }

    fn nearest_distance(palette: &Palette, color: Rgb8) -> f32 {
        let lab = srgb_to_oklab(color.to_unit());
        palette
            .colors()
            .iter()
            .map(|c| distance(srgb_to_oklab(c.to_unit()), lab))
            .fold(f32::INFINITY, f32::min)
    }

    #[test]
    fn small_dark_features_get_a_colour_of_their_own() {
        let pixels = face_with_eyes();
        let eyes = Rgb8([40, 20, 30]);
        let clustered = Palette::automatic(&pixels, &options(3), &CancelToken::new()).unwrap();
        assert!(
            nearest_distance(&clustered, eyes) > DETAIL_DISTANCE,
            "the clustering alone spends every colour on the gradient: {clustered:?}"
        );
        let detailed = with_detail_colors(clustered.clone(), &pixels, 3, 65536);
        assert_eq!(detailed.len(), 3, "the palette stays within max_colors");
        assert!(nearest_distance(&detailed, eyes) < JND, "{detailed:?}");
        // With room to spare, the detail colour is added and every other colour kept.
        let added = with_detail_colors(clustered.clone(), &pixels, 8, 65536);
        assert_eq!(added.len(), clustered.len() + 1);
        assert!(clustered
            .colors()
            .iter()
            .all(|c| added.colors().contains(c)));
    }

    #[test]
    fn anti_aliased_blends_and_a_few_stray_pixels_get_no_colour() {
        let (red, blue) = (Rgb8([220, 30, 40]), Rgb8([30, 60, 220]));
        let mut pixels = vec![red; 5000];
        pixels.extend(vec![blue; 5000]);
        // Edge pixels: blends of red and blue at several coverages.
        for t in 1..10u16 {
            let mix = |a: u8, b: u8| ((u16::from(a) * (10 - t) + u16::from(b) * t) / 10) as u8;
            pixels.extend(vec![Rgb8([mix(220, 30), mix(30, 60), mix(40, 220)]); 40]);
        }
        // Five green pixels: too few to be a feature.
        pixels.extend(vec![Rgb8([20, 200, 40]); 5]);
        let palette = Palette::from_colors(vec![red, blue]).unwrap();
        assert_eq!(
            with_detail_colors(palette.clone(), &pixels, 8, 65536),
            palette
        );
    }
}
