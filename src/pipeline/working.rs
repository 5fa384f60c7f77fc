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

/// The drawn pixels of the unpadded area of `image`, as 8-bit colours (for k-means).
pub fn opaque_colors(image: &PlanarImage, width: u32, height: u32, opaque: &[bool]) -> Vec<Rgb8> {
    let mut colors = Vec::new();
    for y in 0..height as usize {
        for x in 0..width as usize {
            if opaque[y * width as usize + x] {
                colors.push(Rgb8::from_unit(image.pixel(y * image.width as usize + x)));
            }
        }
    }
    colors
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
    fn crops_padded_labels() {
        let labels = LabelMap {
            width: 4,
            height: 2,
            labels: vec![1, 2, 9, 9, 3, 4, 9, 9],
        };
        assert_eq!(crop_labels(&labels, 2, 2), vec![1, 2, 3, 4]);
    }
}
