//! Delivery of a job's output files to an S3-compatible bucket, as RunPod's own `rp_upload`
//! does: each file is uploaded under `{job_id}/{name}` with SigV4, then handed out as a
//! presigned GET URL valid for a configured time (RunPod's 7 days by default).
//!
//! A bucket comes from the operator's environment (`BUCKET_ENDPOINT_URL`,
//! `BUCKET_ACCESS_KEY_ID`, `BUCKET_SECRET_ACCESS_KEY`, trusted) or from a job's `s3Config`
//! (`endpointUrl`, `accessId`, `accessSecret`, `bucketName`), whose endpoint obeys the address
//! policy of `image_url` ([`crate::download::resolve_checked`]): the host must resolve to
//! public addresses unless `RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS` is set, and the upload's
//! connection is pinned to the address that was checked, without proxies or redirects.
//!
//! The bucket is named either as the endpoint URL's first path segment
//! (`https://s3.example.com/my-bucket`, as RunPod's docs ask for `BUCKET_ENDPOINT_URL`) or
//! by a separate setting (`BUCKET_NAME`, `s3Config.bucketName`); when both are given they must
//! agree. An endpoint whose host starts with the bucket name
//! (`https://my-bucket.nyc3.digitaloceanspaces.com` with the bucket `my-bucket`) is
//! addressed virtual-hosted style; every other endpoint path style.
//!
//! Every request has a timeout and bounded retries; the whole upload stops when the job's
//! cancellation token fires (deadline, job-stop). The secret never appears in a `Debug`
//! output, an error or a log line ([`Secret`]).

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::client::{HttpClient, HttpConnector};
use object_store::path::Path as ObjectPath;
use object_store::signer::Signer;
use object_store::{
    Attribute, Attributes, BackoffConfig, ClientOptions, ObjectStore, PutOptions, PutPayload,
    RetryConfig,
};
use reqwest::Url;
use tokio_util::sync::CancellationToken;

use crate::download::{redact_url, resolve_checked, AddressError};

/// RunPod's presigned URLs last 7 days; SigV4 allows no more.
pub const DEFAULT_PRESIGN_EXPIRY: Duration = Duration::from_secs(604_800);
/// The longest expiry SigV4 presigning allows.
pub const MAX_PRESIGN_EXPIRY: Duration = Duration::from_secs(604_800);
/// One upload request's timeout (connect, send, answer).
pub const DEFAULT_UPLOAD_TIMEOUT: Duration = Duration::from_secs(60);
/// Retries of a failed upload request (RunPod's boto3 "standard" mode retries 3 times).
pub const DEFAULT_UPLOAD_RETRIES: usize = 3;
/// The region used when neither the settings nor the endpoint's host name one.
pub const DEFAULT_REGION: &str = "us-east-1";

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
    endpoint: Url,
    name: String,
    virtual_hosted: bool,
    region: String,
    access_key_id: String,
    secret_access_key: Secret,
    origin: BucketOrigin,
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
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad(format!(
                "{shown:?} has scheme {:?}; only http and https are allowed",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad(format!("{shown:?} has no host")));
        }
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
            (None, None) => {
                return Err(bad(format!(
                    "{shown:?} names no bucket: end the URL in it (https://host/bucket) or set {}",
                    fields.bucket
                )))
            }
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

    fn endpoint_shown(&self) -> String {
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
    bucket: Bucket,
    /// The checked address every connection goes to (a job's bucket only).
    pin: Option<SocketAddr>,
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

/// Upload timing and presigning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryOptions {
    /// How long a presigned URL stays valid (at most 7 days).
    pub presign_expiry: Duration,
    /// One request's timeout.
    pub upload_timeout: Duration,
    /// Retries of a failed request (5xx, connection errors, timeouts).
    pub upload_retries: usize,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        Self {
            presign_expiry: DEFAULT_PRESIGN_EXPIRY,
            upload_timeout: DEFAULT_UPLOAD_TIMEOUT,
            upload_retries: DEFAULT_UPLOAD_RETRIES,
        }
    }
}

/// One file to deliver.
#[derive(Debug, Clone)]
pub struct OutputFile {
    /// The file name under the job's folder (`output.svg`).
    pub file_name: String,
    /// Its media type (`image/svg+xml`), stored as the object's Content-Type.
    pub media_type: &'static str,
    /// The contents.
    pub bytes: bytes::Bytes,
}

/// A delivered file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The object key, `{job_id}/{file_name}`.
    pub key: String,
    /// A presigned GET URL.
    pub url: String,
    /// The file's size.
    pub bytes: usize,
    /// When the URL stops working, RFC 3339 UTC.
    pub expires_at: String,
}

/// Why delivery failed. Messages name the endpoint, the bucket and the key, never a secret.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// A job's endpoint fails the address policy.
    #[error("s3Config.endpointUrl: {endpoint:?} {source}{}", hint_private(.source))]
    Address {
        /// The endpoint.
        endpoint: String,
        /// Why.
        source: AddressError,
    },
    /// The presign expiry is longer than SigV4 allows.
    #[error("the presigned URL expiry of {expiry:?} is over SigV4's maximum of 7 days (604800 s)")]
    Expiry {
        /// The configured expiry.
        expiry: Duration,
    },
    /// The S3 client could not be built from the settings.
    #[error("the bucket {bucket:?} at {endpoint} cannot be used: {}", chain(.source))]
    Client {
        /// The endpoint.
        endpoint: String,
        /// The bucket.
        bucket: String,
        /// Why.
        source: Box<object_store::Error>,
    },
    /// The server refused the credentials (HTTP 401 or 403).
    #[error("the bucket {bucket:?} at {endpoint} refused the credentials (access key id {access_key_id:?}) when uploading {key}: check {}: {}", access_fields(*.origin), chain(.source))]
    Credentials {
        /// The endpoint.
        endpoint: String,
        /// The bucket.
        bucket: String,
        /// The access key id that was refused (not a secret).
        access_key_id: String,
        /// Who configured the bucket (names the settings to check).
        origin: BucketOrigin,
        /// The object key.
        key: String,
        /// The server's answer.
        source: Box<object_store::Error>,
    },
    /// The bucket does not exist (HTTP 404 on upload).
    #[error("the bucket {bucket:?} does not exist at {endpoint} (uploading {key}): {}", chain(.source))]
    NoSuchBucket {
        /// The endpoint.
        endpoint: String,
        /// The bucket.
        bucket: String,
        /// The object key.
        key: String,
        /// The server's answer.
        source: Box<object_store::Error>,
    },
    /// Any other failure of the upload, after retries.
    #[error("uploading {key} to the bucket {bucket:?} at {endpoint} failed: {}", chain(.source))]
    Upload {
        /// The endpoint.
        endpoint: String,
        /// The bucket.
        bucket: String,
        /// The object key.
        key: String,
        /// Why.
        source: Box<object_store::Error>,
    },
    /// Presigning a URL failed.
    #[error("presigning a URL for {key} in the bucket {bucket:?} at {endpoint} failed: {}", chain(.source))]
    Presign {
        /// The endpoint.
        endpoint: String,
        /// The bucket.
        bucket: String,
        /// The object key.
        key: String,
        /// Why.
        source: Box<object_store::Error>,
    },
    /// The upload, retries included, ran past its time.
    #[error("uploading {key} to the bucket {bucket:?} at {endpoint} did not finish within {timeout:?} ({retries} retries of {per_request:?} each)")]
    Timeout {
        /// The endpoint.
        endpoint: String,
        /// The bucket.
        bucket: String,
        /// The object key.
        key: String,
        /// The whole upload's time.
        timeout: Duration,
        /// One request's timeout.
        per_request: Duration,
        /// Retries allowed.
        retries: usize,
    },
    /// The job was cancelled (deadline or job-stop) during the upload.
    #[error(
        "uploading to the bucket {bucket:?} at {endpoint} was cancelled (job deadline or stop)"
    )]
    Cancelled {
        /// The endpoint.
        endpoint: String,
        /// The bucket.
        bucket: String,
    },
}

/// An error and its causes, `: `-separated, skipping a cause whose text its parent already
/// shows (object_store and reqwest errors often repeat their source).
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let shown = cause.to_string();
        if !text.contains(&shown) {
            text.push_str(": ");
            text.push_str(&shown);
        }
        source = cause.source();
    }
    text
}

/// The settings that hold a bucket's credentials.
fn access_fields(origin: BucketOrigin) -> &'static str {
    match origin {
        BucketOrigin::Environment => "BUCKET_ACCESS_KEY_ID and BUCKET_SECRET_ACCESS_KEY",
        BucketOrigin::Job => "s3Config.accessId and s3Config.accessSecret",
    }
}

fn hint_private(error: &AddressError) -> &'static str {
    match error {
        AddressError::Private { .. } => {
            " (set RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS=1 to allow private addresses)"
        }
        AddressError::Resolve { .. } => "",
    }
}

impl DeliveryError {
    /// Whether the job's own settings caused the failure (its `s3Config` is unusable), as
    /// opposed to the worker's bucket or the network.
    pub fn is_job_input(&self, origin: BucketOrigin) -> bool {
        match self {
            DeliveryError::Address { .. } => true,
            DeliveryError::Credentials { .. } | DeliveryError::NoSuchBucket { .. } => {
                origin == BucketOrigin::Job
            }
            DeliveryError::Expiry { .. }
            | DeliveryError::Client { .. }
            | DeliveryError::Upload { .. }
            | DeliveryError::Presign { .. }
            | DeliveryError::Timeout { .. }
            | DeliveryError::Cancelled { .. } => false,
        }
    }
}

/// Builds the HTTP client the S3 store uses: timeouts, no redirects, and for a job's
/// bucket no proxy and the connection pinned to the checked address.
#[derive(Debug)]
struct Connector {
    pin: Option<(String, SocketAddr)>,
    timeout: Duration,
}

impl HttpConnector for Connector {
    fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .user_agent(concat!("gemini3/", env!("CARGO_PKG_VERSION")));
        if let Some((host, address)) = &self.pin {
            builder = builder.no_proxy().resolve(host, *address);
        }
        let client = builder
            .build()
            .map_err(|error| object_store::Error::Generic {
                store: "S3",
                source: Box::new(error),
            })?;
        Ok(HttpClient::new(client))
    }
}

/// Uploads files to one destination and presigns their URLs.
pub struct Uploader {
    store: Arc<AmazonS3>,
    destination: Destination,
    options: DeliveryOptions,
}

impl fmt::Debug for Uploader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Uploader")
            .field("destination", &self.destination)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Uploader {
    /// An uploader for `destination` (see [`Bucket::resolve`]).
    pub fn new(destination: Destination, options: DeliveryOptions) -> Result<Self, DeliveryError> {
        if options.presign_expiry > MAX_PRESIGN_EXPIRY {
            return Err(DeliveryError::Expiry {
                expiry: options.presign_expiry,
            });
        }
        let bucket = &destination.bucket;
        let host = bucket.endpoint.host_str().unwrap_or_default().to_owned();
        let connector = Connector {
            pin: destination.pin.map(|address| (host, address)),
            timeout: options.upload_timeout,
        };
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(5),
                base: 2.0,
            },
            max_retries: options.upload_retries,
            retry_timeout: total_timeout(&options),
        };
        let endpoint = bucket.endpoint_shown();
        let store = AmazonS3Builder::new()
            .with_endpoint(endpoint.clone())
            .with_bucket_name(bucket.name.clone())
            .with_region(bucket.region.clone())
            .with_access_key_id(bucket.access_key_id.clone())
            .with_secret_access_key(bucket.secret_access_key.expose())
            .with_virtual_hosted_style_request(bucket.virtual_hosted)
            .with_allow_http(true)
            .with_client_options(
                ClientOptions::new()
                    .with_timeout(options.upload_timeout)
                    .with_connect_timeout(options.upload_timeout),
            )
            .with_retry(retry)
            .with_http_connector(connector)
            .build()
            .map_err(|source| DeliveryError::Client {
                endpoint,
                bucket: bucket.name.clone(),
                source: Box::new(source),
            })?;
        Ok(Self {
            store: Arc::new(store),
            destination,
            options,
        })
    }

    /// Who configured the bucket.
    pub fn origin(&self) -> BucketOrigin {
        self.destination.bucket.origin
    }

    /// Uploads every file under `{job_id}/` and presigns each; all or nothing: the first
    /// failure is returned (files already stored stay in the bucket, unreferenced). Stops at
    /// once when `cancel` fires.
    pub async fn deliver(
        &self,
        job_id: &str,
        files: Vec<OutputFile>,
        cancel: &CancellationToken,
    ) -> Result<Vec<Delivered>, DeliveryError> {
        let bucket = &self.destination.bucket;
        let uploads = futures_util::future::try_join_all(
            files.into_iter().map(|file| self.deliver_one(job_id, file)),
        );
        tokio::select! {
            biased;
            _ = cancel.cancelled() => Err(DeliveryError::Cancelled {
                endpoint: bucket.endpoint_shown(),
                bucket: bucket.name.clone(),
            }),
            delivered = uploads => delivered,
        }
    }

    async fn deliver_one(
        &self,
        job_id: &str,
        file: OutputFile,
    ) -> Result<Delivered, DeliveryError> {
        let bucket = &self.destination.bucket;
        let path: ObjectPath = [job_id, file.file_name.as_str()].into_iter().collect();
        let key = path.to_string();
        let size = file.bytes.len();
        let mut attributes = Attributes::new();
        attributes.insert(Attribute::ContentType, file.media_type.into());
        let put = self.store.put_opts(
            &path,
            PutPayload::from_bytes(file.bytes),
            PutOptions::from(attributes),
        );
        let total = total_timeout(&self.options);
        match tokio::time::timeout(total, put).await {
            Err(_) => {
                return Err(DeliveryError::Timeout {
                    endpoint: bucket.endpoint_shown(),
                    bucket: bucket.name.clone(),
                    key,
                    timeout: total,
                    per_request: self.options.upload_timeout,
                    retries: self.options.upload_retries,
                })
            }
            Ok(Err(source)) => return Err(self.upload_error(key, source)),
            Ok(Ok(_)) => {}
        }
        let signed_at = SystemTime::now();
        let url = self
            .store
            .signed_url(reqwest::Method::GET, &path, self.options.presign_expiry)
            .await
            .map_err(|source| DeliveryError::Presign {
                endpoint: bucket.endpoint_shown(),
                bucket: bucket.name.clone(),
                key: key.clone(),
                source: Box::new(source),
            })?;
        Ok(Delivered {
            key,
            url: url.to_string(),
            bytes: size,
            expires_at: rfc3339(signed_at + self.options.presign_expiry),
        })
    }

    fn upload_error(&self, key: String, source: object_store::Error) -> DeliveryError {
        let bucket = &self.destination.bucket;
        let endpoint = bucket.endpoint_shown();
        let name = bucket.name.clone();
        match source {
            object_store::Error::Unauthenticated { .. }
            | object_store::Error::PermissionDenied { .. } => DeliveryError::Credentials {
                endpoint,
                bucket: name,
                access_key_id: bucket.access_key_id.clone(),
                origin: bucket.origin,
                key,
                source: Box::new(source),
            },
            object_store::Error::NotFound { .. } => DeliveryError::NoSuchBucket {
                endpoint,
                bucket: name,
                key,
                source: Box::new(source),
            },
            source => DeliveryError::Upload {
                endpoint,
                bucket: name,
                key,
                source: Box::new(source),
            },
        }
    }
}

/// The time one file's upload may take, retries included.
fn total_timeout(options: &DeliveryOptions) -> Duration {
    options
        .upload_timeout
        .saturating_mul(options.upload_retries as u32 + 1)
        .saturating_add(Duration::from_secs(5 * options.upload_retries as u64))
}

/// `time` as RFC 3339 UTC (`2026-11-29T20:15:00Z`), whole seconds.
pub fn rfc3339(time: SystemTime) -> String {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings<'a>(endpoint: &'a str, bucket: Option<&'a str>) -> BucketSettings<'a> {
        BucketSettings {
            endpoint_url: endpoint,
            bucket_name: bucket,
            access_key_id: "AKID",
            secret_access_key: "s3cr3t-value",
            region: None,
        }
    }

    fn job_bucket(endpoint: &str, bucket: Option<&str>) -> Result<Bucket, BucketConfigError> {
        Bucket::new(
            &settings(endpoint, bucket),
            BucketFields::JOB,
            BucketOrigin::Job,
        )
    }

    #[test]
    fn bucket_from_url_path_or_setting() {
        let bucket = job_bucket("https://s3.example.com/outputs", None).unwrap();
        assert_eq!(bucket.name(), "outputs");
        assert_eq!(bucket.endpoint().as_str(), "https://s3.example.com/");
        assert!(!bucket.virtual_hosted());
        assert_eq!(bucket.region(), DEFAULT_REGION);

        let bucket = job_bucket("https://s3.example.com/", Some("outputs")).unwrap();
        assert_eq!(bucket.name(), "outputs");

        let bucket = job_bucket(
            "https://outputs.nyc3.digitaloceanspaces.com",
            Some("outputs"),
        )
        .unwrap();
        assert!(bucket.virtual_hosted());
        assert_eq!(bucket.region(), "nyc3");

        let bucket = job_bucket("https://s3.eu-west-2.amazonaws.com/outputs", None).unwrap();
        assert_eq!(bucket.region(), "eu-west-2");
    }

    #[test]
    fn bad_settings_name_the_field_and_value() {
        let cases = [
            (
                job_bucket("ftp://s3.example.com/b0b", None),
                "s3Config.endpointUrl",
                "has scheme \"ftp\"",
            ),
            (
                job_bucket("not a url", None),
                "s3Config.endpointUrl",
                "\"not a url\" is not a valid URL",
            ),
            (
                job_bucket("https://s3.example.com", None),
                "s3Config.endpointUrl",
                "names no bucket",
            ),
            (
                job_bucket("https://s3.example.com/a/b/c", None),
                "s3Config.endpointUrl",
                "path beyond the bucket",
            ),
            (
                job_bucket("https://s3.example.com/one", Some("two")),
                "s3Config.bucketName",
                "\"two\" differs from the bucket \"one\"",
            ),
            (
                job_bucket("https://s3.example.com", Some("a/b")),
                "s3Config.bucketName",
                "\"a/b\" is not a bucket name",
            ),
            (
                job_bucket("https://user:pw@s3.example.com/b0b", None),
                "s3Config.endpointUrl",
                "carries credentials",
            ),
        ];
        for (result, field, fragment) in cases {
            let error = result.unwrap_err();
            assert_eq!(error.field, field, "{error}");
            assert!(error.message.contains(fragment), "{error}");
            assert!(!error.to_string().contains("pw@"), "{error}");
        }
    }

    #[test]
    fn environment_needs_all_three_or_none() {
        let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert_eq!(Bucket::from_env(&env(&[("HOME", "/root")])).unwrap(), None);
        let error = Bucket::from_env(&env(&[
            (ENV_ENDPOINT, "https://s3.example.com/outputs"),
            (ENV_SECRET_ACCESS_KEY, "s3cr3t-value"),
        ]))
        .unwrap_err();
        assert_eq!(error.field, ENV_ACCESS_KEY_ID);
        assert!(!error.to_string().contains("s3cr3t-value"), "{error}");
        let bucket = Bucket::from_env(&env(&[
            (ENV_ENDPOINT, "https://s3.example.com"),
            (ENV_BUCKET_NAME, "outputs"),
            (ENV_ACCESS_KEY_ID, "AKID"),
            (ENV_SECRET_ACCESS_KEY, "s3cr3t-value"),
            (ENV_REGION, "eu-central-1"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(bucket.name(), "outputs");
        assert_eq!(bucket.region(), "eu-central-1");
        assert_eq!(bucket.origin(), BucketOrigin::Environment);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let bucket = job_bucket("https://s3.example.com/outputs", None).unwrap();
        let shown = format!("{bucket:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
    }

    #[tokio::test]
    async fn job_endpoints_obey_the_address_policy() {
        let bucket = job_bucket("http://127.0.0.1:9/outputs", None).unwrap();
        let error = bucket.resolve(false).await.unwrap_err();
        let text = error.to_string();
        assert!(
            text.starts_with("s3Config.endpointUrl: \"http://127.0.0.1:9\" resolves to 127.0.0.1"),
            "{text}"
        );
        assert!(
            text.contains("RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS"),
            "{text}"
        );
        assert!(error.is_job_input(BucketOrigin::Job));
        let allowed = bucket.resolve(true).await.unwrap();
        assert_eq!(
            allowed.pinned_address(),
            Some("127.0.0.1:9".parse().unwrap())
        );
        // The operator's bucket is trusted: not checked, not pinned.
        let operator = Bucket::new(
            &settings("http://127.0.0.1:9/outputs", None),
            BucketFields::ENVIRONMENT,
            BucketOrigin::Environment,
        )
        .unwrap();
        assert_eq!(
            operator.resolve(false).await.unwrap().pinned_address(),
            None
        );
    }

    #[test]
    fn formats_times_as_rfc3339() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_800_000_000)),
            "2027-01-15T08:00:00Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn expiry_over_seven_days_is_refused() {
        let bucket = job_bucket("https://s3.example.com/outputs", None).unwrap();
        let destination = Destination { bucket, pin: None };
        let error = Uploader::new(
            destination,
            DeliveryOptions {
                presign_expiry: Duration::from_secs(604_801),
                ..DeliveryOptions::default()
            },
        )
        .unwrap_err();
        assert!(error.to_string().contains("604800"), "{error}");
    }
}
