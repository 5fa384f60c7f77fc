//! The working resolution: what the phase models see.
//!
//! The image is composited onto white (the models know nothing of alpha), scaled so that its
//! long side is at most `pipeline.working_size` (**downscale only**: a small icon is never
//! blown up, since upscaling adds no detail and multiplies the cost of every phase), then
//! padded by edge replication to a multiple of `pipeline.pad_multiple` so TensorRT sees few
//! shapes. Label maps come back padded and are cropped to the unpadded size here.
//!
//! Opacity: at the input's own size a pixel is drawn unless its alpha is 0. When the image is
//! scaled down, alpha is resampled like colour and a working pixel is drawn when at least
//! half of it is covered.

use image::imageops::FilterType;
use image::{GrayImage, RgbImage};

use crate::pipeline::decode::DecodedImage;
use crate::pipeline::model::{LabelMap, PlanarImage};
use crate::pipeline::palette::Rgb8;

/// An image at the working resolution, ready for the phase models.
#[derive(Debug, Clone)]
pub struct WorkingImage {
    /// Unpadded working width.
    pub width: u32,
    /// Unpadded working height.
    pub height: u32,
    /// The padded model input (its size is a multiple of the pad multiple).
    pub padded: PlanarImage,
    /// Whether each unpadded working pixel is drawn, row-major.
    pub opaque: Vec<bool>,
}

/// The working size for an input size: long side at most `working_size`, never upscaled,
/// each side at least 1.
pub fn working_dimensions(width: u32, height: u32, working_size: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= working_size || working_size == 0 {
        return (width, height);
    }
    let scale = f64::from(working_size) / f64::from(long);
    let side = |value: u32| ((f64::from(value) * scale).round() as u32).clamp(1, working_size);
    (side(width), side(height))
}

fn round_up(value: u32, multiple: u32) -> u32 {
    if multiple <= 1 {
        value
    } else {
        value.div_ceil(multiple) * multiple
    }
}

/// Composites onto white, scales down, pads.
pub fn prepare(image: &DecodedImage, working_size: u32, pad_multiple: u32) -> WorkingImage {
    let (width, height) = working_dimensions(image.width, image.height, working_size);
    let pixels = image.pixel_count();
    let mut rgb = Vec::with_capacity(pixels * 3);
    let mut alpha = Vec::with_capacity(pixels);
    for px in image.rgba.chunks_exact(4) {
        let a = u32::from(px[3]);
        for channel in &px[..3] {
            // Straight alpha over white, rounded: c·a + 255·(1 − a).
            let value = (u32::from(*channel) * a + 255 * (255 - a) + 127) / 255;
            rgb.push(value as u8);
        }
        alpha.push(px[3]);
    }
    let (rgb, opaque) = if (width, height) == (image.width, image.height) {
        let opaque = alpha.iter().map(|a| *a > 0).collect();
        (rgb, opaque)
    } else {
        let rgb_image = RgbImage::from_raw(image.width, image.height, rgb)
            .expect("buffer holds 3 bytes per pixel");
        let alpha_image = GrayImage::from_raw(image.width, image.height, alpha)
            .expect("buffer holds 1 byte per pixel");
        let rgb = image::imageops::resize(&rgb_image, width, height, FilterType::Triangle);
        let alpha = image::imageops::resize(&alpha_image, width, height, FilterType::Triangle);
        let opaque = alpha.into_raw().iter().map(|a| *a >= 128).collect();
        (rgb.into_raw(), opaque)
    };

    let padded_width = round_up(width, pad_multiple);
    let padded_height = round_up(height, pad_multiple);
    let plane = padded_width as usize * padded_height as usize;
    let mut padded = PlanarImage::zeros(padded_width, padded_height);
    for y in 0..padded_height as usize {
        let source_y = y.min(height as usize - 1);
        for x in 0..padded_width as usize {
            let source_x = x.min(width as usize - 1);
            let source = (source_y * width as usize + source_x) * 3;
            let target = y * padded_width as usize + x;
            for channel in 0..3 {
                padded.data[channel * plane + target] = f32::from(rgb[source + channel]) / 255.0;
            }
        }
    }
    WorkingImage {
        width,
        height,
        padded,
        opaque,
    }
}

/// The unpadded top-left `width × height` of a padded label map.
pub fn crop_labels(labels: &LabelMap, width: u32, height: u32) -> Vec<u8> {
    let mut cropped = Vec::with_capacity(width as usize * height as usize);
    for row in labels
        .labels
        .chunks_exact(labels.width as usize)
        .take(height as usize)
    {
        cropped.extend_from_slice(&row[..width as usize]);
    }
    cropped
}

/// Largest summed 8-bit channel difference between a pixel and a 4-neighbour for the pixel
/// to count as flat. Anti-aliased edges differ far more; a smooth gradient after the clean
/// plate differs by a few levels.
const FLAT_TOLERANCE: u32 = 12;

/// If fewer than this share of the drawn pixels are flat (busy photos), k-means learns from
/// every drawn pixel instead.
const MIN_FLAT_SHARE: f64 = 0.05;

/// The colours an automatic palette learns from: the drawn pixels of the unpadded area of
/// `image` that are flat, i.e. close to their drawn 4-neighbours. Anti-aliased edge pixels
/// are blends of their neighbours; left out, they no longer pull palette entries towards
/// blend colours (which would then trace as thin rings around every shape), and at
/// quantisation they go to the nearer of the real colours either side.
pub fn palette_samples(image: &PlanarImage, width: u32, height: u32, opaque: &[bool]) -> Vec<Rgb8> {
    let (width, height) = (width as usize, height as usize);
    let stride = image.width as usize;
    let colors: Vec<Rgb8> = (0..height)
        .flat_map(|y| (0..width).map(move |x| y * stride + x))
        .map(|index| Rgb8::from_unit(image.pixel(index)))
        .collect();
    let differs = |a: Rgb8, b: Rgb8| -> bool {
        let total: u32 =
            a.0.iter()
                .zip(b.0)
                .map(|(p, q)| u32::from(p.abs_diff(q)))
                .sum();
        total > FLAT_TOLERANCE
    };
    let mut all = Vec::new();
    let mut flat = Vec::new();
    for y in 0..height {
        for x in 0..width {
            let index = y * width + x;
            if !opaque[index] {
                continue;
            }
            let color = colors[index];
            all.push(color);
            let mut neighbours = [None; 4];
            if x > 0 {
                neighbours[0] = Some(index - 1);
            }
            if x + 1 < width {
                neighbours[1] = Some(index + 1);
            }
            if y > 0 {
                neighbours[2] = Some(index - width);
            }
            if y + 1 < height {
                neighbours[3] = Some(index + width);
            }
            let is_flat = neighbours
                .into_iter()
                .flatten()
                .all(|n| !opaque[n] || !differs(color, colors[n]));
            if is_flat {
                flat.push(color);
            }
        }
    }
    if (flat.len() as f64) < MIN_FLAT_SHARE * all.len() as f64 {
        all
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_scales_down() {
        assert_eq!(working_dimensions(512, 256, 1024), (512, 256));
        assert_eq!(working_dimensions(2048, 1024, 1024), (1024, 512));
        assert_eq!(working_dimensions(4000, 3, 1024), (1024, 1));
    }

    #[test]
    fn pads_by_repeating_edges_and_composites_on_white() {
        // 2x1: an opaque red pixel and a fully transparent black one.
        let image = DecodedImage::from_rgba(2, 1, vec![255, 0, 0, 255, 0, 0, 0, 0]).unwrap();
        let working = prepare(&image, 1024, 4);
        assert_eq!((working.width, working.height), (2, 1));
        assert_eq!((working.padded.width, working.padded.height), (4, 4));
        assert_eq!(working.opaque, vec![true, false]);
        assert_eq!(working.padded.pixel(0), [1.0, 0.0, 0.0]);
        assert_eq!(working.padded.pixel(1), [1.0, 1.0, 1.0]);
        // Padding repeats the last column and row.
        assert_eq!(working.padded.pixel(3), [1.0, 1.0, 1.0]);
        assert_eq!(working.padded.pixel(12), [1.0, 0.0, 0.0]);
    }

    #[test]
    fn palette_samples_leave_out_edge_pixels() {
        // Four columns: red, red, a red-blue blend, blue.
        let mut image = PlanarImage::zeros(4, 1);
        let colors = [
            [1.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [0.5, 0.0, 0.5],
            [0.0, 0.0, 1.0],
        ];
        for (x, color) in colors.iter().enumerate() {
            for (channel, value) in color.iter().enumerate() {
                image.data[channel * 4 + x] = *value;
            }
        }
        let samples = palette_samples(&image, 4, 1, &[true; 4]);
        assert_eq!(samples, vec![Rgb8([255, 0, 0])]);
        // With the blend's neighbour transparent, the blue pixel is flat too.
        let samples = palette_samples(&image, 4, 1, &[true, true, false, true]);
        assert_eq!(
            samples,
            vec![Rgb8([255, 0, 0]), Rgb8([255, 0, 0]), Rgb8([0, 0, 255])]
        );
    }

    #[test]
    fn crops_padded_labels() {
        let labels = LabelMap {
            width: 4,
            height: 2,
            labels: vec![1, 2, 9, 9, 3, 4, 9, 9],
        };
        assert_eq!(crop_labels(&labels, 2, 2), vec![1, 2, 3, 4]);
    }
}
