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

#[cfg(test)]
mod tests {
    use super::*;

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
