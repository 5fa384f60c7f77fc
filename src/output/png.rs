//! PNG: the SVG rendered by resvg at its own size on a transparent background. This is also
//! the CLI's `--preview`.

use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg;

use super::{EncodeLimits, Format, OutputError};

/// Rows rendered at once: the job's cancellation is checked between bands.
const BAND_ROWS: u32 = 512;

/// Renders `svg` at its own size (width and height rounded up to whole pixels), refusing
/// pictures of more than `max_pixels`.
pub fn render(svg: &str, max_pixels: u64) -> Result<Pixmap, OutputError> {
    render_tree(&super::parse(svg)?, max_pixels, &EncodeLimits::UNBOUNDED)
}

/// Renders a parsed tree; see [`render`]. Bands of [`BAND_ROWS`] rows are rendered one after
/// another (each through a clip of the whole picture, so the pixels are the same as one
/// render's), with the job's cancellation checked between them.
pub(crate) fn render_tree(
    tree: &usvg::Tree,
    max_pixels: u64,
    limits: &EncodeLimits<'_>,
) -> Result<Pixmap, OutputError> {
    let size = tree.size().to_int_size();
    let (width, height) = (size.width(), size.height());
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(OutputError::TooLarge {
            width,
            height,
            max_pixels,
        });
    }
    // Pixmap::new fails only for a size whose byte count overflows.
    let mut pixmap = Pixmap::new(width, height).ok_or(OutputError::TooLarge {
        width,
        height,
        max_pixels,
    })?;
    if height <= BAND_ROWS {
        limits.check_cancel(Format::Png)?;
        resvg::render(tree, Transform::default(), &mut pixmap.as_mut());
        return Ok(pixmap);
    }
    let mut band = Pixmap::new(width, BAND_ROWS).ok_or(OutputError::TooLarge {
        width,
        height,
        max_pixels,
    })?;
    let row_bytes = width as usize * 4;
    let mut top = 0u32;
    while top < height {
        limits.check_cancel(Format::Png)?;
        let rows = BAND_ROWS.min(height - top);
        band.fill(resvg::tiny_skia::Color::TRANSPARENT);
        resvg::render(
            tree,
            Transform::from_translate(0.0, -(top as f32)),
            &mut band.as_mut(),
        );
        let start = top as usize * row_bytes;
        let length = rows as usize * row_bytes;
        pixmap.data_mut()[start..start + length].copy_from_slice(&band.data()[..length]);
        top += rows;
    }
    Ok(pixmap)
}

/// The PNG file of a parsed tree.
pub(crate) fn encode_tree(
    tree: &usvg::Tree,
    max_pixels: u64,
    limits: &EncodeLimits<'_>,
) -> Result<Vec<u8>, OutputError> {
    render_tree(tree, max_pixels, limits)?
        .encode_png()
        .map_err(|error| OutputError::Encode {
            format: Format::Png,
            message: error.to_string(),
        })
}
