//! The handler's input and output limits (`handler.toml [input]` and `[output]`). The handler
//! owns these types; `crate::settings` reads them from `handler.toml` (ranges on the fields,
//! [`crate::fields`]).

use std::time::Duration;

use serde::Deserialize;

use crate::fields;
use crate::pipeline::DecodeLimits;

/// Input limits from `handler.toml [input]`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct InputLimits {
    /// Largest image payload, bytes.
    #[serde(deserialize_with = "fields::int::<_, u64, 1, { 1 << 32 }>")]
    pub max_image_bytes: u64,
    /// Largest image, pixels.
    #[serde(deserialize_with = "fields::int::<_, u64, 1, { 1 << 32 }>")]
    pub max_pixels: u64,
    /// `image_url` download timeout.
    #[serde(
        rename = "download_timeout_s",
        deserialize_with = "fields::seconds::<_, 600>"
    )]
    pub download_timeout: Duration,
    /// Memory the worker's jobs may hold at once (their estimates), bytes. In the file, MiB:
    /// room for one job at the default working size at least, 4 TiB at most.
    #[serde(
        rename = "memory_budget_mb",
        deserialize_with = "fields::mebibytes::<_, 512, { 4 << 20 }>"
    )]
    pub memory_budget_bytes: u64,
}

impl From<&InputLimits> for DecodeLimits {
    fn from(limits: &InputLimits) -> Self {
        Self {
            max_bytes: limits.max_image_bytes,
            max_pixels: limits.max_pixels,
        }
    }
}

/// Output limits from `handler.toml [output]`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct OutputLimits {
    /// Largest inline SVG, bytes.
    #[serde(deserialize_with = "fields::int::<_, usize, 1, 20_000_000>")]
    pub max_inline_bytes: usize,
    /// Largest uploaded output file (each format, the SVG included), bytes.
    #[serde(deserialize_with = "fields::int::<_, usize, 1, 2_000_000_000>")]
    pub max_file_bytes: usize,
    /// How long the presigned URL of an uploaded output stays valid (SigV4 allows 7 days).
    #[serde(
        rename = "presign_expiry_s",
        deserialize_with = "fields::seconds::<_, 604_800>"
    )]
    pub presign_expiry: Duration,
    /// One upload request's timeout.
    #[serde(
        rename = "upload_timeout_s",
        deserialize_with = "fields::seconds::<_, 3600>"
    )]
    pub upload_timeout: Duration,
    /// Retries of a failed upload request (5xx, connection errors, timeouts).
    #[serde(deserialize_with = "fields::int::<_, usize, 0, 10>")]
    pub upload_retries: usize,
}
