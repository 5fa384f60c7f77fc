//! S3 delivery against a real S3-compatible server on loopback (`s3s-fs`, SigV4 checked):
//! uploads whose presigned URLs serve exactly the bytes, refused credentials named clearly, a
//! stalled server cut off by the job's cancellation and by the upload timeout, and secrets
//! that never reach a log line or an error.

#[path = "support/s3.rs"]
mod s3;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gemini3::delivery::{
    Bucket, BucketFields, BucketOrigin, BucketSettings, DeliveryError, DeliveryOptions, OutputFile,
    Uploader,
};
use s3::{S3Server, StalledServer, ACCESS_KEY, BUCKET, SECRET};
use tokio_util::sync::CancellationToken;

/// Everything the tracing subscriber wrote, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures every log line of this (current-thread) test at TRACE level.
fn capture_logs() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

fn bucket(endpoint: &str, bucket: Option<&str>, key: &str, secret: &str) -> Bucket {
    Bucket::new(
        &BucketSettings {
            endpoint_url: endpoint,
            bucket_name: bucket,
            access_key_id: key,
            secret_access_key: secret,
            region: None,
        },
        BucketFields::JOB,
        BucketOrigin::Job,
    )
    .unwrap()
}

async fn uploader(bucket: &Bucket, options: DeliveryOptions) -> Uploader {
    // Loopback: a job's bucket needs RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS.
    let destination = bucket.resolve(true).await.unwrap();
    Uploader::new(destination, options).unwrap()
}

fn file(name: &str, media_type: &'static str, bytes: &[u8]) -> OutputFile {
    OutputFile {
        file_name: name.to_owned(),
        media_type,
        bytes: bytes.to_vec().into(),
    }
}

/// Bytes that no encoding step could leave unchanged by accident: every byte value.
fn binary_payload() -> Vec<u8> {
    (0..4096u32).map(|i| (i * 7 + i / 256) as u8).collect()
}

#[tokio::test]
async fn uploads_and_the_presigned_urls_serve_exactly_the_bytes() {
    let (logs, _guard) = capture_logs();
    let server = S3Server::start().await;
    let endpoint = format!("{}/{BUCKET}", server.endpoint);
    let bucket = bucket(&endpoint, None, ACCESS_KEY, SECRET);
    let uploader = uploader(&bucket, DeliveryOptions::default()).await;
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\" height=\"1\"/>".to_vec();
    let png = binary_payload();
    let delivered = uploader
        .deliver(
            "job-42",
            vec![
                file("output.svg", "image/svg+xml", &svg),
                file("output.png", "image/png", &png),
            ],
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(delivered.len(), 2);
    assert_eq!(delivered[0].key, "job-42/output.svg");
    assert_eq!(delivered[1].key, "job-42/output.png");
    assert_eq!(delivered[1].bytes, png.len());
    assert_eq!(server.stored("job-42/output.png"), Some(png.clone()));

    let client = reqwest::Client::new();
    for (file, expected) in delivered.iter().zip([&svg, &png]) {
        assert!(
            file.url
                .starts_with(&format!("{}/{BUCKET}/job-42/", server.endpoint)),
            "{}",
            file.url
        );
        assert!(file.url.contains("X-Amz-Signature="), "{}", file.url);
        assert!(file.url.contains("X-Amz-Expires=604800"), "{}", file.url);
        assert!(!file.url.contains(SECRET));
        assert!(file.expires_at.ends_with('Z'), "{}", file.expires_at);
        let response = client.get(&file.url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{}", file.url);
        assert_eq!(&response.bytes().await.unwrap()[..], &expected[..]);
    }
    // The signature is checked: an altered one is refused.
    let url = &delivered[0].url;
    let last = url.chars().last().unwrap();
    let forged = format!(
        "{}{}",
        &url[..url.len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    assert_eq!(client.get(&forged).send().await.unwrap().status(), 403);

    let logged = logs.text();
    assert!(!logged.is_empty(), "the capture saw no log lines at all");
    assert!(!logged.contains(SECRET), "the secret reached a log line");
}

#[tokio::test]
async fn the_bucket_may_be_named_separately_from_the_endpoint() {
    let server = S3Server::start().await;
    let bucket = bucket(&server.endpoint, Some(BUCKET), ACCESS_KEY, SECRET);
    let delivered = uploader(&bucket, DeliveryOptions::default())
        .await
        .deliver(
            "job-7",
            vec![file("output.pdf", "application/pdf", b"%PDF-1.7")],
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        server.stored("job-7/output.pdf"),
        Some(b"%PDF-1.7".to_vec())
    );
    let body = reqwest::get(&delivered[0].url)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&body[..], b"%PDF-1.7");
}

#[tokio::test]
async fn wrong_credentials_are_named_clearly_without_the_secret() {
    let (logs, _guard) = capture_logs();
    let server = S3Server::start().await;
    let endpoint = format!("{}/{BUCKET}", server.endpoint);
    let wrong_secret = "wrong-secret-0d9e8f7a6b";
    for (key, secret) in [(ACCESS_KEY, wrong_secret), ("SOMEONEELSE", SECRET)] {
        let bucket = bucket(&endpoint, None, key, secret);
        let error = uploader(
            &bucket,
            DeliveryOptions {
                upload_retries: 0,
                ..DeliveryOptions::default()
            },
        )
        .await
        .deliver(
            "job-1",
            vec![file("output.svg", "image/svg+xml", b"<svg/>")],
            &CancellationToken::new(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(error, DeliveryError::Credentials { .. }),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.starts_with(&format!(
                "the bucket \"{BUCKET}\" at {} refused the credentials",
                server.endpoint
            )),
            "{message}"
        );
        assert!(
            message.contains("s3Config.accessId and s3Config.accessSecret"),
            "{message}"
        );
        assert!(!message.contains(secret), "{message}");
        assert!(!format!("{error:?}").contains(secret), "{error:?}");
        assert!(error.is_job_input(BucketOrigin::Job));
        assert!(!error.is_job_input(BucketOrigin::Environment));
    }
    assert_eq!(server.stored("job-1/output.svg"), None);
    let logged = logs.text();
    assert!(!logged.contains(SECRET) && !logged.contains(wrong_secret));
}

#[tokio::test]
async fn a_stalled_server_is_cut_off_by_the_jobs_cancellation() {
    let mut server = StalledServer::start().await;
    let endpoint = format!("http://{}/{BUCKET}", server.address);
    let bucket = bucket(&endpoint, None, ACCESS_KEY, SECRET);
    // Timeouts far beyond any test run: only the cancellation can end this upload.
    let options = DeliveryOptions {
        upload_timeout: Duration::from_secs(3600),
        ..DeliveryOptions::default()
    };
    let uploader = uploader(&bucket, options).await;
    let cancel = CancellationToken::new();
    let upload = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            uploader
                .deliver(
                    "job-s",
                    vec![file("output.svg", "image/svg+xml", b"<svg/>")],
                    &cancel,
                )
                .await
        })
    };
    // The request has reached the server (which will never answer); now the deadline fires.
    server.accepted.recv().await.expect("the upload connects");
    cancel.cancel();
    let error = upload.await.unwrap().unwrap_err();
    assert!(
        matches!(error, DeliveryError::Cancelled { .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("cancelled (job deadline or stop)"),
        "{error}"
    );
}

#[tokio::test]
async fn a_stalled_server_is_cut_off_by_the_upload_timeout() {
    let mut server = StalledServer::start().await;
    let endpoint = format!("http://{}/{BUCKET}", server.address);
    let bucket = bucket(&endpoint, None, ACCESS_KEY, SECRET);
    let options = DeliveryOptions {
        upload_timeout: Duration::from_millis(200),
        upload_retries: 1,
        ..DeliveryOptions::default()
    };
    let error = uploader(&bucket, options)
        .await
        .deliver(
            "job-t",
            vec![file("output.svg", "image/svg+xml", b"<svg/>")],
            &CancellationToken::new(),
        )
        .await
        .unwrap_err();
    // Each attempt timed out on its own connection: the first and its one retry. (The bound
    // only stops a broken build from hanging; the connections were made before the error.)
    for attempt in ["the first attempt", "the retry"] {
        let connected = tokio::time::timeout(Duration::from_secs(60), server.accepted.recv()).await;
        assert!(
            matches!(connected, Ok(Some(()))),
            "{attempt} never connected"
        );
    }
    assert!(matches!(error, DeliveryError::Upload { .. }), "{error:?}");
    let message = error.to_string();
    for fragment in [
        format!(
            "uploading job-t/output.svg to the bucket \"{BUCKET}\" at http://{}",
            server.address
        ),
        "after 1 retries".to_owned(),
        "timed out".to_owned(),
    ] {
        assert!(message.contains(&fragment), "{fragment}: {message}");
    }
}

#[tokio::test]
async fn a_job_bucket_on_a_private_address_needs_the_override() {
    let server = S3Server::start().await;
    let bucket = bucket(
        &format!("{}/{BUCKET}", server.endpoint),
        None,
        ACCESS_KEY,
        SECRET,
    );
    let error = bucket.resolve(false).await.unwrap_err();
    assert!(matches!(error, DeliveryError::Address { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS"),
        "{error}"
    );
    assert!(bucket.resolve(true).await.is_ok());
}

/// A loopback "S3" that answers every request with `status` and a large XML error body.
async fn broken_server(status: &'static str) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 65536];
                let _ = stream.read(&mut buffer).await;
                let body = format!(
                    "<?xml version=\"1.0\"?>\n<Error><Code>InternalError</Code><Message>{}</Message></Error>",
                    "We encountered an internal error.\r\nPlease try again. ".repeat(400)
                );
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nLocation: http://169.254.169.254/\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(body.as_bytes()).await;
            });
        }
    });
    address
}

#[tokio::test]
async fn a_jobs_broken_endpoint_is_the_jobs_input_with_a_bounded_message() {
    for status in ["500 Internal Server Error", "302 Found"] {
        let address = broken_server(status).await;
        let endpoint = format!("http://{address}/{BUCKET}");
        let bucket = bucket(&endpoint, None, ACCESS_KEY, SECRET);
        let options = DeliveryOptions {
            upload_retries: 0,
            ..DeliveryOptions::default()
        };
        let error = uploader(&bucket, options)
            .await
            .deliver(
                "job-b",
                vec![file("output.svg", "image/svg+xml", b"<svg/>")],
                &CancellationToken::new(),
            )
            .await
            .unwrap_err();
        assert!(error.is_job_input(BucketOrigin::Job), "{status}: {error:?}");
        assert!(!error.is_job_input(BucketOrigin::Environment), "{status}");
        let message = error.to_string();
        assert!(
            message.len() < 800,
            "{status}: {} bytes: {message}",
            message.len()
        );
        assert!(
            !message.contains('\r') && !message.contains('\n'),
            "{message:?}"
        );
        assert!(message.contains("job-b/output.svg"), "{message}");
    }
}
