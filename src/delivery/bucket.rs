//! A bucket's settings: where it is (endpoint, bucket, path or virtual-hosted style, region)
//! and the credentials, from RunPod's `BUCKET_*` environment variables or a job's `s3Config`,
//! validated with errors that name the setting and never the secret; and
//! [`Destination`], a bucket whose endpoint has passed the address policy.

use std::fmt;
use std::net::SocketAddr;

use reqwest::Url;

use super::{DeliveryError, DEFAULT_REGION};
use crate::download::{redact_url, resolve_checked};

/// The operator's bucket variables, as RunPod names them.
pub const ENV_ENDPOINT: &str = "BUCKET_ENDPOINT_URL";
/// The access key id variable.
pub const ENV_ACCESS_KEY_ID: &str = "BUCKET_ACCESS_KEY_ID";
/// The secret access key variable.
pub const ENV_SECRET_ACCESS_KEY: &str = "BUCKET_SECRET_ACCESS_KEY";
/// Optional: the bucket, when `BUCKET_ENDPOINT_URL` does not end in it.
pub const ENV_BUCKET_NAME: &str = "BUCKET_NAME";
/// Optional: the signing region, when the endpoint's host does not name it.
pub const ENV_REGION: &str = "BUCKET_REGION";

/// A secret that shows as `***` in `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the signer only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Who named the bucket: the operator's environment is trusted; a job's `s3Config` obeys
/// the address policy of `image_url`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketOrigin {
    /// `BUCKET_ENDPOINT_URL` and friends.
    Environment,
    /// The job's `s3Config`.
    Job,
}

/// Why a bucket's settings cannot be used. The caller names the field (an environment
/// variable or an `s3Config` key); the message names the bad value, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct BucketConfigError {
    /// `BUCKET_ENDPOINT_URL`, `s3Config.endpointUrl`, ...
    pub field: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl BucketConfigError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The names of a bucket's settings, for error messages.
#[derive(Debug, Clone, Copy)]
pub struct BucketFields {
    /// The endpoint URL's field.
    pub endpoint: &'static str,
    /// The bucket name's field.
    pub bucket: &'static str,
    /// The access key id's field.
    pub access_key_id: &'static str,
    /// The secret's field.
    pub secret: &'static str,
}

impl BucketFields {
    /// RunPod's environment variables.
    pub const ENVIRONMENT: BucketFields = BucketFields {
        endpoint: ENV_ENDPOINT,
        bucket: ENV_BUCKET_NAME,
        access_key_id: ENV_ACCESS_KEY_ID,
        secret: ENV_SECRET_ACCESS_KEY,
    };
    /// A job's `s3Config` keys.
    pub const JOB: BucketFields = BucketFields {
        endpoint: "s3Config.endpointUrl",
        bucket: "s3Config.bucketName",
        access_key_id: "s3Config.accessId",
        secret: "s3Config.accessSecret",
    };
}

/// A bucket to deliver to: where it is, how to address it and the credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Bucket {
    /// The endpoint: scheme, host, port (no bucket path, no credentials).
    pub(super) endpoint: Url,
    pub(super) name: String,
    pub(super) virtual_hosted: bool,
    pub(super) region: String,
    pub(super) access_key_id: String,
    pub(super) secret_access_key: Secret,
    pub(super) origin: BucketOrigin,
}

impl fmt::Debug for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bucket")
            .field("endpoint", &self.endpoint.as_str())
            .field("name", &self.name)
            .field("virtual_hosted", &self.virtual_hosted)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key)
            .field("origin", &self.origin)
            .finish()
    }
}

/// The plain settings of a bucket, before validation.
#[derive(Debug, Clone)]
pub struct BucketSettings<'a> {
    /// The endpoint URL, optionally ending in the bucket name.
    pub endpoint_url: &'a str,
    /// The bucket, when the URL does not name it.
    pub bucket_name: Option<&'a str>,
    /// The access key id.
    pub access_key_id: &'a str,
    /// The secret access key.
    pub secret_access_key: &'a str,
    /// The signing region, when the endpoint's host does not name it.
    pub region: Option<&'a str>,
}

impl Bucket {
    /// Validates a bucket's settings; errors name the field from `fields`.
    pub fn new(
        settings: &BucketSettings<'_>,
        fields: BucketFields,
        origin: BucketOrigin,
    ) -> Result<Bucket, BucketConfigError> {
        let raw = settings.endpoint_url.trim();
        let shown = redact_url(raw);
        let bad = |message: String| BucketConfigError::new(fields.endpoint, message);
        let mut url = Url::parse(raw)
            .map_err(|error| bad(format!("{shown:?} is not a valid URL: {error}")))?;
        runpod::check_web_url(&url).map_err(|error| bad(format!("{shown:?} {error}")))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(format!(
                "{shown:?} carries credentials; give them as {} and {}",
                fields.access_key_id, fields.secret
            )));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad(format!(
                "{shown:?} has a query or fragment; give the endpoint only"
            )));
        }
        let segments: Vec<String> = url
            .path_segments()
            .map(|parts| {
                parts
                    .filter(|part| !part.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if segments.len() > 1 {
            return Err(bad(format!(
                "{shown:?} has a path beyond the bucket name; give https://host[:port][/bucket]"
            )));
        }
        let from_url = segments.into_iter().next();
        let given = settings
            .bucket_name
            .map(str::trim)
            .filter(|name| !name.is_empty());
        let name = match (from_url, given) {
            (Some(in_url), Some(given)) if in_url != given => {
                return Err(BucketConfigError::new(
                    fields.bucket,
                    format!("{given:?} differs from the bucket {in_url:?} in {shown:?}; give one"),
                ))
            }
            (Some(name), _) => name,
            (None, Some(given)) => given.to_owned(),
            (None, None) => match url.host_str().and_then(bucket_from_host) {
                // RunPod's docs' own form: https://my-bucket.nyc3.digitaloceanspaces.com
                Some(name) => name,
                None => {
                    return Err(bad(format!(
                    "{shown:?} names no bucket: end the URL in it (https://host/bucket) or set {}",
                    fields.bucket
                )))
                }
            },
        };
        check_bucket_name(&name)
            .map_err(|message| BucketConfigError::new(fields.bucket, message))?;
        url.set_path("");
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let virtual_hosted = host.starts_with(&format!("{}.", name.to_ascii_lowercase()));
        let access_key_id = settings.access_key_id.trim();
        if access_key_id.is_empty() {
            return Err(BucketConfigError::new(fields.access_key_id, "is empty"));
        }
        if settings.secret_access_key.is_empty() {
            return Err(BucketConfigError::new(fields.secret, "is empty"));
        }
        let region = settings
            .region
            .map(str::trim)
            .filter(|region| !region.is_empty())
            .map(str::to_owned)
            .or_else(|| region_from_host(&host))
            .unwrap_or_else(|| DEFAULT_REGION.to_owned());
        Ok(Bucket {
            endpoint: url,
            name,
            virtual_hosted,
            region,
            access_key_id: access_key_id.to_owned(),
            secret_access_key: Secret::new(settings.secret_access_key),
            origin,
        })
    }

    /// The operator's bucket from RunPod's environment variables: `None` when none of the
    /// three is set, an error naming the missing ones when only some are.
    pub fn from_env(env: &[(String, String)]) -> Result<Option<Bucket>, BucketConfigError> {
        let get = |key: &str| {
            env.iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .filter(|v| !v.trim().is_empty())
        };
        let required = [ENV_ENDPOINT, ENV_ACCESS_KEY_ID, ENV_SECRET_ACCESS_KEY];
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|key| get(key).is_none())
            .collect();
        if missing.len() == required.len() {
            return Ok(None);
        }
        if let Some(first) = missing.first() {
            return Err(BucketConfigError::new(
                *first,
                format!(
                    "is not set, but {} is; set all three of {} or none",
                    required
                        .iter()
                        .filter(|key| !missing.contains(key))
                        .copied()
                        .collect::<Vec<_>>()
                        .join(" and "),
                    required.join(", ")
                ),
            ));
        }
        let settings = BucketSettings {
            endpoint_url: get(ENV_ENDPOINT).unwrap_or_default(),
            bucket_name: get(ENV_BUCKET_NAME),
            access_key_id: get(ENV_ACCESS_KEY_ID).unwrap_or_default(),
            secret_access_key: get(ENV_SECRET_ACCESS_KEY).unwrap_or_default(),
            region: get(ENV_REGION),
        };
        Bucket::new(
            &settings,
            BucketFields::ENVIRONMENT,
            BucketOrigin::Environment,
        )
        .map(Some)
    }

    /// The endpoint, without the bucket.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// The bucket's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signing region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Whether requests name the bucket in the host (else in the path).
    pub fn virtual_hosted(&self) -> bool {
        self.virtual_hosted
    }

    /// Who named the bucket.
    pub fn origin(&self) -> BucketOrigin {
        self.origin
    }

    /// Checks the endpoint against the address policy and returns where to deliver: a job's
    /// bucket resolves to a checked address that the uploads are pinned to; the operator's
    /// bucket is trusted and resolved by the HTTP client as usual.
    pub async fn resolve(&self, allow_private: bool) -> Result<Destination, DeliveryError> {
        let pin = match self.origin {
            BucketOrigin::Environment => None,
            BucketOrigin::Job => Some(
                resolve_checked(&self.endpoint, allow_private)
                    .await
                    .map_err(|source| DeliveryError::Address {
                        endpoint: self.endpoint_shown(),
                        source,
                    })?,
            ),
        };
        Ok(Destination {
            bucket: self.clone(),
            pin,
        })
    }

    pub(super) fn endpoint_shown(&self) -> String {
        self.endpoint.as_str().trim_end_matches('/').to_owned()
    }
}

/// S3's bucket naming rules, loosely (S3-compatible servers differ): 3 to 63 characters of
/// letters, digits, `.`, `-` and `_`.
fn check_bucket_name(name: &str) -> Result<(), String> {
    let valid = (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a bucket name (3 to 63 letters, digits, '.', '-' or '_')"
        ))
    }
}

/// The bucket of a virtual-hosted endpoint of the providers whose host names follow a known
/// pattern: `<bucket>.<region>.digitaloceanspaces.com`, `<bucket>.s3[.<region>].amazonaws.com`
/// (and `<bucket>.s3-<region>.amazonaws.com`).
fn bucket_from_host(host: &str) -> Option<String> {
    let host = host.to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    if host.ends_with(".digitaloceanspaces.com") && labels.len() == 4 {
        return Some(labels[0].to_owned());
    }
    if host.ends_with(".amazonaws.com") {
        let s3 = labels
            .iter()
            .position(|label| *label == "s3" || label.starts_with("s3-"))?;
        if s3 > 0 {
            return Some(labels[..s3].join("."));
        }
    }
    None
}

/// The region in an endpoint host, as RunPod's `rp_upload` reads it: `….s3.<region>.…`,
/// `s3-<region>.amazonaws.com`, or `<region>.digitaloceanspaces.com`.
fn region_from_host(host: &str) -> Option<String> {
    let labels: Vec<&str> = host.split('.').collect();
    if let Some(index) = labels.iter().position(|label| *label == "s3") {
        let next = labels.get(index + 1)?;
        let looks_like_region = next.contains('-') && next.ends_with(|c: char| c.is_ascii_digit());
        if labels.len() > index + 2 && looks_like_region {
            return Some((*next).to_owned());
        }
    }
    if let Some(label) = labels.iter().find_map(|label| label.strip_prefix("s3-")) {
        return Some(label.to_owned());
    }
    if host.ends_with(".digitaloceanspaces.com") && labels.len() >= 3 {
        return Some(labels[labels.len() - 3].to_owned());
    }
    None
}

/// A bucket whose endpoint has passed the address policy.
#[derive(Debug, Clone)]
pub struct Destination {
    pub(super) bucket: Bucket,
    /// The checked address every connection goes to (a job's bucket only).
    pub(super) pin: Option<SocketAddr>,
}

impl Destination {
    /// The bucket.
    pub fn bucket(&self) -> &Bucket {
        &self.bucket
    }

    /// The address the uploads are pinned to, for a job's bucket.
    pub fn pinned_address(&self) -> Option<SocketAddr> {
        self.pin
    }
}
