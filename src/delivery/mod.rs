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
//! (`https://my-bucket.nyc3.digitaloceanspaces.com`, the form of RunPod's docs; the bucket is
//! read from the host for DigitalOcean Spaces and AWS) is addressed virtual-hosted style;
//! every other endpoint path style.
//!
//! Every request has a timeout and bounded retries; the whole upload stops when the job's
//! cancellation token fires (deadline, job-stop). The secret never appears in a `Debug`
//! output, an error or a log line ([`Secret`]).

mod bucket;
#[cfg(test)]
mod tests;

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
use tokio_util::sync::CancellationToken;

use crate::download::AddressError;
pub use bucket::{
    Bucket, BucketConfigError, BucketFields, BucketOrigin, BucketSettings, Destination, Secret,
    ENV_ACCESS_KEY_ID, ENV_BUCKET_NAME, ENV_ENDPOINT, ENV_REGION, ENV_SECRET_ACCESS_KEY,
};

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
    bounded(&text)
}

/// Most characters of a server's answer quoted in an error (an S3 error body can be any size).
const MAX_QUOTED_CHARS: usize = 300;

/// `text` on one line (control characters as spaces), cut at [`MAX_QUOTED_CHARS`] with `…`.
fn bounded(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_QUOTED_CHARS + 4));
    for (index, c) in text.chars().enumerate() {
        if index == MAX_QUOTED_CHARS {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
    out
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
            // A job's own endpoint that refuses, fails (5xx, redirects, closed ports) or
            // hangs is the job's input to fix, not a fault of this worker.
            DeliveryError::Credentials { .. }
            | DeliveryError::NoSuchBucket { .. }
            | DeliveryError::Upload { .. }
            | DeliveryError::Timeout { .. } => origin == BucketOrigin::Job,
            DeliveryError::Expiry { .. }
            | DeliveryError::Client { .. }
            | DeliveryError::Presign { .. }
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
