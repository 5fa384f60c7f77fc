//! Sub-pixel edges: the label map re-made at `scale ×` the working resolution before tracing.
//!
//! On flat artwork almost all the error of a vectorization sits on edges, and an edge traced
//! on whole working pixels is up to half a pixel off all along its length. So each fine pixel
//! (a `1/scale` sub-pixel) is labelled again from the image interpolated at its centre:
//!
//! - **Opacity.** Alpha is interpolated bilinearly and the fine pixel takes, among the opacity
//!   levels of the (up to) four working pixels around it, the one nearest to the interpolated
//!   alpha. Between an opaque pixel and a transparent one that is the 50 % rule on the
//!   interpolated coverage, so the edge lands where coverage crosses one half, less a small
//!   inset (`EDGE_INSET`): stacked layers that share an outer edge each anti-alias it, and
//!   their coverages add up past one half outside the input's edge.
//! - **Colour.** The colour is interpolated weighted by alpha (so transparent neighbours do
//!   not pale it), and the fine pixel takes, among the labels of the working pixels around it
//!   at the chosen opacity, the palette colour nearest in sRGB. Between two colours A and B an
//!   anti-aliased pixel is `t·A + (1−t)·B` in sRGB, where renderers blend, so the nearer of
//!   the two in sRGB is exactly "coverage above one half": a 3 px outline comes out 3 px wide.
//!   Only labels already present around the pixel are candidates, so no colour that the
//!   working label map did not hold there (a blend colour, a ring) can appear.
//!
//! Flat interiors are copied without any work; only pixels next to a label or opacity change
//! are computed.

use crate::model::PlanarImage;
use crate::palette::Palette;

/// How much less coverage a fine pixel next to transparency needs to be left out (see
/// [`refine`]).
pub(crate) const EDGE_INSET: f32 = 0.1;

/// A label map with its opacity levels, at some resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelGrid {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Palette index per pixel (meaningless where the level is 0).
    pub labels: Vec<u8>,
    /// Opacity level per pixel, `0..=L` (see `alpha`).
    pub levels: Vec<u8>,
}

/// The supersampling factor for a `width × height` working image: at most `max_factor`, and
/// the fine label map's long side at most `max_side` (never below 1).
pub fn factor(width: u32, height: u32, max_factor: u32, max_side: u32) -> u32 {
    let long = width.max(height).max(1);
    (max_side / long).clamp(1, max_factor.max(1))
}

/// What [`refine`] reads: the working-resolution grid and the image it was labelled from.
pub struct Coarse<'a> {
    /// Labels and opacity levels at the working resolution.
    pub grid: &'a LabelGrid,
    /// Alpha per working pixel, `[0, 1]`.
    pub alpha: &'a [f32],
    /// The image the labels came from (padded; its top-left `width × height` is used).
    pub image: &'a PlanarImage,
    /// The palette the labels index.
    pub palette: &'a Palette,
    /// The number of opacity levels `L`.
    pub levels: u8,
    /// How much coverage above one half a fine pixel next to transparency needs:
    /// [`EDGE_INSET`] where the working image's edges ramp over one pixel, less after phase
    /// 2's upscale, whose resampled alpha ramps over `s` pixels (the same share of alpha
    /// moves the edge `s ×` as far).
    pub edge_inset: f32,
}

/// The label grid at `scale ×` the working resolution (a copy when `scale` is 1).
pub fn refine(coarse: &Coarse<'_>, scale: u32) -> LabelGrid {
    let grid = coarse.grid;
    let (width, height) = (grid.width, grid.height);
    if scale <= 1 || width == 0 || height == 0 {
        return grid.clone();
    }
    let scale = scale as usize;
    let (fine_width, fine_height) = (width * scale, height * scale);
    let stride = coarse.image.width as usize;
    let top = f32::from(coarse.levels.max(2));
    let palette: Vec<[f32; 3]> = coarse
        .palette
        .colors()
        .iter()
        .map(|color| color.to_unit())
        .collect();
    // A working pixel is "uniform" when it and its 8 neighbours share label and level: every
    // fine pixel within it is a copy.
    let key = |index: usize| (grid.levels[index], label_or_none(grid, index));
    let mut uniform = vec![false; width * height];
    for y in 0..height {
        for x in 0..width {
            let index = y * width + x;
            let own = key(index);
            let (x0, x1) = (x.saturating_sub(1), (x + 1).min(width - 1));
            let (y0, y1) = (y.saturating_sub(1), (y + 1).min(height - 1));
            uniform[index] = (y0..=y1).all(|ny| (x0..=x1).all(|nx| key(ny * width + nx) == own));
        }
    }

    let mut labels = vec![0u8; fine_width * fine_height];
    let mut levels = vec![0u8; fine_width * fine_height];
    let inverse = 1.0 / scale as f32;
    for fy in 0..fine_height {
        // Centre of the fine pixel in working-pixel coordinates (pixel centres at .5).
        let v = (fy as f32 + 0.5) * inverse - 0.5;
        let (y0, y1, wy) = taps(v, height);
        let row = fy * fine_width;
        let coarse_row = (fy / scale) * width;
        for x in 0..width {
            let own = coarse_row + x;
            if uniform[own] {
                // Every fine pixel of a uniform working pixel is a copy.
                let first = row + x * scale;
                labels[first..first + scale].fill(grid.labels[own]);
                levels[first..first + scale].fill(grid.levels[own]);
                continue;
            }
            for fx in x * scale..(x + 1) * scale {
                let fine = row + fx;
                let u = (fx as f32 + 0.5) * inverse - 0.5;
                let (x0, x1, wx) = taps(u, width);
                let sources = [
                    (y0 * width + x0, (1.0 - wx) * (1.0 - wy)),
                    (y0 * width + x1, wx * (1.0 - wy)),
                    (y1 * width + x0, (1.0 - wx) * wy),
                    (y1 * width + x1, wx * wy),
                ];
                let alpha: f32 = sources.iter().map(|(i, w)| coarse.alpha[*i] * w).sum();
                // Against transparency the edge moves in by EDGE_INSET of coverage: stacked
                // layers that share an outer edge each draw it anti-aliased, and their partial
                // coverages add up past one half outside the input's edge.
                let alpha = if sources.iter().any(|(i, _)| grid.levels[*i] == 0) {
                    alpha - coarse.edge_inset
                } else {
                    alpha
                };
                // The opacity level among the sources' nearest to the interpolated alpha (ties:
                // the more opaque).
                let mut level = grid.levels[sources[0].0];
                let mut best = f32::INFINITY;
                for (index, _) in &sources {
                    let candidate = grid.levels[*index];
                    let distance = (f32::from(candidate) / top - alpha).abs();
                    if distance < best || (distance == best && candidate > level) {
                        best = distance;
                        level = candidate;
                    }
                }
                levels[fine] = level;
                if level == 0 {
                    continue;
                }
                // Candidate labels: those of the sources at that level.
                let mut candidates = [u8::MAX; 4];
                let mut count = 0;
                for (index, _) in &sources {
                    if grid.levels[*index] == level {
                        let label = grid.labels[*index];
                        if !candidates[..count].contains(&label) {
                            candidates[count] = label;
                            count += 1;
                        }
                    }
                }
                if count == 1 {
                    labels[fine] = candidates[0];
                    continue;
                }
                // The alpha-weighted colour at the fine pixel's centre.
                let mut color = [0f32; 3];
                let mut total = 0f32;
                for (index, weight) in &sources {
                    let w = weight * coarse.alpha[*index].max(1e-3);
                    let pixel = coarse.image.pixel((index / width) * stride + index % width);
                    for (sum, value) in color.iter_mut().zip(pixel) {
                        *sum += w * value;
                    }
                    total += w;
                }
                let color = color.map(|c| c / total.max(1e-6));
                labels[fine] = candidates[..count]
                    .iter()
                    .copied()
                    .min_by(|a, b| {
                        let da = squared(color, palette[usize::from(*a)]);
                        let db = squared(color, palette[usize::from(*b)]);
                        da.total_cmp(&db).then(a.cmp(b))
                    })
                    .unwrap_or(candidates[0]);
            }
        }
    }
    LabelGrid {
        width: fine_width,
        height: fine_height,
        labels,
        levels,
    }
}

/// The label of a drawn pixel, `None` for a transparent one (whose label means nothing).
fn label_or_none(grid: &LabelGrid, index: usize) -> Option<u8> {
    (grid.levels[index] > 0).then(|| grid.labels[index])
}

/// The two neighbouring sample indices along one axis and the weight of the second.
fn taps(position: f32, size: usize) -> (usize, usize, f32) {
    if position <= 0.0 {
        return (0, 0, 0.0);
    }
    let low = position.floor() as usize;
    if low + 1 >= size {
        return (size - 1, size - 1, 0.0);
    }
    (low, low + 1, position - low as f32)
}

fn squared(a: [f32; 3], b: [f32; 3]) -> f32 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(width: u32, height: u32, colors: &[[f32; 3]]) -> PlanarImage {
        let mut image = PlanarImage::zeros(width, height);
        let plane = (width * height) as usize;
        for (index, color) in colors.iter().enumerate() {
            for (channel, value) in color.iter().enumerate() {
                image.data[channel * plane + index] = *value;
            }
        }
        image
    }

    #[test]
    fn factor_caps_the_fine_long_side() {
        assert_eq!(factor(128, 64, 4, 1024), 4);
        assert_eq!(factor(512, 512, 4, 1024), 2);
        assert_eq!(factor(700, 300, 4, 1024), 1);
        assert_eq!(factor(2000, 10, 4, 1024), 1);
    }

    #[test]
    fn a_blend_pixel_splits_where_coverage_crosses_one_half() {
        // Black | 25 % black blend | white, one row: the blend pixel is mostly white, so at
        // 4× the black region ends within it, one fine pixel past the black one's edge.
        let palette = Palette::from_hex(&["000000", "ffffff"]).unwrap();
        let colors = [[0.0; 3], [0.75; 3], [1.0; 3]];
        let grid = LabelGrid {
            width: 3,
            height: 1,
            labels: vec![0, 1, 1],
            levels: vec![8, 8, 8],
        };
        let alpha = [1.0; 3];
        let plate = image(3, 1, &colors);
        let coarse = Coarse {
            grid: &grid,
            alpha: &alpha,
            image: &plate,
            palette: &palette,
            levels: 8,
            edge_inset: EDGE_INSET,
        };
        let fine = refine(&coarse, 4);
        assert_eq!((fine.width, fine.height), (12, 4));
        // Fine centres of the middle pixel sit at working x = 0.625, 0.875, 1.125, 1.375;
        // interpolated grey at 0.625 is 0.47 (black side), at 0.875 is 0.66 (white side).
        assert_eq!(&fine.labels[..12], &[0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1]);
        assert!(fine.levels.iter().all(|l| *l == 8));
    }

    /// The first row's fine levels at 2× of a red row: opaque, a rim of `rim_alpha` (drawn by
    /// the 50 % rule), transparent.
    fn rim_at_twice(rim_alpha: f32) -> Vec<u8> {
        rim_at_twice_inset(rim_alpha, EDGE_INSET)
    }

    fn rim_at_twice_inset(rim_alpha: f32, edge_inset: f32) -> Vec<u8> {
        let palette = Palette::from_hex(&["ff0000"]).unwrap();
        let grid = LabelGrid {
            width: 3,
            height: 1,
            labels: vec![0, 0, 0],
            levels: vec![8, 8, 0],
        };
        let alpha = [1.0, rim_alpha, 0.0];
        let plate = image(3, 1, &[[1.0, 0.0, 0.0]; 3]);
        let coarse = Coarse {
            grid: &grid,
            alpha: &alpha,
            image: &plate,
            palette: &palette,
            levels: 8,
            edge_inset,
        };
        refine(&coarse, 2).levels[..6].to_vec()
    }

    #[test]
    fn a_smaller_inset_keeps_an_edge_pixel_that_is_more_than_half_covered() {
        // A 0.72 rim: the fine centre at 1.25 interpolates to 0.54. The full inset leaves it
        // out; after phase 2's 4× upscale the pipeline passes EDGE_INSET / 4 and it is kept
        // (the alpha ramps over four pixels there, and the full inset moved edges half a
        // working pixel in).
        assert_eq!(rim_at_twice(0.72), [8, 8, 8, 0, 0, 0]);
        assert_eq!(
            rim_at_twice_inset(0.72, EDGE_INSET / 4.0),
            [8, 8, 8, 8, 0, 0]
        );
    }

    #[test]
    fn an_edge_against_transparency_lands_at_half_coverage() {
        // Fine centres at 0.25 (alpha 0.875), 0.75 (0.625), 1.25 (0.375): the edge lands in
        // the middle of the rim pixel.
        assert_eq!(rim_at_twice(0.5), [8, 8, 8, 0, 0, 0]);
    }

    #[test]
    fn edges_against_transparency_are_inset_a_little() {
        // A 0.7 rim: the fine centre at 1.25 interpolates to 0.525, just over one half; inset
        // by EDGE_INSET it is left out, since stacked layers sharing this edge would draw it
        // more than half covered.
        assert_eq!(rim_at_twice(0.7), [8, 8, 8, 0, 0, 0]);
    }

    #[test]
    fn no_label_appears_that_was_not_around() {
        // A green pixel between red and blue: the blend of red and blue is never green.
        let palette = Palette::from_hex(&["ff0000", "00ff00", "0000ff"]).unwrap();
        let grid = LabelGrid {
            width: 2,
            height: 1,
            labels: vec![0, 2],
            levels: vec![4, 4],
        };
        let alpha = [1.0, 1.0];
        let plate = image(2, 1, &[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]);
        let coarse = Coarse {
            grid: &grid,
            alpha: &alpha,
            image: &plate,
            palette: &palette,
            levels: 4,
            edge_inset: EDGE_INSET,
        };
        let fine = refine(&coarse, 3);
        assert!(fine.labels.iter().all(|l| *l != 1));
        assert_eq!(&fine.labels[..6], &[0, 0, 0, 2, 2, 2]);
    }
}
