//! The working resolution: what the phase models see.
//!
//! The image is scaled so that its
//! long side is at most `pipeline.working_size` (**downscale only**: a small icon is never
//! blown up, since upscaling adds no detail and multiplies the cost of every phase), then
//! padded by edge replication to a multiple of `pipeline.pad_multiple` so TensorRT sees few
//! shapes. Label maps come back padded and are cropped to the unpadded size here.
//!
//! Opacity: alpha is kept per working pixel (resampled with premultiplied colour when the
//! image is scaled down); `alpha::classify` turns it into opacity levels, and a pixel counts
//! as opaque for the phase-2 gate and the label clean-up when at least half of it is covered,
//! at every size. The models see each pixel's own colour, faded towards white only where it
//! is faint (see `OWN_COLOR_ALPHA`).

use image::imageops::FilterType;
use image::Rgba32FImage;

use crate::decode::DecodedImage;
use crate::model::{LabelMap, PlanarImage};
use crate::palette::Rgb8;

/// An image at the working resolution, ready for the phase models.
#[derive(Debug, Clone)]
pub struct WorkingImage {
    /// Unpadded working width.
    pub width: u32,
    /// Unpadded working height.
    pub height: u32,
    /// The padded model input (its size is a multiple of the pad multiple).
    pub padded: PlanarImage,
    /// Alpha of each unpadded working pixel, `[0, 1]`, row-major.
    pub alpha: Vec<f32>,
    /// The straight (not premultiplied) sRGB colour of each unpadded working pixel, three
    /// values in `[0, 1]` per pixel, row-major: the colour of a translucent area's ink.
    pub straight: Vec<f32>,
    /// Whether each unpadded working pixel is at least half covered (alpha ≥ 0.5).
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

/// Alpha from which the model sees a pixel's own colour; below it the colour fades to white.
/// The colour of a faint pixel is its stored (straight) colour, exact for an anti-aliased
/// rim or a shadow, but coarse when alpha is a few levels; compositing on white, as before,
/// turned every rim and shadow pale and made the labels of edges against transparency wrong.
const OWN_COLOR_ALPHA: f32 = 0.25;

/// The colour the models see for a straight colour `value` of alpha `alpha` (both `[0, 1]`).
fn model_value(value: f32, alpha: f32) -> f32 {
    let weight = (alpha / OWN_COLOR_ALPHA).clamp(0.0, 1.0);
    value * weight + (1.0 - weight)
}

/// Scales down (premultiplied, so transparent pixels lend no colour), fades faint pixels to
/// white, pads.
pub fn prepare(image: &DecodedImage, working_size: u32, pad_multiple: u32) -> WorkingImage {
    let (width, height) = working_dimensions(image.width, image.height, working_size);
    // Straight colour and alpha at the working size, as f32 in [0, 1].
    let (rgb, alpha): (Vec<f32>, Vec<f32>) = if (width, height) == (image.width, image.height) {
        let mut rgb = Vec::with_capacity(image.pixel_count() * 3);
        let mut alpha = Vec::with_capacity(image.pixel_count());
        for px in image.rgba.chunks_exact(4) {
            rgb.extend(px[..3].iter().map(|c| f32::from(*c) / 255.0));
            alpha.push(f32::from(px[3]) / 255.0);
        }
        (rgb, alpha)
    } else {
        let premultiplied: Vec<f32> = image
            .rgba
            .chunks_exact(4)
            .flat_map(|px| {
                let a = f32::from(px[3]) / 255.0;
                [
                    f32::from(px[0]) / 255.0 * a,
                    f32::from(px[1]) / 255.0 * a,
                    f32::from(px[2]) / 255.0 * a,
                    a,
                ]
            })
            .collect();
        resize_premultiplied(
            premultiplied,
            (image.width, image.height),
            (width, height),
            FilterType::Triangle,
        )
    };
    let opaque = alpha.iter().map(|a| *a >= 0.5).collect();

    let padded_width = round_up(width, pad_multiple);
    let padded_height = round_up(height, pad_multiple);
    let plane = padded_width as usize * padded_height as usize;
    let mut padded = PlanarImage::zeros(padded_width, padded_height);
    for y in 0..padded_height as usize {
        let source_y = y.min(height as usize - 1);
        for x in 0..padded_width as usize {
            let source_x = x.min(width as usize - 1);
            let source = source_y * width as usize + source_x;
            let target = y * padded_width as usize + x;
            for channel in 0..3 {
                padded.data[channel * plane + target] =
                    model_value(rgb[source * 3 + channel], alpha[source]);
            }
        }
    }
    WorkingImage {
        width,
        height,
        padded,
        alpha,
        straight: rgb,
        opaque,
    }
}

/// Resizes premultiplied RGBA (`from` pixels) to `to` with `filter`; straight colour (white
/// where nothing is covered) and alpha, both clamped to [0, 1].
fn resize_premultiplied(
    premultiplied: Vec<f32>,
    (from_width, from_height): (u32, u32),
    (width, height): (u32, u32),
    filter: FilterType,
) -> (Vec<f32>, Vec<f32>) {
    let source = Rgba32FImage::from_raw(from_width, from_height, premultiplied)
        .expect("buffer holds 4 values per pixel");
    let scaled = image::imageops::resize(&source, width, height, filter);
    let mut straight = Vec::with_capacity(width as usize * height as usize * 3);
    let mut alpha = Vec::with_capacity(width as usize * height as usize);
    for px in scaled.into_raw().chunks_exact(4) {
        let a = px[3].clamp(0.0, 1.0);
        for value in &px[..3] {
            straight.push(if a > 0.0 {
                (value / a).clamp(0.0, 1.0)
            } else {
                1.0
            });
        }
        alpha.push(a);
    }
    (straight, alpha)
}

/// The working image at `scale ×` its resolution, for phases 3 and 4 after phase 2 upscaled:
/// `upscaled` (the accepted phase-2 output, `scale ×` the padded working image) is the model
/// input; alpha and the straight colours of translucent pixels are resampled (Catmull-Rom,
/// premultiplied) from the working image, so the 50 % rule still decides coverage. Where the
/// resampled alpha is below one (the rim against transparency) the model, which saw those
/// pixels faded towards white, is not trusted: the model input there is the resampled straight
/// colour, faded the same way.
pub fn upscale(working: &WorkingImage, mut upscaled: PlanarImage, scale: u32) -> WorkingImage {
    let (width, height) = (working.width * scale, working.height * scale);
    debug_assert_eq!(upscaled.width, working.padded.width * scale);
    let premultiplied: Vec<f32> = working
        .straight
        .chunks_exact(3)
        .zip(&working.alpha)
        .flat_map(|(rgb, a)| [rgb[0] * a, rgb[1] * a, rgb[2] * a, *a])
        .collect();
    let (straight, alpha) = resize_premultiplied(
        premultiplied,
        (working.width, working.height),
        (width, height),
        FilterType::CatmullRom,
    );
    let opaque = alpha.iter().map(|a| *a >= 0.5).collect();
    let plane = upscaled.pixel_count();
    let stride = upscaled.width as usize;
    for y in 0..height as usize {
        for x in 0..width as usize {
            let index = y * width as usize + x;
            let a = alpha[index];
            if a >= RIM_ALPHA {
                continue;
            }
            for channel in 0..3 {
                upscaled.data[channel * plane + y * stride + x] =
                    model_value(straight[index * 3 + channel], a);
            }
        }
    }
    WorkingImage {
        width,
        height,
        padded: upscaled,
        alpha,
        straight,
        opaque,
    }
}

/// Below this resampled alpha an upscaled pixel is on the rim against transparency.
const RIM_ALPHA: f32 = 0.999;

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

/// Lossy input ([`lossy_palette_samples`]): the largest summed channel difference to every
/// drawn 4-neighbour for a pixel to be sampled. A JPEG's noise and blocking make few pixels
/// flat to [`FLAT_TOLERANCE`], so a small shape drawn as a gradient (a seat's dark base at
/// 128 px) had no sample and no colour; anti-aliased edges between distinct colours still
/// step by far more. (On clean artwork the same tolerance samples the blends between near
/// colours and cost flat icons 0.6 dB, so clean input keeps [`FLAT_TOLERANCE`].)
const SMOOTH_TOLERANCE: u32 = 36;

/// The colours an automatic palette learns from: the drawn pixels of the unpadded area of
/// `image` that are flat, i.e. close to their drawn 4-neighbours. Anti-aliased edge pixels
/// are blends of their neighbours; left out, they no longer pull palette entries towards
/// blend colours (which would then trace as thin rings around every shape), and at
/// quantisation they go to the nearer of the real colours either side.
///
/// The flag is `true` when the samples are noisy: too few flat pixels, so every drawn pixel
/// was taken.
pub fn palette_samples(
    image: &PlanarImage,
    width: u32,
    height: u32,
    opaque: &[bool],
) -> (Vec<Rgb8>, bool) {
    samples_within(image, width, height, opaque, FLAT_TOLERANCE)
}

/// [`palette_samples`] for lossy input (a JPEG upload, from its clean plate): the pixels
/// within [`SMOOTH_TOLERANCE`] of their drawn 4-neighbours, so smooth gradients count as
/// well as flat areas. The flag is the same as [`palette_samples`]'s (too few pixels flat to
/// [`FLAT_TOLERANCE`]: every drawn pixel taken).
pub fn lossy_palette_samples(
    image: &PlanarImage,
    width: u32,
    height: u32,
    opaque: &[bool],
) -> (Vec<Rgb8>, bool) {
    samples_within(image, width, height, opaque, SMOOTH_TOLERANCE)
}

/// Every drawn pixel of the unpadded area of `image`, in raster order.
pub fn drawn_pixels(image: &PlanarImage, width: u32, height: u32, opaque: &[bool]) -> Vec<Rgb8> {
    let (width, height) = (width as usize, height as usize);
    let stride = image.width as usize;
    (0..height)
        .flat_map(|y| (0..width).map(move |x| (y, x)))
        .filter(|(y, x)| opaque[y * width + x])
        .map(|(y, x)| Rgb8::from_unit(image.pixel(y * stride + x)))
        .collect()
}

fn samples_within(
    image: &PlanarImage,
    width: u32,
    height: u32,
    opaque: &[bool],
    tolerance: u32,
) -> (Vec<Rgb8>, bool) {
    let (width, height) = (width as usize, height as usize);
    let stride = image.width as usize;
    let colors: Vec<Rgb8> = (0..height)
        .flat_map(|y| (0..width).map(move |x| y * stride + x))
        .map(|index| Rgb8::from_unit(image.pixel(index)))
        .collect();
    let difference = |a: Rgb8, b: Rgb8| -> u32 {
        a.0.iter()
            .zip(b.0)
            .map(|(p, q)| u32::from(p.abs_diff(q)))
            .sum()
    };
    let mut all = Vec::new();
    let mut flat_count = 0usize;
    let mut sampled = Vec::new();
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
            let steepest = neighbours
                .into_iter()
                .flatten()
                .filter(|n| opaque[*n])
                .map(|n| difference(color, colors[n]))
                .max()
                .unwrap_or(0);
            if steepest <= FLAT_TOLERANCE {
                flat_count += 1;
            }
            if steepest <= tolerance {
                sampled.push(color);
            }
        }
    }
    if (flat_count as f64) < MIN_FLAT_SHARE * all.len() as f64 {
        (all, true)
    } else {
        (sampled, false)
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
        let (samples, noisy) = palette_samples(&image, 4, 1, &[true; 4]);
        assert_eq!(samples, vec![Rgb8([255, 0, 0])]);
        assert!(!noisy);
        // With the blend's neighbour transparent, the blue pixel is flat too.
        let (samples, _) = palette_samples(&image, 4, 1, &[true, true, false, true]);
        assert_eq!(
            samples,
            vec![Rgb8([255, 0, 0]), Rgb8([255, 0, 0]), Rgb8([0, 0, 255])]
        );
    }

    #[test]
    fn lossy_samples_keep_smooth_gradients_but_not_edges() {
        // Greys: flat 100s, a gentle ramp (8 levels a step), then a hard edge to 255.
        let greys = [100u8, 100, 100, 108, 116, 124, 255, 255];
        let mut image = PlanarImage::zeros(8, 1);
        for (x, grey) in greys.iter().enumerate() {
            for channel in 0..3 {
                image.data[channel * greys.len() + x] = f32::from(*grey) / 255.0;
            }
        }
        let opaque = [true; 8];
        let grey = |value: u8| Rgb8([value; 3]);
        let (strict, noisy) = palette_samples(&image, 8, 1, &opaque);
        assert_eq!(strict, vec![grey(100), grey(100), grey(255)]);
        assert!(!noisy);
        let (lossy, noisy) = lossy_palette_samples(&image, 8, 1, &opaque);
        assert_eq!(
            lossy,
            vec![
                grey(100),
                grey(100),
                grey(100),
                grey(108),
                grey(116),
                grey(255)
            ]
        );
        assert!(!noisy);
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
