//! The phase-2 IoU gate: how much a steered image's labels still agree with the clean plate's.
//!
//! The score is the frequency-weighted mean IoU: for every label of the clean plate, the
//! intersection over union of its pixels in both label maps, weighted by the label's share of
//! the clean plate. Only pixels inside `mask` count (the opaque pixels of the real image, not
//! padding), so drift into padding or transparency neither helps nor hurts. Identical maps
//! score 1; a steered map that shares nothing scores 0.

/// Frequency-weighted mean label IoU of `steered` against `reference` over the pixels where
/// `mask` is true. Both maps and the mask have the same length. With no counted pixels the
/// maps agree trivially and the score is 1.
pub fn weighted_iou(reference: &[u8], steered: &[u8], mask: &[bool]) -> f32 {
    debug_assert_eq!(reference.len(), steered.len());
    debug_assert_eq!(reference.len(), mask.len());
    let mut reference_area = [0u64; 256];
    let mut steered_area = [0u64; 256];
    let mut intersection = [0u64; 256];
    let mut total = 0u64;
    for ((a, b), counted) in reference.iter().zip(steered).zip(mask) {
        if !counted {
            continue;
        }
        total += 1;
        reference_area[usize::from(*a)] += 1;
        steered_area[usize::from(*b)] += 1;
        if a == b {
            intersection[usize::from(*a)] += 1;
        }
    }
    if total == 0 {
        return 1.0;
    }
    let mut score = 0f64;
    for label in 0..256 {
        let area = reference_area[label];
        if area == 0 {
            continue;
        }
        let union = area + steered_area[label] - intersection[label];
        let iou = intersection[label] as f64 / union as f64;
        score += iou * area as f64 / total as f64;
    }
    score as f32
}

/// `steered` with its disagreements at the reference's edges forgiven: a pixel whose steered
/// label differs from the reference's but is the reference's label of a 8-neighbour takes the
/// reference's label. Scored with [`weighted_iou`], an edge placed up to one pixel away then
/// counts as kept, a region moved or invented further does not. Phase 2 uses it for outputs
/// at `s ×` the plate: brought down to the plate's resolution, their edges (placed at `1/s`
/// of a plate pixel) round to either pixel beside the plate's edge. `width × height` maps.
pub fn forgive_edges(reference: &[u8], steered: &[u8], width: usize, height: usize) -> Vec<u8> {
    debug_assert_eq!(reference.len(), width * height);
    debug_assert_eq!(steered.len(), width * height);
    let mut out = steered.to_vec();
    for y in 0..height {
        for x in 0..width {
            let index = y * width + x;
            let (a, b) = (reference[index], steered[index]);
            if a == b {
                continue;
            }
            let near = (y.saturating_sub(1)..=(y + 1).min(height - 1)).any(|ny| {
                (x.saturating_sub(1)..=(x + 1).min(width - 1))
                    .any(|nx| reference[ny * width + nx] == b)
            });
            if near {
                out[index] = a;
            }
        }
    }
    out
}

/// A `width × height` label map brought down by a whole `scale` to the resolution the gate
/// compares at: each `scale × scale` block becomes its most frequent label (ties: the lower
/// label). `width` and `height` are multiples of `scale`.
pub fn downsample_majority(labels: &[u8], width: usize, height: usize, scale: usize) -> Vec<u8> {
    debug_assert_eq!(labels.len(), width * height);
    if scale <= 1 {
        return labels.to_vec();
    }
    let (coarse_width, coarse_height) = (width / scale, height / scale);
    let mut out = Vec::with_capacity(coarse_width * coarse_height);
    let mut counts = [0u16; 256];
    for y in 0..coarse_height {
        for x in 0..coarse_width {
            counts.fill(0);
            for dy in 0..scale {
                let row = (y * scale + dy) * width;
                for label in &labels[row + x * scale..row + (x + 1) * scale] {
                    counts[usize::from(*label)] += 1;
                }
            }
            let best = (0..256)
                .max_by(|a, b| counts[*a].cmp(&counts[*b]).then(b.cmp(a)))
                .unwrap_or(0);
            out.push(best as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_one_pixel_off_are_forgiven_further_ones_are_not() {
        // Reference: 0 0 1 1 1 1; steered moved by one pixel: 0 0 0 1 1 1 (forgiven), and
        // by two: 0 0 0 0 1 1 (the far pixel is not).
        let reference = [0, 0, 1, 1, 1, 1];
        assert_eq!(
            forgive_edges(&reference, &[0, 0, 0, 1, 1, 1], 6, 1),
            reference
        );
        assert_eq!(
            forgive_edges(&reference, &[0, 0, 0, 0, 1, 1], 6, 1),
            vec![0, 0, 1, 0, 1, 1]
        );
        // A label the reference does not have nearby stays a disagreement.
        assert_eq!(
            forgive_edges(&reference, &[0, 2, 1, 1, 1, 1], 6, 1),
            [0, 2, 1, 1, 1, 1]
        );
    }

    #[test]
    fn downsampling_takes_each_blocks_majority() {
        // 4×2 at scale 2: blocks [0,0,0,1] -> 0 and [1,1,2,2] -> 1 (a tie goes to the lower).
        let labels = [0, 0, 1, 1, 0, 1, 2, 2];
        assert_eq!(downsample_majority(&labels, 4, 2, 2), vec![0, 1]);
        assert_eq!(downsample_majority(&labels, 4, 2, 1), labels.to_vec());
    }

    #[test]
    fn identical_maps_score_one() {
        let labels = [0, 1, 1, 2, 2, 2];
        assert_eq!(weighted_iou(&labels, &labels, &[true; 6]), 1.0);
    }

    #[test]
    fn disjoint_maps_score_zero() {
        assert_eq!(weighted_iou(&[0, 0, 0], &[1, 1, 1], &[true; 3]), 0.0);
    }

    #[test]
    fn weights_follow_the_reference_areas() {
        // Label 0 covers 3 of 4 pixels and keeps IoU 2/3 (intersection 2, union 3); label 1
        // covers 1 and has IoU 1/2 (intersection 1, union 2).
        let reference = [0, 0, 0, 1];
        let steered = [0, 0, 1, 1];
        let score = weighted_iou(&reference, &steered, &[true; 4]);
        let expected = 0.75 * (2.0 / 3.0) + 0.25 * 0.5;
        assert!((score - expected).abs() < 1e-6, "{score}");
    }

    #[test]
    fn masked_pixels_do_not_count() {
        let score = weighted_iou(&[0, 0, 1], &[0, 0, 0], &[true, true, false]);
        assert_eq!(score, 1.0);
        assert_eq!(weighted_iou(&[0], &[1], &[false]), 1.0);
    }

    #[test]
    fn a_right_shift_of_a_half_split_scores_as_computed_by_hand() {
        // 64 columns, left half 0, right half 1, shifted right by 4 with the edge repeated.
        let reference: Vec<u8> = (0..64).map(|x| u8::from(x >= 32)).collect();
        let steered: Vec<u8> = (0..64).map(|x| u8::from(x >= 36)).collect();
        let score = weighted_iou(&reference, &steered, &[true; 64]);
        let expected = 0.5 * (32.0 / 36.0) + 0.5 * (28.0 / 32.0);
        assert!((score - expected).abs() < 1e-6, "{score}");
    }
}
