//! Unit tests of bucket settings, the address policy and the expiry bound.

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
    assert!(!bucket.virtual_hosted());

    // RunPod's docs' form: the bucket in a known provider's host name.
    for (endpoint, name, region) in [
        (
            "https://outputs.nyc3.digitaloceanspaces.com",
            "outputs",
            "nyc3",
        ),
        (
            "https://my.outputs.s3.eu-west-2.amazonaws.com",
            "my.outputs",
            "eu-west-2",
        ),
        (
            "https://outputs.s3.amazonaws.com",
            "outputs",
            DEFAULT_REGION,
        ),
    ] {
        let bucket = job_bucket(endpoint, None).unwrap();
        assert_eq!(bucket.name(), name, "{endpoint}");
        assert!(bucket.virtual_hosted(), "{endpoint}");
        assert_eq!(bucket.region(), region, "{endpoint}");
    }
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
