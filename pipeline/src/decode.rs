//! Decoding: bytes in, an oriented RGBA8 image out.
//!
//! Limits come first. The byte length is checked before anything is parsed, and the pixel
//! count is read from the header alone (no pixel buffer exists yet), so a decompression bomb
//! such as a PNG that declares 100000×100000 is refused in microseconds. Every pass runs
//! under `image`'s allocation limit (`max_alloc`, which the PNG decoder also applies to its
//! ancillary chunks): the header pass may allocate at most [`METADATA_ALLOC`] bytes, so a
//! colour profile (`iCCP`) that inflates to gigabytes stops at that bound; the decoding pass
//! may allocate what the declared size needs plus the same allowance. The PNG decoder drops a
//! profile over its limit without a word, so such a file is refused here first: its profile
//! is inflated into a counting sink (constant memory) and refused past the allowance. EXIF orientation is
//! honoured; alpha is kept. This module does not resize: the working resolution is the
//! orchestrator's business. [`probe`] reads the header alone, for the handler's memory
//! estimate before any pixel buffer exists.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use super::{Phase, PipelineError, PipelineErrorKind};

/// The request field that carries the image, named in every decode error.
const IMAGE_FIELD: &str = "image";

/// Limits checked before a pixel buffer is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest encoded payload, in bytes.
    pub max_bytes: u64,
    /// Largest image, in pixels (width × height, after orientation it is the same number).
    pub max_pixels: u64,
}

/// A decoded image: straight (not premultiplied) RGBA, 8 bits per channel, row-major, with
/// EXIF orientation already applied.
#[derive(Clone, PartialEq, Eq)]
pub struct DecodedImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `4 * width * height` bytes: red, green, blue, alpha per pixel.
    pub rgba: Vec<u8>,
    /// Whether it came from a lossy format (JPEG, lossy WebP): its flat colours carry
    /// compression noise, and the pipeline treats it accordingly.
    pub lossy: bool,
}

impl std::fmt::Debug for DecodedImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DecodedImage({}x{})", self.width, self.height)
    }
}

impl DecodedImage {
    /// Wraps an RGBA8 buffer; `None` when its length is not `4 * width * height` or a side
    /// is zero.
    pub fn from_rgba(width: u32, height: u32, rgba: Vec<u8>) -> Option<Self> {
        let expected = 4usize
            .checked_mul(width as usize)?
            .checked_mul(height as usize)?;
        (width > 0 && height > 0 && rgba.len() == expected).then_some(Self {
            width,
            height,
            rgba,
            lossy: false,
        })
    }

    /// Number of pixels.
    pub fn pixel_count(&self) -> usize {
        self.width as usize * self.height as usize
    }
}

fn invalid(message: String) -> PipelineError {
    PipelineError::new(
        Phase::Decode,
        PipelineErrorKind::InvalidInput {
            field: IMAGE_FIELD.to_owned(),
            message,
        },
    )
}

/// The formats we accept, by name, for error messages.
const ACCEPTED: &str = "PNG, JPEG, WebP, GIF or BMP";

/// What the decoder may allocate for everything but the pixels: colour profile, EXIF,
/// text chunks and the decoders' own tables. Real ICC profiles are a few kilobytes (large
/// printer profiles about a megabyte); a profile that inflates past this is refused.
pub const METADATA_ALLOC: u64 = 32 << 20;

/// An image's header: its format and declared size, read without a pixel buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageHeader {
    /// The container format.
    pub format: ImageFormat,
    /// Declared width in pixels (before EXIF orientation).
    pub width: u32,
    /// Declared height in pixels (before EXIF orientation).
    pub height: u32,
}

impl ImageHeader {
    /// Declared pixels, width × height.
    pub fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

/// Reads the header of PNG, JPEG, WebP (and GIF, BMP) bytes under `limits`: the byte length,
/// the format, and the declared size against the pixel limit. No pixel buffer is allocated,
/// and the header pass allocates at most [`METADATA_ALLOC`] bytes (ancillary chunks such as
/// a compressed colour profile included). Every error is `InvalidInput` on the `image` field.
pub fn probe(bytes: &[u8], limits: &DecodeLimits) -> Result<ImageHeader, PipelineError> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(invalid(format!(
            "{} bytes is larger than the limit of {} bytes",
            bytes.len(),
            limits.max_bytes
        )));
    }
    if bytes.is_empty() {
        return Err(invalid("is empty (0 bytes)".to_owned()));
    }
    let format = image::guess_format(bytes).map_err(|_| {
        invalid(format!(
            "is not a {ACCEPTED} image (first bytes: {})",
            hex_prefix(bytes)
        ))
    })?;
    if !matches!(
        format,
        ImageFormat::Png
            | ImageFormat::Jpeg
            | ImageFormat::WebP
            | ImageFormat::Gif
            | ImageFormat::Bmp
    ) {
        return Err(invalid(format!(
            "{format:?} images are not accepted; send {ACCEPTED}"
        )));
    }

    if format == ImageFormat::Png {
        check_png_chunks(bytes)?;
    }
    // The header alone: no pixel buffer exists yet, and metadata is bounded.
    let mut header_reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut header_limits = Limits::default();
    header_limits.max_alloc = Some(METADATA_ALLOC);
    header_reader.limits(header_limits);
    let (width, height) = guard(format, || header_reader.into_dimensions())?
        .map_err(|error| header_error(format, &error))?;
    let header = ImageHeader {
        format,
        width,
        height,
    };
    let pixels = header.pixels();
    if pixels > limits.max_pixels {
        return Err(invalid(format!(
            "{width}x{height} is {pixels} pixels, more than the limit of {} pixels",
            limits.max_pixels
        )));
    }
    if pixels == 0 {
        return Err(invalid(format!("{width}x{height} has no pixels")));
    }
    Ok(header)
}

/// Checks the PNG chunks before the first `IDAT` (where `PLTE` and `iCCP` must be) for what
/// the decoder does not refuse by itself:
///
/// - a colour profile that inflates past [`METADATA_ALLOC`] (the decoder would drop it
///   silently; a corrupt profile stream is left to it, it ignores the profile);
/// - a palette that is not a whole number of 3-byte entries (png 0.18.1 accepts it and then
///   panics expanding it; found by tests/fuzz_inputs.rs, kept in tests/fixtures/fuzz/).
///
/// Other malformed chunks are left to the decoder.
fn check_png_chunks(bytes: &[u8]) -> Result<(), PipelineError> {
    let mut at = 8;
    let mut profile_seen = false;
    while let Some(header) = bytes.get(at..at + 8) {
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let kind = &header[4..8];
        let start = at + 8;
        let Some(data) = start
            .checked_add(length)
            .and_then(|end| bytes.get(start..end))
        else {
            return Ok(());
        };
        match kind {
            b"IDAT" | b"IEND" => return Ok(()),
            b"PLTE" if !length.is_multiple_of(3) => {
                return Err(invalid(format!(
                    "its PNG palette (PLTE chunk) is {length} bytes, not a whole number of 3-byte colours"
                )))
            }
            b"iCCP" if !profile_seen => {
                profile_seen = true;
                // Profile name, NUL, compression method, then the zlib stream.
                let stream = data
                    .iter()
                    .position(|b| *b == 0)
                    .and_then(|nul| data.get(nul + 2..))
                    .unwrap_or_default();
                let mut inflater =
                    std::io::Read::take(flate2::read::ZlibDecoder::new(stream), METADATA_ALLOC + 1);
                let inflated = std::io::copy(&mut inflater, &mut std::io::sink()).unwrap_or(0);
                if inflated > METADATA_ALLOC {
                    return Err(invalid(format!(
                        "its colour profile (PNG iCCP chunk) inflates to more than {} MiB, the limit for metadata; real profiles are a few kilobytes",
                        METADATA_ALLOC >> 20
                    )));
                }
                // The decoder reads the first profile only (a second one is not inflated
                // here either); keep looking for PLTE.
                at = start + length + 4;
            }
            _ => at = start + length + 4,
        }
    }
    Ok(())
}

fn header_error(format: ImageFormat, error: &image::ImageError) -> PipelineError {
    match error {
        image::ImageError::Limits(_) => invalid(format!(
            "the {format:?} header needs more than {} MiB of metadata (a colour profile or \
             other chunk that inflates too far): {error}",
            METADATA_ALLOC >> 20
        )),
        _ => invalid(format!("cannot read the {format:?} header: {error}")),
    }
}

/// Bytes the decoding pass may allocate for an image of `pixels`: the decoded buffer at
/// 16 bits per channel (8 bytes a pixel) and the RGBA8 copy, with room to spare, plus the
/// metadata allowance.
pub fn decode_alloc_limit(pixels: u64) -> u64 {
    pixels.saturating_mul(16).saturating_add(METADATA_ALLOC)
}

/// Decodes PNG, JPEG, WebP (and GIF, BMP) bytes, enforcing `limits` before allocating and
/// applying EXIF orientation. Every error is `InvalidInput` on the `image` field.
pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<DecodedImage, PipelineError> {
    let ImageHeader {
        format,
        width,
        height,
    } = probe(bytes, limits)?;
    let pixels = u64::from(width) * u64::from(height);

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut decoder_limits = Limits::default();
    decoder_limits.max_image_width = Some(width);
    decoder_limits.max_image_height = Some(height);
    decoder_limits.max_alloc = Some(decode_alloc_limit(pixels));
    reader.limits(decoder_limits);
    let image = guard(format, || -> Result<DynamicImage, image::ImageError> {
        let mut decoder = reader.into_decoder()?;
        // A broken EXIF block is not worth refusing the image over: keep it upright as stored.
        let orientation = decoder
            .orientation()
            .unwrap_or(image::metadata::Orientation::NoTransforms);
        let mut image = DynamicImage::from_decoder(decoder)?;
        image.apply_orientation(orientation);
        Ok(image)
    })?
    .map_err(|error| invalid(format!("cannot decode the {format:?} image: {error}")))?;
    let rgba = image.into_rgba8();
    let (width, height) = rgba.dimensions();
    Ok(DecodedImage {
        width,
        height,
        rgba: rgba.into_raw(),
        lossy: is_lossy(format, bytes),
    })
}

/// JPEG always; WebP when its first chunk is `VP8 ` (lossy) rather than `VP8L` or `VP8X`
/// (an extended file is taken as lossless: its image chunk is not looked for).
fn is_lossy(format: ImageFormat, bytes: &[u8]) -> bool {
    match format {
        ImageFormat::Jpeg => true,
        ImageFormat::WebP => bytes.get(12..16) == Some(b"VP8 "),
        _ => false,
    }
}

/// Runs a third-party decoder; a panic in it (a decoder bug on malformed input) becomes an
/// `InvalidInput` error on `image` instead of taking the job down. The decoders only read
/// the byte slice and build values they own, so nothing is left half-updated.
fn guard<T>(format: ImageFormat, work: impl FnOnce() -> T) -> Result<T, PipelineError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).map_err(|_| {
        invalid(format!(
            "the {format:?} decoder panicked on this file (a decoder bug on malformed data)"
        ))
    })
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: DecodeLimits = DecodeLimits {
        max_bytes: 1 << 20,
        max_pixels: 1 << 20,
    };

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbaImage::from_pixel(width, height, image::Rgba([10, 20, 30, 255]));
        let mut bytes = Vec::new();
        DynamicImage::ImageRgba8(image)
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        bytes
    }

    #[test]
    fn decodes_a_png_with_its_alpha() {
        let decoded = decode(&png(3, 2), &LIMITS).unwrap();
        assert_eq!((decoded.width, decoded.height), (3, 2));
        assert_eq!(&decoded.rgba[..4], &[10, 20, 30, 255]);
    }

    #[test]
    fn refuses_too_many_bytes_naming_both_numbers() {
        let limits = DecodeLimits {
            max_bytes: 10,
            max_pixels: 100,
        };
        let error = decode(&png(3, 2), &limits).unwrap_err();
        assert_eq!(error.phase, Phase::Decode);
        let message = error.to_string();
        assert!(message.contains("limit of 10 bytes"), "{message}");
    }

    #[test]
    fn refuses_garbage_naming_its_first_bytes() {
        let error = decode(b"hello world", &LIMITS).unwrap_err();
        assert!(error.to_string().contains("68656c6c6f20776f"), "{error}");
        let error = decode(b"", &LIMITS).unwrap_err();
        assert!(error.to_string().contains("empty"), "{error}");
    }

    #[test]
    fn truncated_png_is_invalid_input() {
        let bytes = png(64, 64);
        let error = decode(&bytes[..bytes.len() / 2], &LIMITS).unwrap_err();
        assert!(matches!(
            error.kind,
            PipelineErrorKind::InvalidInput { ref field, .. } if field == "image"
        ));
    }

    #[test]
    fn a_palette_that_is_not_whole_colours_is_invalid_input() {
        // Found by tests/fuzz_inputs.rs: png 0.18.1 panics expanding a 4-byte PLTE.
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/fuzz/plte-4-bytes.png"
        ))
        .unwrap();
        let error = decode(&bytes, &LIMITS).unwrap_err();
        assert_eq!(
            error.to_string(),
            "decode: image: its PNG palette (PLTE chunk) is 4 bytes, not a whole number of 3-byte colours"
        );
    }

    #[test]
    fn a_decoder_panic_becomes_invalid_input() {
        let error = guard(ImageFormat::Png, || panic!("a decoder bug")).unwrap_err();
        assert!(
            error.to_string().ends_with(
                "the Png decoder panicked on this file (a decoder bug on malformed data)"
            ),
            "{error}"
        );
        assert_eq!(guard(ImageFormat::Png, || 7).unwrap(), 7);
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = decode(&bytes, &LIMITS);
        }

        #[test]
        fn decode_never_panics_on_corrupted_png(position in 0usize..200, value in proptest::num::u8::ANY) {
            let mut bytes = png(8, 8);
            let index = position % bytes.len();
            bytes[index] = value;
            let _ = decode(&bytes, &LIMITS);
        }
    }
}
