//! The job input schema (DESIGN section 4), parsed and validated into a typed request.
//!
//! ```json
//! {"image": "<base64 PNG/JPEG/WebP, or a data: URI>", "image_url": "https://…",  (exactly one)
//!  "palette": ["FF0000", "#00ff00"], "max_colors": 16,
//!  "steering": {"enabled": true, "seed": 7, "strength": 0.6},
//!  "trace": {"mode": "auto|spline|polygon|pixel", "filter_speckle": 4},
//!  "alpha": "levels|threshold",
//!  "layout": "stacked|cutout", "gap_filler": 0.5,
//!  "formats": ["svg", "pdf", "eps", "dxf", "png"],
//!  "deadline_s": 60, "return_logs": false}
//! ```
//!
//! The image, `formats`, `deadline_s` and `return_logs` are the handler's; the rest are the
//! pipeline's [`JobOptions`], read straight into its types with their ranges
//! ([`crate::pipeline::request`]). Unknown keys are refused, as RunPod's validator does.
//! Every error names the field and the bad value.
//!
//! `formats` defaults to `["svg"]`; it must not be empty, and a format listed twice is an
//! error (a job asks for each file once). The job-level `s3Config` (beside `input`, as RunPod
//! sends it) is parsed by [`parse_s3_config`].

use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

use crate::delivery::{Bucket, BucketFields, BucketOrigin, BucketSettings};
use crate::output::Format;
use crate::pipeline::request::field_names;
use crate::pipeline::JobOptions;

/// Image types accepted in a `data:` URI.
const DATA_URI_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/jpg",
    "image/webp",
    "image/gif",
    "image/bmp",
];

/// A request field that cannot be used, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct RequestError {
    /// The field (`palette[2]`, `steering.seed`, `image`).
    pub field: String,
    /// The bad value and what is allowed.
    pub message: String,
}

impl RequestError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The job input's own keys; the rest are the pipeline's [`JobOptions`].
#[derive(Debug, Deserialize)]
struct RawRequest {
    image: Option<String>,
    image_url: Option<String>,
    formats: Option<Vec<String>>,
    deadline_s: Option<f64>,
    return_logs: Option<bool>,
}

/// Where the image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// Decoded bytes from `image`.
    Inline(Vec<u8>),
    /// `image_url`, still to download.
    Url(String),
}

/// A validated job request.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRequest {
    /// The image.
    pub source: ImageSource,
    /// What the pipeline is asked for: palette, colours, steering, tracing, alpha, layout.
    pub options: JobOptions,
    /// The output files, in the order asked for, each once (default `[svg]`).
    pub formats: Vec<Format>,
    /// Lowers the worker's job deadline.
    pub deadline: Option<Duration>,
    /// Return the job's log lines with the result.
    pub return_logs: bool,
}

/// Reads only `deadline_s`, for the runtime's deadline hook (before full parsing).
pub fn requested_deadline(input: &Value) -> Option<Duration> {
    let seconds = input.get("deadline_s")?.as_f64()?;
    (seconds.is_finite() && seconds > 0.0).then(|| Duration::from_secs_f64(seconds.min(1e9)))
}

/// Parses and validates a job's `input`. `max_image_bytes` bounds the decoded `image`.
pub fn parse(input: &Value, max_image_bytes: u64) -> Result<JobRequest, RequestError> {
    let Some(object) = input.as_object() else {
        return Err(RequestError::new(
            "input",
            format!("{} is not a JSON object", short(input)),
        ));
    };
    // Unknown keys are refused, as RunPod's validator does: the known ones are this
    // module's and the pipeline's.
    let known = [field_names::<RawRequest>(), field_names::<JobOptions>()].concat();
    if let Some(key) = object.keys().find(|key| !known.contains(&key.as_str())) {
        let expected: Vec<String> = known.iter().map(|name| format!("`{name}`")).collect();
        return Err(RequestError::new(
            key.as_str(),
            format!(
                "unknown field `{key}`, expected one of {}",
                expected.join(", ")
            ),
        ));
    }
    let raw: RawRequest = read(input)?;
    let options: JobOptions = read(input)?;

    let source = match (raw.image, raw.image_url) {
        (Some(_), Some(_)) => {
            return Err(RequestError::new(
                "image",
                "both image and image_url are given; give exactly one",
            ))
        }
        (None, None) => {
            return Err(RequestError::new(
                "image",
                "neither image nor image_url is given; give exactly one",
            ))
        }
        (Some(image), None) => ImageSource::Inline(decode_image_field(&image, max_image_bytes)?),
        (None, Some(url)) => {
            if url.trim().is_empty() {
                return Err(RequestError::new("image_url", "\"\" is empty"));
            }
            ImageSource::Url(url)
        }
    };

    let formats = match raw.formats {
        None => vec![Format::Svg],
        Some(values) => parse_formats(&values)?,
    };

    let deadline = raw
        .deadline_s
        .map(|seconds| {
            if seconds.is_finite() && seconds > 0.0 {
                Ok(Duration::from_secs_f64(seconds.min(1e9)))
            } else {
                Err(RequestError::new(
                    "deadline_s",
                    format!("{seconds} is not a positive number of seconds"),
                ))
            }
        })
        .transpose()?;

    Ok(JobRequest {
        source,
        options,
        formats,
        deadline,
        return_logs: raw.return_logs.unwrap_or(false),
    })
}

/// Reads `input` as `T`; an error names the path of the bad value (`steering.strength`).
fn read<T: serde::de::DeserializeOwned>(input: &Value) -> Result<T, RequestError> {
    serde_path_to_error::deserialize(input).map_err(|error| {
        let path = error.path().to_string();
        let field = if path == "." {
            "input".to_owned()
        } else {
            path
        };
        RequestError::new(field, error.into_inner().to_string())
    })
}

/// `formats`: known names, at least one, each once.
fn parse_formats(values: &[String]) -> Result<Vec<Format>, RequestError> {
    if values.is_empty() {
        return Err(RequestError::new(
            "formats",
            format!("[] is empty; give one or more of {}", Format::valid_names()),
        ));
    }
    let mut formats: Vec<Format> = Vec::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        let format: Format = value.parse().map_err(|_| {
            RequestError::new(
                format!("formats[{index}]"),
                format!(
                    "{:?} is not a format; use svg, pdf, eps, dxf or png",
                    short_str(value)
                ),
            )
        })?;
        if formats.contains(&format) {
            return Err(RequestError::new(
                format!("formats[{index}]"),
                format!("{value:?} is listed twice; give each format once"),
            ));
        }
        formats.push(format);
    }
    Ok(formats)
}

/// The job-level `s3Config` (`{"endpointUrl", "accessId", "accessSecret", "bucketName"}`, as
/// RunPod's `/run` takes it): a bucket of the job's own, which obeys the address policy of
/// `image_url` when it is used. `bucketName` may be left out when `endpointUrl` ends in the
/// bucket. Errors name the key and never show `accessSecret`.
pub fn parse_s3_config(value: &Value) -> Result<Bucket, RequestError> {
    // The value is not shown: it may be the secret itself, misplaced.
    let object = value.as_object().ok_or_else(|| {
        let kind = match value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        };
        RequestError::new("s3Config", format!("is {kind}, not a JSON object"))
    })?;
    const KEYS: [&str; 4] = ["endpointUrl", "accessId", "accessSecret", "bucketName"];
    if let Some(unknown) = object.keys().find(|key| !KEYS.contains(&key.as_str())) {
        return Err(RequestError::new(
            format!("s3Config.{unknown}"),
            format!(
                "unknown key `{unknown}`, expected one of {}",
                KEYS.map(|key| format!("`{key}`")).join(", ")
            ),
        ));
    }
    let text = |key: &str, required: bool| -> Result<Option<&str>, RequestError> {
        match object.get(key) {
            None | Some(Value::Null) if required => Err(RequestError::new(
                format!("s3Config.{key}"),
                "is missing; s3Config needs endpointUrl, accessId and accessSecret (and bucketName unless endpointUrl ends in the bucket)",
            )),
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.as_str())),
            Some(other) => Err(RequestError::new(
                format!("s3Config.{key}"),
                if key == "accessSecret" {
                    "is not a string".to_owned()
                } else {
                    format!("{} is not a string", short(other))
                },
            )),
        }
    };
    let settings = BucketSettings {
        endpoint_url: text("endpointUrl", true)?.unwrap_or_default(),
        bucket_name: text("bucketName", false)?,
        access_key_id: text("accessId", true)?.unwrap_or_default(),
        secret_access_key: text("accessSecret", true)?.unwrap_or_default(),
        region: None,
    };
    Bucket::new(&settings, BucketFields::JOB, BucketOrigin::Job)
        .map_err(|error| RequestError::new(error.field, error.message))
}

/// Decodes `image`: plain base64, or a `data:image/…;base64,` URI.
fn decode_image_field(value: &str, max_bytes: u64) -> Result<Vec<u8>, RequestError> {
    let payload = if let Some(rest) = value.strip_prefix("data:") {
        let (header, data) = rest.split_once(',').ok_or_else(|| {
            RequestError::new(
                "image",
                format!("data URI {:?} has no comma", short_str(value)),
            )
        })?;
        let mut parts = header.split(';');
        let media_type = parts.next().unwrap_or_default().to_ascii_lowercase();
        if !DATA_URI_TYPES.contains(&media_type.as_str()) {
            return Err(RequestError::new(
                "image",
                format!(
                    "data URI type {media_type:?} is not supported; use one of {}",
                    DATA_URI_TYPES.join(", ")
                ),
            ));
        }
        if !parts.any(|p| p.eq_ignore_ascii_case("base64")) {
            return Err(RequestError::new(
                "image",
                "data URI is not base64-encoded (expected \";base64,\")",
            ));
        }
        data
    } else {
        value
    };
    let compact: String = payload
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    if compact.is_empty() {
        return Err(RequestError::new("image", "\"\" is empty"));
    }
    // Refuse before decoding: base64 carries 3 bytes per 4 characters.
    let decoded_size = compact.len() as u64 / 4 * 3;
    if decoded_size > max_bytes {
        return Err(RequestError::new(
            "image",
            format!("about {decoded_size} bytes decoded, over the limit of {max_bytes} bytes"),
        ));
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine.decode(compact.as_bytes()).map_err(|error| {
        RequestError::new(
            "image",
            format!("{:?} is not valid base64: {error}", short_str(&compact)),
        )
    })
}

fn short_str(value: &str) -> String {
    if value.chars().count() <= 40 {
        value.to_owned()
    } else {
        format!("{}…", value.chars().take(40).collect::<String>())
    }
}

fn short(value: &Value) -> String {
    short_str(&value.to_string())
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
