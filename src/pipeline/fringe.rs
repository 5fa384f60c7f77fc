//! Anti-aliasing fringes: thin bands of a third palette colour along the edge between two
//! regions, which nearest-colour quantisation produces where the input blends the two.
//!
//! Traced, such a band becomes a ring around the shape that the input never had (and costs a
//! path); rendered, the SVG's own anti-aliasing already reproduces the blend. So after phase
//! 3, a pixel is moved to a neighbouring region when three things hold: it belongs to a thin
//! region (at most a quarter of its pixels are interior), its colour in the image that was
//! quantised lies between the colours of the two regions either side (close to the segment
//! joining them in OKLab), and it is nearer to the side it moves to. A thin line drawn on purpose
//! (a dark outline on a light field) is not between its neighbours and stays. Transparent
//! pixels are never a destination; labels stay palette indices.

use crate::pipeline::model::PlanarImage;
use crate::pipeline::palette::srgb_to_oklab;

/// A region is thin when its interior pixels (all four neighbours in the region) are at most
/// this share of it: a one- or two-pixel band has none.
const THIN_INTERIOR_SHARE: f64 = 0.25;

/// How far (relative to the distance between the two sides) a pixel's colour may lie from the
/// segment joining them and still count as a blend of the two.
const BLEND_TOLERANCE: f32 = 0.25;

/// The fringe band is at most this many pixels wide on each side of a pixel.
const REACH: usize = 2;

/// Moves fringe pixels of `labels` (unpadded, `width × height`) into the neighbouring region
/// they blend into. `image` is the padded image the labels were quantised from; `opaque`
/// marks drawn pixels. Returns how many pixels moved.
pub fn merge_fringes(
    labels: &mut [u8],
    opaque: &[bool],
    image: &PlanarImage,
    width: usize,
    height: usize,
) -> usize {
    let stride = image.width as usize;
    // OKLab is computed only for the pixels looked at: thin pixels and their near neighbours.
    let mut lab_cache: Vec<Option<[f32; 3]>> = vec![None; labels.len()];
    let mut lab = |index: usize| -> [f32; 3] {
        *lab_cache[index].get_or_insert_with(|| {
            srgb_to_oklab(image.pixel((index / width) * stride + index % width))
        })
    };
    let thin = thin_pixels(labels, opaque, width, height);
    let original = labels.to_vec();
    let mut moved = 0;
    for index in 0..labels.len() {
        if !thin[index] {
            continue;
        }
        let own = original[index];
        let (x, y) = (index % width, index / width);
        // Up to two other labels seen along the four directions within REACH, with the colour
        // of the first pixel of each (the far side of the band).
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
                    None => sides.push((label, lab(neighbour), 1)),
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
    moved
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
            let ab = sub(*b, *a);
            let length2 = dot(ab, ab);
            if length2 < 1e-6 {
                return None;
            }
            let t = (dot(sub(color, *a), ab) / length2).clamp(0.0, 1.0);
            let closest = [a[0] + ab[0] * t, a[1] + ab[1] * t, a[2] + ab[2] * t];
            if distance(color, closest) > BLEND_TOLERANCE * length2.sqrt() {
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

/// Pixels of thin 4-connected same-label regions.
fn thin_pixels(labels: &[u8], opaque: &[bool], width: usize, height: usize) -> Vec<bool> {
    let mut thin = vec![false; labels.len()];
    let mut visited = vec![false; labels.len()];
    let mut stack = Vec::new();
    let mut members = Vec::new();
    for start in 0..labels.len() {
        if visited[start] || !opaque[start] {
            continue;
        }
        let label = labels[start];
        members.clear();
        stack.push(start);
        visited[start] = true;
        let mut interior = 0usize;
        while let Some(index) = stack.pop() {
            members.push(index);
            let (x, y) = (index % width, index / width);
            let mut same = 0;
            let neighbours = [
                (x > 0).then(|| index - 1),
                (x + 1 < width).then(|| index + 1),
                (y > 0).then(|| index - width),
                (y + 1 < height).then(|| index + width),
            ];
            for neighbour in neighbours.into_iter().flatten() {
                if opaque[neighbour] && labels[neighbour] == label {
                    same += 1;
                    if !visited[neighbour] {
                        visited[neighbour] = true;
                        stack.push(neighbour);
                    }
                }
            }
            if same == 4 {
                interior += 1;
            }
        }
        if (interior as f64) <= THIN_INTERIOR_SHARE * members.len() as f64 {
            for index in &members {
                thin[*index] = true;
            }
        }
    }
    thin
}

fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn distance(a: [f32; 3], b: [f32; 3]) -> f32 {
    dot(sub(a, b), sub(a, b)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let moved = merge_fringes(&mut labels, &[true; 7], &image, 7, 1);
        assert_eq!(moved, 1);
        assert_eq!(labels, vec![0, 0, 0, 0, 1, 1, 1]);
    }

    #[test]
    fn a_dark_line_on_a_light_field_stays() {
        let white = [1.0, 1.0, 1.0];
        let image = image(&[white, white, [0.0, 0.0, 0.0], white, white]);
        let mut labels = vec![0, 0, 1, 0, 0];
        assert_eq!(merge_fringes(&mut labels, &[true; 5], &image, 5, 1), 0);
        assert_eq!(labels, vec![0, 0, 1, 0, 0]);
    }

    #[test]
    fn a_fringe_against_transparency_joins_the_drawn_side() {
        let white = [1.0, 1.0, 1.0];
        let pink = [1.0, 0.6, 0.6];
        let image = image(&[white, white, pink, RED, RED, RED]);
        let mut labels = vec![0, 0, 2, 1, 1, 1];
        let opaque = [false, false, true, true, true, true];
        merge_fringes(&mut labels, &opaque, &image, 6, 1);
        assert_eq!(labels[2], 1);
    }
}
