//! `trace.mode = "auto"`: how fragmented a quantised label map is, and the mode that
//! follows (exact pixel outlines for photos, splines for artwork).

use crate::pipeline::options::TraceMode;

/// The label of a pixel that is not drawn.
const TRANSPARENT: u8 = u8::MAX;

/// Region-boundary pixels per pixel of image side (boundary count over the square root of
/// the opaque area) above which `auto` traces exact pixel outlines. The measure does not
/// depend on scale for artwork, whose boundaries are outlines that grow with the side: the
/// benchmark's Twemoji at 48 to 512 px measure 0.6 to 13 once quantised, JPEG-compressed ones
/// 14 to 34 (at 16 to 64 colours). Photos, whose quantised regions are fragmented everywhere,
/// measure 64 to 137 at 300 to 640 px, and there curve fitting costs most fidelity
/// (bench/quality.md, "Photos in pixel mode").
pub const AUTO_PIXEL_FRAGMENTATION: f64 = 40.0;

/// Opaque pixels whose right or lower neighbour is opaque with another label, divided by the
/// square root of the opaque pixel count. `grid` holds a label per pixel, `u8::MAX` for
/// pixels that are not drawn.
pub fn fragmentation(grid: &[u8], width: usize, height: usize) -> f64 {
    let (mut opaque, mut boundary) = (0usize, 0usize);
    for y in 0..height {
        for x in 0..width {
            let label = grid[y * width + x];
            if label == TRANSPARENT {
                continue;
            }
            opaque += 1;
            let differs = |other: u8| other != TRANSPARENT && other != label;
            if (x + 1 < width && differs(grid[y * width + x + 1]))
                || (y + 1 < height && differs(grid[(y + 1) * width + x]))
            {
                boundary += 1;
            }
        }
    }
    if opaque == 0 {
        0.0
    } else {
        boundary as f64 / (opaque as f64).sqrt()
    }
}

/// Fragmentation above which a label map is a photo's rather than artwork's: the speckle
/// filter is off (its small regions are detail, not noise). The benchmark's artwork sets
/// (clean, JPEG at quality 30 and 2x downscaled; 8 colours) measure 0 to 29, its photos
/// 19 to 139, most above 36.
pub const PHOTO_FRAGMENTATION: f64 = 32.0;

/// The mode `auto` resolves to for a label map (`u8::MAX` where nothing is drawn).
pub fn resolve_mode(mode: TraceMode, grid: &[u8], width: usize, height: usize) -> TraceMode {
    resolve(mode, fragmentation(grid, width, height))
}

/// The mode `auto` resolves to for a label map of this [`fragmentation`].
pub fn resolve(mode: TraceMode, fragmentation: f64) -> TraceMode {
    if mode != TraceMode::Auto {
        return mode;
    }
    if fragmentation > AUTO_PIXEL_FRAGMENTATION {
        TraceMode::Pixel
    } else {
        TraceMode::Spline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photo_threshold_separates_block_art_from_pixel_noise() {
        // Artwork: four 32x32 blocks. Noise: a pseudo-random label per pixel.
        let blocks: Vec<u8> = (0..64 * 64)
            .map(|i| (((i % 64) / 32) + 2 * ((i / 64) / 32)) as u8)
            .collect();
        let noise: Vec<u8> = (0..64 * 64u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 29) as u8 % 4)
            .collect();
        assert!(fragmentation(&blocks, 64, 64) < PHOTO_FRAGMENTATION);
        assert!(fragmentation(&noise, 64, 64) > PHOTO_FRAGMENTATION);
        assert_eq!(resolve(TraceMode::Auto, 0.0), TraceMode::Spline);
        assert_eq!(resolve(TraceMode::Auto, 1000.0), TraceMode::Pixel);
        assert_eq!(resolve(TraceMode::Polygon, 1000.0), TraceMode::Polygon);
    }
}
