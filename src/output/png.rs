//! PNG: the SVG rendered by resvg at its own size on a transparent background. This is also
//! the CLI's `--preview`.

use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg;

use super::{Format, OutputError};

/// Renders `svg` at its own size (width and height rounded up to whole pixels), refusing
/// pictures of more than `max_pixels`.
pub fn render(svg: &str, max_pixels: u64) -> Result<Pixmap, OutputError> {
    render_tree(&super::parse(svg)?, max_pixels)
}

/// Renders a parsed tree; see [`render`].
pub(crate) fn render_tree(tree: &usvg::Tree, max_pixels: u64) -> Result<Pixmap, OutputError> {
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
    resvg::render(tree, Transform::default(), &mut pixmap.as_mut());
    Ok(pixmap)
}

/// The PNG file of a parsed tree.
pub(crate) fn encode_tree(tree: &usvg::Tree, max_pixels: u64) -> Result<Vec<u8>, OutputError> {
    render_tree(tree, max_pixels)?
        .encode_png()
        .map_err(|error| OutputError::Encode {
            format: Format::Png,
            message: error.to_string(),
        })
}
