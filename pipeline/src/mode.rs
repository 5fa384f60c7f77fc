//! `trace.mode = "auto"`: how fragmented a quantised label map is, and the mode that
//! follows (polygons for photos, splines for artwork).

use crate::options::TraceMode;

/// The label of a pixel that is not drawn.
const TRANSPARENT: u8 = u8::MAX;

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

/// Fragmentation above which a label map is a photo's rather than artwork's: `auto` traces
/// polygons, the speckle filter is off (small regions are detail, not noise) and sub-pixel
/// labels stop at [`PHOTO_SUPERSAMPLE`]. The measure (region-boundary pixels over the square
/// root of the drawn area) does not depend on scale for artwork, whose boundaries are outlines
/// that grow with the side: the benchmark's artwork sets (clean, JPEG at quality 30 and 2×
/// downscaled; 8 colours) measure 0 to 29, its photos 19 to 139, most above 36. On the
/// photos (bench/quality.md), polygons at 2× sub-pixel labels gave +0.7 dB over VTracer at a
/// third of its bytes; exact pixel outlines -0.2 dB at 0.7×, splines +0.8 dB at 0.8×.
pub const PHOTO_FRAGMENTATION: f64 = 32.0;

/// The most sub-pixel label refinement a photo gets (see [`PHOTO_FRAGMENTATION`]): 4× cost
/// photos 1.7× the bytes for 0.2 dB.
pub const PHOTO_SUPERSAMPLE: u32 = 2;

/// The mode `auto` resolves to for a label map of this [`fragmentation`].
pub fn resolve(mode: TraceMode, fragmentation: f64) -> TraceMode {
    if mode != TraceMode::Auto {
        return mode;
    }
    if fragmentation > PHOTO_FRAGMENTATION {
        TraceMode::Polygon
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
        assert_eq!(resolve(TraceMode::Auto, 1000.0), TraceMode::Polygon);
        assert_eq!(resolve(TraceMode::Polygon, 1000.0), TraceMode::Polygon);
    }
}
