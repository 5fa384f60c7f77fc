//! Transparency: which working pixels are drawn, and how opaque each one is.
//!
//! Every working pixel gets an **opacity level** in `0..=L` (`L` = `phase4.alpha_levels`):
//! `0` draws nothing, `L` is opaque, and `1..L` are translucent shapes painted with
//! `fill-opacity` so that the stacked result has opacity `k/L` (see `trace`).
//!
//! - **Coverage follows the 50 % rule.** An anti-aliased rim of an opaque shape (a band at
//!   most two pixels wide of partly transparent pixels) is drawn where its alpha reaches one
//!   half and not drawn below, so an edge against transparency sits where the input's does
//!   (counting every alpha above zero as drawn pushed outlines out by up to a pixel).
//! - **Soft areas keep their opacity** (`alpha: "levels"`, the default). Partly transparent
//!   pixels that survive a 3×3 morphological opening of the translucent mask (whose core
//!   pixels' alpha changes smoothly, so small anti-aliased text is not soft), i.e. areas at
//!   least three pixels across such as drop shadows, glows and translucent overlays, keep
//!   their alpha quantised to `k/L`. Rim pixels that touch a soft area take its level
//!   instead of vanishing, so a shape and its shadow stay joined; a rim pixel at least half
//!   covered next to an opaque pixel is opaque (the 50 % rule holds over a shadow too, and
//!   no thin translucent ring in the shape's colour is traced around it).
//! - `alpha: "threshold"` gives opaque shapes only (cutters, printers): the 50 % rule alone.

use serde::{Deserialize, Serialize};

/// How partly transparent pixels are drawn (`alpha` in the job input, `phase4.alpha`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlphaMode {
    /// Soft areas become shapes with `fill-opacity` quantised to a few levels.
    Levels,
    /// Every shape is opaque: a pixel is drawn when its alpha is at least one half.
    Threshold,
}

impl AlphaMode {
    /// `levels` or `threshold`.
    pub fn name(self) -> &'static str {
        match self {
            AlphaMode::Levels => "levels",
            AlphaMode::Threshold => "threshold",
        }
    }
}

/// Smallest and largest number of opacity levels (`phase4.alpha_levels`).
pub const LEVELS_RANGE: std::ops::RangeInclusive<u8> = 2..=16;

/// Opacity levels at `scale ×` a working grid whose levels are `coarse` (`width × height`, from
/// [`classify`]), for phase 2's upscaled image: `alpha` is the alpha resampled to the fine grid.
///
/// Where none of the (up to) four working pixels around a fine pixel is translucent, the fine
/// pixel follows the 50 % rule on its resampled alpha. Elsewhere it takes, among those four
/// pixels' levels, the one nearest its resampled alpha (ties: the higher), as `supersample`
/// does: a shadow's edges then follow the smooth resampled alpha instead of the working grid's
/// staircase, and no level that the working grid did not hold there appears. (Re-quantising
/// the resampled alpha inside translucent working pixels made every anti-aliased rim over a
/// shadow a stack of one thin ring per level, traced at `scale ×`: glossy icons' shadows and
/// rims cost most of their bytes. Classified afresh, a shape's rim, `scale` fine pixels wide,
/// would pass for a soft area and be drawn as translucent specks along every edge.)
pub fn upscale_levels(
    coarse: &[u8],
    width: usize,
    height: usize,
    alpha: &[f32],
    scale: usize,
    levels: u8,
) -> Vec<u8> {
    let top = levels.max(2);
    let fine_width = width * scale;
    debug_assert_eq!(alpha.len(), fine_width * height * scale);
    // The working pixel at or left of (above) a fine pixel's centre, and the next one.
    let around = |fine: usize, size: usize| {
        let centre = ((fine as f32 + 0.5) / scale as f32 - 0.5).max(0.0);
        let low = (centre as usize).min(size - 1);
        (low, (low + 1).min(size - 1))
    };
    alpha
        .iter()
        .enumerate()
        .map(|(index, a)| {
            let (x0, x1) = around(index % fine_width, width);
            let (y0, y1) = around(index / fine_width, height);
            let sources = [
                coarse[y0 * width + x0],
                coarse[y0 * width + x1],
                coarse[y1 * width + x0],
                coarse[y1 * width + x1],
            ];
            if sources.iter().all(|level| *level == 0 || *level == top) {
                return if *a >= 0.5 { top } else { 0 };
            }
            let wanted = a * f32::from(top);
            let off = |level: u8| (f32::from(level) - wanted).abs();
            sources.into_iter().fold(sources[0], |best, candidate| {
                if off(candidate) < off(best) || (off(candidate) == off(best) && candidate > best) {
                    candidate
                } else {
                    best
                }
            })
        })
        .collect()
}

/// The opacity level of every pixel of a `width × height` alpha map (values in `[0, 1]`).
///
/// `levels` is `L`; with [`AlphaMode::Threshold`] only `0` and `L` occur.
pub fn classify(
    alpha: &[f32],
    width: usize,
    height: usize,
    mode: AlphaMode,
    levels: u8,
) -> Vec<u8> {
    debug_assert_eq!(alpha.len(), width * height);
    let top = levels.max(2);
    let threshold = |a: f32| if a >= 0.5 { top } else { 0 };
    if mode == AlphaMode::Threshold {
        return alpha.iter().map(|a| threshold(*a)).collect();
    }
    let quantised = |a: f32| (a * f32::from(top)).round().clamp(0.0, f32::from(top)) as u8;
    let translucent: Vec<bool> = alpha
        .iter()
        .map(|a| {
            let level = quantised(*a);
            level > 0 && level < top
        })
        .collect();
    let soft = opening(&translucent, alpha, width, height);
    let opaque: Vec<bool> = alpha.iter().map(|a| quantised(*a) == top).collect();
    let mut classes = Vec::with_capacity(alpha.len());
    for (index, a) in alpha.iter().enumerate() {
        let class = if soft[index] && *a >= 0.5 && touches(&opaque, index, width, height) {
            // The rim of an opaque shape over a soft shadow: the 50 % rule, as against
            // transparency (a thin translucent ring in the shape's colour cost bytes and
            // showed as a halo).
            top
        } else if soft[index] {
            quantised(*a).clamp(1, top - 1)
        } else if *a >= 0.5 {
            top
        } else if translucent[index] && touches(&soft, index, width, height) {
            quantised(*a)
        } else {
            0
        };
        classes.push(class);
    }
    classes
}

/// Whether any 8-neighbour of `index` is set in `mask`.
fn touches(mask: &[bool], index: usize, width: usize, height: usize) -> bool {
    let (x, y) = (index % width, index / width);
    let (x0, x1) = (x.saturating_sub(1), (x + 1).min(width - 1));
    let (y0, y1) = (y.saturating_sub(1), (y + 1).min(height - 1));
    (y0..=y1).any(|ny| (x0..=x1).any(|nx| mask[ny * width + nx]))
}

/// Largest alpha step between a soft area's core pixel and any of its 8 neighbours. Soft
/// shadows, glows and translucent overlays change slowly (a blurred shadow by well under a
/// tenth a pixel); the anti-aliased strokes of small text or thin lines jump from nothing to
/// most of a pixel, and drawn as soft areas they came out as faint blurs.
const SOFT_MAX_STEP: f32 = 0.25;

/// A 3×3 erosion followed by a 3×3 dilation, where a pixel survives the erosion only if its
/// alpha is within [`SOFT_MAX_STEP`] of its neighbours'. Outside the image counts as set,
/// so an image that is translucent all over stays soft up to its border.
fn opening(mask: &[bool], alpha: &[f32], width: usize, height: usize) -> Vec<bool> {
    let at = |m: &[bool], x: i64, y: i64| -> bool {
        if x < 0 || y < 0 || x >= width as i64 || y >= height as i64 {
            true
        } else {
            m[y as usize * width + x as usize]
        }
    };
    let mut eroded = vec![false; mask.len()];
    for y in 0..height as i64 {
        for x in 0..width as i64 {
            if !mask[y as usize * width + x as usize] {
                continue;
            }
            let here = alpha[y as usize * width + x as usize];
            let smooth = |x: i64, y: i64| -> bool {
                x < 0
                    || y < 0
                    || x >= width as i64
                    || y >= height as i64
                    || (alpha[y as usize * width + x as usize] - here).abs() <= SOFT_MAX_STEP
            };
            eroded[y as usize * width + x as usize] = (-1..=1)
                .all(|dy| (-1..=1).all(|dx| at(mask, x + dx, y + dy) && smooth(x + dx, y + dy)));
        }
    }
    let mut opened = vec![false; mask.len()];
    for y in 0..height {
        for x in 0..width {
            let index = y * width + x;
            opened[index] = mask[index] && touches(&eroded, index, width, height);
        }
    }
    opened
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(rows: &[&str]) -> (Vec<f32>, usize, usize) {
        let width = rows[0].len();
        let values = rows
            .iter()
            .flat_map(|row| {
                row.bytes().map(|b| match b {
                    b'#' => 1.0,
                    b'.' => 0.0,
                    digit => f32::from(digit - b'0') / 10.0,
                })
            })
            .collect();
        (values, width, rows.len())
    }

    #[test]
    fn names_are_the_job_inputs() {
        assert_eq!(AlphaMode::Levels.name(), "levels");
        assert_eq!(AlphaMode::Threshold.name(), "threshold");
    }

    #[test]
    fn a_thin_rim_follows_the_fifty_percent_rule() {
        // An opaque block with a one-pixel anti-aliased rim of 0.3 on the left and 0.7 on the
        // right: the 0.7 column is drawn, the 0.3 column is not.
        let (alpha, width, height) = grid(&[".3##7.", ".3##7.", ".3##7.", ".3##7."]);
        for mode in [AlphaMode::Levels, AlphaMode::Threshold] {
            let classes = classify(&alpha, width, height, mode, 8);
            for row in classes.chunks(width) {
                assert_eq!(row, [0, 0, 8, 8, 8, 0], "{mode:?}");
            }
        }
    }

    #[test]
    fn a_soft_shadow_keeps_its_opacity_only_in_levels_mode() {
        // A 5×5 shadow of alpha 0.3 next to an opaque column.
        let (alpha, width, height) = grid(&["33333#", "33333#", "33333#", "33333#", "33333#"]);
        let levels = classify(&alpha, width, height, AlphaMode::Levels, 8);
        // 0.3 × 8 = 2.4, level 2 (opacity 0.25).
        assert!(levels.chunks(width).all(|row| row == [2, 2, 2, 2, 2, 8]));
        let threshold = classify(&alpha, width, height, AlphaMode::Threshold, 8);
        assert!(threshold.chunks(width).all(|row| row == [0, 0, 0, 0, 0, 8]));
    }

    #[test]
    fn a_rim_between_a_shape_and_its_shadow_follows_the_fifty_percent_rule() {
        // A soft shadow of 0.3, a rim column of 0.7 (the shape's anti-aliased edge over the
        // shadow), then the opaque shape: the rim is drawn opaque, not as a 6/8 ring.
        let rows = ["333337##"; 5];
        let (alpha, width, height) = grid(&rows);
        let levels = classify(&alpha, width, height, AlphaMode::Levels, 8);
        for row in levels.chunks(width) {
            assert_eq!(row, [2, 2, 2, 2, 2, 8, 8, 8]);
        }
        // A rim under one half next to the shadow keeps the shadow's opacity level.
        let rows = ["333334##"; 5];
        let (alpha, width, height) = grid(&rows);
        let levels = classify(&alpha, width, height, AlphaMode::Levels, 8);
        for row in levels.chunks(width) {
            assert_eq!(row, [2, 2, 2, 2, 2, 3, 8, 8]);
        }
    }

    #[test]
    fn small_anti_aliased_strokes_are_not_soft_areas() {
        // Thin strokes at 0.7 with faint 0.1 gaps (small text): translucent all over, but
        // jumping by 0.6 a pixel, so the 50 % rule draws them, not translucent levels.
        let rows = ["7171717"; 5];
        let (alpha, width, height) = grid(&rows);
        let levels = classify(&alpha, width, height, AlphaMode::Levels, 8);
        for row in levels.chunks(width) {
            assert_eq!(row, [8, 0, 8, 0, 8, 0, 8]);
        }
    }

    #[test]
    fn an_image_translucent_all_over_is_drawn_translucent() {
        let alpha = vec![0.5f32; 4];
        let classes = classify(&alpha, 2, 2, AlphaMode::Levels, 4);
        assert_eq!(classes, vec![2, 2, 2, 2]);
    }

    #[test]
    fn faint_alpha_below_half_a_level_is_not_drawn() {
        let alpha = vec![0.03f32; 25];
        assert!(classify(&alpha, 5, 5, AlphaMode::Levels, 8)
            .iter()
            .all(|c| *c == 0));
    }

    #[test]
    fn upscaled_levels_follow_the_resampled_alpha_among_the_levels_around() {
        // A 3×1 working row: opaque, translucent at 4/8, transparent; at 4× the fine levels
        // change once between neighbours (no other level appears), where the resampled alpha
        // crosses halfway between them.
        let coarse = [8, 4, 0];
        let fine_alpha: Vec<f32> = (0..48)
            .map(|index| 1.0 - ((index % 12) as f32 + 0.5) / 12.0)
            .collect();
        let fine = upscale_levels(&coarse, 3, 1, &fine_alpha, 4, 8);
        for row in fine.chunks(12) {
            assert_eq!(row, [8, 8, 8, 4, 4, 4, 4, 4, 4, 0, 0, 0]);
        }
        // Far from any translucent pixel: the 50 % rule.
        let coarse = [8, 0, 0, 0];
        let fine_alpha: Vec<f32> = (0..64)
            .map(|index| if index % 16 < 6 { 0.6 } else { 0.1 })
            .collect();
        let fine = upscale_levels(&coarse, 4, 1, &fine_alpha, 4, 8);
        assert_eq!(&fine[..8], &[8, 8, 8, 8, 8, 8, 0, 0]);
    }
}
