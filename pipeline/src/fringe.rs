//! Label clean-up after phase 3, in two steps, both keeping labels palette indices.
//!
//! [`vote_flat_regions`]: every flat region of the input (exactly one colour before phase 1)
//! gets one label, its majority, so the clean plate's small colour shifts near edges cannot
//! split it between two palette colours.
//!
//! [`merge_fringes`]: anti-aliasing fringes, thin bands of a third palette colour along the
//! edge between two regions, which nearest-colour quantisation produces where the input blends
//! the two.
//!
//! Traced, such a band becomes a ring around the shape that the input never had (and costs a
//! path); rendered, the SVG's own anti-aliasing already reproduces the blend. So after phase
//! 3, a pixel is moved to a neighbouring region when three things hold: it belongs to a thin
//! region (at most a quarter of its pixels are interior), its colour in the image that was
//! quantised lies between the colours of the two regions either side (close to the segment
//! joining them in OKLab), and it is nearer to the side it moves to. A thin line drawn on purpose
//! (a dark outline on a light field) is not between its neighbours and stays. Transparent
//! pixels are never a destination; labels stay palette indices.

use crate::components::{neighbours, Flood};
use crate::model::PlanarImage;
use crate::palette::{nearest_on_segment, oklab_distance as distance, srgb_to_oklab};

/// A region is thin when its interior pixels (all four neighbours in the region) are at most
/// this share of it: a one- or two-pixel band has none.
const THIN_INTERIOR_SHARE: f64 = 0.25;

/// How far (relative to the distance between the two sides) a pixel's colour may lie from the
/// segment joining them and still count as a blend of the two.
const BLEND_TOLERANCE: f32 = 0.25;

/// The fringe band is at most this many pixels wide on each side of a pixel.
const REACH: usize = 2;

/// Moves fringe pixels of `labels` (unpadded, `width × height`) into the neighbouring region
/// they blend into, and with `rims` (artwork, not photos) resampling rims into the shape they
/// line ([`merge_rims`]). `image` is the padded image the labels were quantised from;
/// `opaque` marks drawn pixels. Returns how many pixels moved.
pub fn merge_fringes(
    labels: &mut [u8],
    opaque: &[bool],
    image: &PlanarImage,
    width: usize,
    height: usize,
    rims: bool,
) -> usize {
    let stride = image.width as usize;
    // OKLab is computed only for the pixels looked at: thin pixels and their near neighbours.
    let mut lab_cache: Vec<Option<[f32; 3]>> = vec![None; labels.len()];
    let mut lab = |index: usize| -> [f32; 3] {
        *lab_cache[index].get_or_insert_with(|| {
            srgb_to_oklab(image.pixel((index / width) * stride + index % width))
        })
    };
    let regions = Regions::find(labels, opaque, image, width, height);
    let original = labels.to_vec();
    let mut moved = 0;
    for index in 0..labels.len() {
        if !regions.is_thin(index) {
            continue;
        }
        let own = original[index];
        let (x, y) = (index % width, index / width);
        // The other labels seen along the four directions within REACH, with the mean colour of
        // the region first met (transparency: the pixel's own composited colour).
        let mut sides: Vec<(Option<u8>, [f32; 3], u32)> = Vec::with_capacity(4);
        for (dx, dy) in [(-1i64, 0i64), (1, 0), (0, -1), (0, 1)] {
            for step in 1..=REACH as i64 {
                let nx = x as i64 + dx * step;
                let ny = y as i64 + dy * step;
                if nx < 0 || ny < 0 || nx >= width as i64 || ny >= height as i64 {
                    break;
                }
                let neighbour = ny as usize * width + nx as usize;
                let label = opaque[neighbour].then_some(original[neighbour]);
                if label == Some(own) {
                    continue;
                }
                match sides.iter_mut().find(|(l, _, _)| *l == label) {
                    Some(side) => side.2 += 1,
                    None => {
                        let color = regions.mean(neighbour).unwrap_or_else(|| lab(neighbour));
                        sides.push((label, color, 1));
                    }
                }
                break;
            }
        }
        sides.sort_by_key(|side| std::cmp::Reverse(side.2));
        let Some(target) = blend_target(lab(index), &sides) else {
            continue;
        };
        labels[index] = target;
        moved += 1;
    }
    if rims {
        moved += merge_rims(labels, &original, &regions, width, height);
    }
    moved
}

/// A thin region this close (OKLab, about three just-noticeable differences) to the region it
/// borders most is that region's resampling rim, not a line of its own.
const RIM_DISTANCE: f32 = 0.07;

/// The least share of a rim's contact with wide regions that is with the one it joins.
const RIM_CONTACT_SHARE: f64 = 0.75;

/// Rounds of [`merge_rims`]: pieces of a rim at most this many pieces away from the shape.
const RIM_ROUNDS: usize = 3;

/// Moves every thin region whose colour is within [`RIM_DISTANCE`] of the wide region it
/// borders most into that region, whole. Sharpening resamplers (Lanczos, bicubic) leave a
/// band one pixel wide, a little brighter or darker than the shape, just inside its edge
/// (most visibly against transparency, where the partly covered pixels keep the shape's
/// colour): it is not a blend between two sides, so the test above keeps it, and traced it
/// is a ring around the shape and a near colour of its own. Whole regions move, so no ring
/// is left in pieces. Returns how many pixels moved.
fn merge_rims(
    labels: &mut [u8],
    original: &[u8],
    regions: &Regions,
    width: usize,
    height: usize,
) -> usize {
    let count = regions.thin.len();
    // The wide region each thin region joins; a rim broken into pieces (at a curve's
    // diagonal steps) may touch the shape only through a neighbouring piece that joins it,
    // so this is settled in a few rounds.
    let mut target: Vec<Option<u32>> = vec![None; count];
    for _ in 0..RIM_ROUNDS {
        // Per thin region: (wide region, pixels of contact) of each bordering wide region or
        // piece that joins one.
        let mut contact: Vec<Vec<(u32, u32)>> = vec![Vec::new(); count];
        for (index, &region) in regions.id.iter().enumerate() {
            if region == u32::MAX
                || !regions.thin[region as usize]
                || target[region as usize].is_some()
            {
                continue;
            }
            for n in neighbours(index, width, height) {
                let other = regions.id[n];
                if other == u32::MAX || other == region {
                    continue;
                }
                let wide = if regions.thin[other as usize] {
                    match target[other as usize] {
                        Some(wide) => wide,
                        None => continue,
                    }
                } else {
                    other
                };
                let list = &mut contact[region as usize];
                match list.iter_mut().find(|(r, _)| *r == wide) {
                    Some(entry) => entry.1 += 1,
                    None => list.push((wide, 1)),
                }
            }
        }
        let mut joined = false;
        for (region, list) in contact.iter().enumerate() {
            let Some(&(wide, most)) = list.iter().max_by_key(|(r, n)| (*n, std::cmp::Reverse(*r)))
            else {
                continue;
            };
            // A rim lines one shape; a band between two (a quantised gradient's step) is
            // the blend test's to judge.
            let all: u32 = list.iter().map(|(_, n)| n).sum();
            if f64::from(most) >= RIM_CONTACT_SHARE * f64::from(all)
                && distance(regions.mean[region], regions.mean[wide as usize]) < RIM_DISTANCE
            {
                target[region] = Some(wide);
                joined = true;
            }
        }
        if !joined {
            break;
        }
    }
    // A wide region's label: that of any of its pixels.
    let mut wide_label: Vec<Option<u8>> = vec![None; count];
    for (index, &region) in regions.id.iter().enumerate() {
        if region != u32::MAX && wide_label[region as usize].is_none() {
            wide_label[region as usize] = Some(original[index]);
        }
    }
    let mut moved = 0;
    for (index, &region) in regions.id.iter().enumerate() {
        if region == u32::MAX {
            continue;
        }
        let Some(wide) = target[region as usize] else {
            continue;
        };
        let Some(label) = wide_label[wide as usize] else {
            continue;
        };
        if labels[index] != label {
            labels[index] = label;
            moved += 1;
        }
    }
    moved
}

/// Flat regions of at least this many pixels vote; smaller ones are left as quantised.
const MIN_VOTING_AREA: usize = 16;

/// Gives every flat region of the input one label: the most common label among its pixels.
///
/// A flat region is a 4-connected set of pixels of exactly the same colour in `original`, the
/// working image before phase 1 (flat artwork has large ones; a photo or a JPEG has almost
/// none, so this leaves them alone). The clean plate shifts colours by a level or two near
/// edges; where a region's colour lies close to the boundary between two palette colours,
/// that is enough to flip a band along its edge to the other colour, and the region comes out
/// in two colours that the input never had. The vote puts it back to one. Returns how many
/// pixels changed.
pub fn vote_flat_regions(
    labels: &mut [u8],
    opaque: &[bool],
    original: &PlanarImage,
    width: usize,
    height: usize,
) -> usize {
    let stride = original.width as usize;
    let color = |index: usize| original.pixel((index / width) * stride + index % width);
    let mut flood = Flood::new(width, height);
    let mut changed = 0;
    for start in 0..labels.len() {
        if flood.is_visited(start) || !opaque[start] {
            continue;
        }
        let region_color = color(start);
        let members = flood
            .fill(start, |n| opaque[n] && color(n) == region_color)
            .members;
        if members.len() < MIN_VOTING_AREA {
            continue;
        }
        let mut counts = [0u32; 256];
        for index in members {
            counts[usize::from(labels[*index])] += 1;
        }
        let winner = (0..256)
            .max_by_key(|label| (counts[*label], std::cmp::Reverse(*label)))
            .unwrap_or(0) as u8;
        for index in members {
            if labels[*index] != winner {
                labels[*index] = winner;
                changed += 1;
            }
        }
    }
    changed
}

/// A 3×3 majority filter over the drawn pixels, `passes` times: a pixel takes the label held
/// by at least five of the nine pixels of its window (drawn ones only) when that is not its
/// own. Used on noisy input only (JPEG uploads): compression rings and blocks leave one-pixel
/// bands and notches of stray labels along every edge, which trace as hairline rings and
/// jagged outlines; real one-pixel details of clean artwork are never filtered. Returns how
/// many pixels changed.
///
/// With `near`, a pixel only moves to a label whose colour (OKLab, indexed by label) is
/// within `near.1` of its own: the bands of a quantised gradient, whose neighbours differ by
/// one palette step and whose edges are ragged with pixel noise, are smoothed, while a thin
/// dark line on a light field, far from both, stays.
pub fn majority_filter(
    labels: &mut [u8],
    drawn: &[bool],
    width: usize,
    height: usize,
    passes: usize,
    near: Option<(&[[f32; 3]], f32)>,
) -> usize {
    let mut changed = 0;
    let mut previous = labels.to_vec();
    // Per column of the row being filtered: the pixel and those above and below it are
    // drawn with one label (all false on the first and last rows).
    let mut column = vec![false; width];
    for _ in 0..passes {
        previous.copy_from_slice(labels);
        let mut changed_this_pass = 0;
        for y in 0..height {
            column.fill(false);
            if y > 0 && y + 1 < height {
                let (above, row, below) = ((y - 1) * width, y * width, (y + 1) * width);
                for (x, same) in column.iter_mut().enumerate() {
                    let own = previous[row + x];
                    *same = drawn[above + x]
                        & drawn[row + x]
                        & drawn[below + x]
                        & (previous[above + x] == own)
                        & (previous[below + x] == own);
                }
            }
            for x in 0..width {
                let index = y * width + x;
                if !drawn[index] {
                    continue;
                }
                // Inside a drawn 3×3 block of one label: nothing to vote on.
                if x > 0
                    && x + 1 < width
                    && column[x - 1]
                    && column[x]
                    && column[x + 1]
                    && previous[index - 1] == previous[index]
                    && previous[index + 1] == previous[index]
                {
                    continue;
                }
                // A pixel whose drawn neighbours all share its label keeps it.
                let own = previous[index];
                let (x0, x1) = (x.saturating_sub(1), (x + 1).min(width - 1));
                let (y0, y1) = (y.saturating_sub(1), (y + 1).min(height - 1));
                if (y0..=y1).all(|ny| {
                    let row = ny * width;
                    (row + x0..=row + x1).all(|n| previous[n] == own || !drawn[n])
                }) {
                    continue;
                }
                let mut counts: [(u8, u8); 9] = [(0, 0); 9];
                let mut distinct = 0;
                for ny in y.saturating_sub(1)..=(y + 1).min(height - 1) {
                    for nx in x.saturating_sub(1)..=(x + 1).min(width - 1) {
                        let neighbour = ny * width + nx;
                        if !drawn[neighbour] {
                            continue;
                        }
                        let label = previous[neighbour];
                        match counts[..distinct].iter_mut().find(|(l, _)| *l == label) {
                            Some((_, count)) => *count += 1,
                            None => {
                                counts[distinct] = (label, 1);
                                distinct += 1;
                            }
                        }
                    }
                }
                if let Some((label, _)) = counts[..distinct].iter().find(|(_, count)| *count >= 5) {
                    let close = near.is_none_or(|(colors, limit)| {
                        let own = colors[usize::from(labels[index])];
                        distance(own, colors[usize::from(*label)]) <= limit
                    });
                    if *label != labels[index] && close {
                        labels[index] = *label;
                        changed_this_pass += 1;
                    }
                }
            }
        }
        changed += changed_this_pass;
        if changed_this_pass == 0 {
            break;
        }
    }
    changed
}

/// The label a pixel of colour `color` should move to, given the sides around it (label or
/// transparency, colour, hits), heaviest first.
fn blend_target(color: [f32; 3], sides: &[(Option<u8>, [f32; 3], u32)]) -> Option<u8> {
    match sides {
        [] => None,
        // One side only: a band between a region and ... itself; keep it unless the pixel is
        // no different from that side (then it is noise in the region).
        [(label, side, _)] => {
            let label = (*label)?;
            (distance(color, *side) < 0.02).then_some(label)
        }
        [(label_a, a, _), (label_b, b, _), ..] => {
            let length = distance(*a, *b);
            if length < 1e-3 {
                return None;
            }
            let (closest, t) = nearest_on_segment(color, *a, *b);
            if distance(color, closest) > BLEND_TOLERANCE * length {
                return None;
            }
            // Transparency is never a destination: the pixel goes to the drawn side.
            match (label_a, label_b) {
                (Some(a), Some(b)) => Some(if t < 0.5 { *a } else { *b }),
                (Some(a), None) => Some(*a),
                (None, Some(b)) => Some(*b),
                (None, None) => None,
            }
        }
    }
}

/// The 4-connected same-label regions of the drawn pixels: which are thin, and their mean
/// colour (the OKLab of their mean sRGB colour in the quantised image).
struct Regions {
    /// Region of each pixel; `u32::MAX` for transparent pixels.
    id: Vec<u32>,
    thin: Vec<bool>,
    mean: Vec<[f32; 3]>,
}

impl Regions {
    fn find(
        labels: &[u8],
        opaque: &[bool],
        image: &PlanarImage,
        width: usize,
        height: usize,
    ) -> Self {
        let stride = image.width as usize;
        let mut id = vec![u32::MAX; labels.len()];
        let mut thin = Vec::new();
        let mut mean = Vec::new();
        let mut flood = Flood::new(width, height);
        for start in 0..labels.len() {
            if flood.is_visited(start) || !opaque[start] {
                continue;
            }
            let region = thin.len() as u32;
            let label = labels[start];
            let same = |n: usize| opaque[n] && labels[n] == label;
            let members = flood.fill(start, same).members;
            let mut interior = 0usize;
            let mut sum = [0f64; 3];
            // In the order the fill reached them, so the colour sums are reproducible.
            for index in members {
                id[*index] = region;
                let color = image.pixel((index / width) * stride + index % width);
                for (total, value) in sum.iter_mut().zip(color) {
                    *total += f64::from(value);
                }
                if neighbours(*index, width, height)
                    .filter(|n| same(*n))
                    .count()
                    == 4
                {
                    interior += 1;
                }
            }
            thin.push((interior as f64) <= THIN_INTERIOR_SHARE * members.len() as f64);
            mean.push(srgb_to_oklab(
                sum.map(|total| (total / members.len() as f64) as f32),
            ));
        }
        Self { id, thin, mean }
    }

    fn is_thin(&self, index: usize) -> bool {
        let region = self.id[index];
        region != u32::MAX && self.thin[region as usize]
    }

    fn mean(&self, index: usize) -> Option<[f32; 3]> {
        let region = self.id[index];
        (region != u32::MAX).then(|| self.mean[region as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_region_split_by_the_clean_plate_gets_its_majority_label() {
        // 20 identical pixels in the original, quantised as 14 × label 1 and 6 × label 2.
        let image = image(&[[0.5, 0.5, 0.5]; 20]);
        let mut labels: Vec<u8> = (0..20)
            .map(|i| if (3..17).contains(&i) { 1 } else { 2 })
            .collect();
        assert_eq!(
            vote_flat_regions(&mut labels, &[true; 20], &image, 20, 1),
            6
        );
        assert!(labels.iter().all(|l| *l == 1));
        // Too small to vote.
        let small = image_of(8);
        let mut labels = vec![1, 1, 1, 1, 1, 2, 2, 2];
        assert_eq!(vote_flat_regions(&mut labels, &[true; 8], &small, 8, 1), 0);
    }

    fn image_of(width: usize) -> PlanarImage {
        image(&vec![[0.2, 0.3, 0.4]; width])
    }

    /// A one-row image from colours, padded to nothing.
    fn image(colors: &[[f32; 3]]) -> PlanarImage {
        let mut image = PlanarImage::zeros(colors.len() as u32, 1);
        for (x, color) in colors.iter().enumerate() {
            for (channel, value) in color.iter().enumerate() {
                image.data[channel * colors.len() + x] = *value;
            }
        }
        image
    }

    const RED: [f32; 3] = [1.0, 0.0, 0.0];
    const BLUE: [f32; 3] = [0.0, 0.0, 1.0];
    const BLEND: [f32; 3] = [0.6, 0.0, 0.4];

    #[test]
    fn a_blend_between_two_regions_joins_the_nearer_one() {
        // red red red blend blue blue blue, the blend labelled 2 (a third palette colour).
        let image = image(&[RED, RED, RED, BLEND, BLUE, BLUE, BLUE]);
        let mut labels = vec![0, 0, 0, 2, 1, 1, 1];
        let moved = merge_fringes(&mut labels, &[true; 7], &image, 7, 1, true);
        assert_eq!(moved, 1);
        assert_eq!(labels, vec![0, 0, 0, 0, 1, 1, 1]);
    }

    #[test]
    fn a_dark_line_on_a_light_field_stays() {
        let white = [1.0, 1.0, 1.0];
        let image = image(&[white, white, [0.0, 0.0, 0.0], white, white]);
        let mut labels = vec![0, 0, 1, 0, 0];
        assert_eq!(
            merge_fringes(&mut labels, &[true; 5], &image, 5, 1, true),
            0
        );
        assert_eq!(labels, vec![0, 0, 1, 0, 0]);
    }

    #[test]
    fn a_fringe_against_transparency_joins_the_drawn_side() {
        let white = [1.0, 1.0, 1.0];
        let pink = [1.0, 0.6, 0.6];
        let image = image(&[white, white, pink, RED, RED, RED]);
        let mut labels = vec![0, 0, 2, 1, 1, 1];
        let opaque = [false, false, true, true, true, true];
        merge_fringes(&mut labels, &opaque, &image, 6, 1, true);
        assert_eq!(labels[2], 1);
    }

    #[test]
    fn a_ringing_rim_inside_an_edge_joins_the_shape_whole() {
        // 9×7, transparent border; a 7×5 shape whose top and left edges carry a one-pixel
        // rim (label 2) a little brighter than its fill (label 1), as Lanczos leaves it.
        let green = [0.54, 0.79, 0.15];
        let rim = [0.58, 0.84, 0.16];
        let rows = [
            ".........",
            ".2222222.",
            ".2111111.",
            ".2111111.",
            ".2111111.",
            ".2111111.",
            ".........",
        ];
        let (width, height) = (9, 7);
        let mut labels = Vec::new();
        let mut opaque = Vec::new();
        let mut colors = Vec::new();
        for c in rows.iter().flat_map(|r| r.chars()) {
            labels.push(if c == '2' { 2 } else { 1 });
            opaque.push(c != '.');
            colors.push(if c == '2' { rim } else { green });
        }
        let mut image = PlanarImage::zeros(width as u32, height as u32);
        for (i, color) in colors.iter().enumerate() {
            for (channel, value) in color.iter().enumerate() {
                image.data[channel * width * height + i] = *value;
            }
        }
        let mut merged = labels.clone();
        assert_eq!(
            merge_fringes(&mut merged, &opaque, &image, width, height, true),
            11
        );
        assert!(merged.iter().zip(&opaque).all(|(l, o)| !o || *l == 1));
        // A contrasting line in the same place stays: it is drawn, not ringing.
        for (i, c) in rows.iter().flat_map(|r| r.chars()).enumerate() {
            if c == '2' {
                for channel in 0..3 {
                    image.data[channel * width * height + i] = 0.1;
                }
            }
        }
        let mut kept = labels.clone();
        assert_eq!(
            merge_fringes(&mut kept, &opaque, &image, width, height, true),
            0
        );
        assert_eq!(kept, labels);
    }

    #[test]
    fn the_majority_filter_removes_stray_pixels_and_keeps_edges_between_regions() {
        // 7×5: label 0 on the left, 1 on the right, two stray 2s inside the 0 region.
        let rows = ["0000111", "0200111", "0000111", "0002111", "0000111"];
        let mut labels: Vec<u8> = rows
            .iter()
            .flat_map(|r| r.bytes().map(|b| b - b'0'))
            .collect();
        let drawn = vec![true; labels.len()];
        assert_eq!(majority_filter(&mut labels, &drawn, 7, 5, 2, None), 2);
        assert!(!labels.contains(&2), "{labels:?}");
        // The edge between the two regions stays where it was.
        assert!(labels.chunks(7).all(|row| row == [0, 0, 0, 0, 1, 1, 1]));
    }

    #[test]
    fn the_near_colour_limit_keeps_a_contrasting_thin_line() {
        // A one-pixel dark line (2) across a light field (0), and a stray light-grey pixel (1).
        let rows = ["00000", "22222", "00000", "00100", "00000"];
        let mut labels: Vec<u8> = rows
            .iter()
            .flat_map(|r| r.bytes().map(|b| b - b'0'))
            .collect();
        let drawn = vec![true; labels.len()];
        let colors = [[1.0, 0.0, 0.0], [0.97, 0.0, 0.0], [0.2, 0.0, 0.0]];
        majority_filter(&mut labels, &drawn, 5, 5, 2, Some((&colors, 0.08)));
        assert_eq!(&labels[5..10], &[2, 2, 2, 2, 2]);
        assert_eq!(labels[17], 0);
    }
}
