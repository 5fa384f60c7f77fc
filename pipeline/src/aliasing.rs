//! Whether an image's edges are hard: drawn without coverage (pixel art, nearest-neighbour
//! resizes, GIFs, screenshots of aliased art), so an edge is only known within half a pixel
//! of where its pixels step (see `shapes::recognise_hard`).

/// Pixels within this much (per channel and alpha, `[0, 1]`) count as the same colour.
const SAME: f32 = 3.0 / 255.0;

/// Edge pairs needed before an image is judged at all.
const MIN_PAIRS: usize = 16;

/// Share of the edge pairs that must be hard.
const HARD_SHARE: f64 = 0.95;

/// Whether the edges between regions of a `width × height` image are hard: of the pairs of
/// neighbouring pixels with different keys (`labels` and opacity `levels`) whose next pixels
/// outwards (one more step on each side) share their keys, at least [`HARD_SHARE`] have both
/// pixels the very colour and alpha of that next pixel on their side. An anti-aliased edge's
/// pixels are blends of the two sides, unlike those behind them; a hard edge's are not.
/// `straight` holds three sRGB values per pixel, `alpha` one.
pub fn hard_edges(
    labels: &[u8],
    levels: &[u8],
    straight: &[f32],
    alpha: &[f32],
    width: usize,
    height: usize,
) -> bool {
    let pixels = width * height;
    if labels.len() != pixels
        || levels.len() != pixels
        || straight.len() != 3 * pixels
        || alpha.len() != pixels
    {
        return false;
    }
    let key = |i: usize| (levels[i], if levels[i] == 0 { 0 } else { labels[i] });
    let same = |a: usize, b: usize| {
        if (alpha[a] - alpha[b]).abs() > SAME {
            return false;
        }
        // A transparent pixel's colour means nothing.
        alpha[a] <= SAME
            || (0..3).all(|c| (straight[3 * a + c] - straight[3 * b + c]).abs() <= SAME)
    };
    let (mut pairs, mut hard) = (0usize, 0usize);
    let mut judge = |before: usize, a: usize, b: usize, after: usize| {
        if key(a) == key(b) || key(before) != key(a) || key(after) != key(b) {
            return;
        }
        pairs += 1;
        if same(before, a) && same(b, after) {
            hard += 1;
        }
    };
    for y in 0..height {
        for x in 1..width.saturating_sub(2) {
            let i = y * width + x;
            judge(i - 1, i, i + 1, i + 2);
        }
    }
    for y in 1..height.saturating_sub(2) {
        for x in 0..width {
            let i = y * width + x;
            judge(i - width, i, i + width, i + 2 * width);
        }
    }
    pairs >= MIN_PAIRS && hard as f64 >= HARD_SHARE * pairs as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A disc of radius 20 on a 64 px image, its edge pixels' coverage `coverage(d)` at
    /// signed distance `d` from the circle (inside negative).
    fn disc(coverage: impl Fn(f64) -> f32) -> (Vec<u8>, Vec<u8>, Vec<f32>, Vec<f32>) {
        let n = 64;
        let (mut labels, mut straight) = (vec![0u8; n * n], vec![0f32; 3 * n * n]);
        for y in 0..n {
            for x in 0..n {
                let d = ((x as f64 + 0.5 - 31.7).hypot(y as f64 + 0.5 - 32.2)) - 20.0;
                let t = coverage(d);
                let i = y * n + x;
                labels[i] = u8::from(t >= 0.5);
                // Red over white.
                straight[3 * i] = 1.0;
                straight[3 * i + 1] = 1.0 - t;
                straight[3 * i + 2] = 1.0 - t;
            }
        }
        (labels, vec![8; n * n], straight, vec![1.0; n * n])
    }

    #[test]
    fn an_aliased_disc_has_hard_edges_and_an_anti_aliased_one_has_not() {
        let (labels, levels, straight, alpha) = disc(|d| if d <= 0.0 { 1.0 } else { 0.0 });
        assert!(hard_edges(&labels, &levels, &straight, &alpha, 64, 64));
        let (labels, levels, straight, alpha) = disc(|d| (0.5 - d).clamp(0.0, 1.0) as f32);
        assert!(!hard_edges(&labels, &levels, &straight, &alpha, 64, 64));
        // A flat image has no edges to judge.
        let flat = vec![0u8; 64 * 64];
        assert!(!hard_edges(&flat, &levels, &straight, &alpha, 64, 64));
    }
}
