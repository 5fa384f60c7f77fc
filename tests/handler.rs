//! The gemini3 handler end to end: the runtime's fake RunPod queue, the real pipeline on CPU
//! with the shipped models, and the local API server.

mod common;
#[path = "support/s3.rs"]
mod s3;
#[path = "support/worker.rs"]
mod worker;

use common::{fills, png_header_only};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use worker::{error_report, Worker};

use base64::Engine as _;
use serde_json::{json, Value};

use gemini3::commands::worker::worker_config;
use gemini3::delivery::Bucket;
use gemini3::engine::Engine;
use gemini3::handler::{HandlerConfig, VectorizeHandler};
use gemini3::pipeline::Pipeline;
use gemini3::settings::{HandlerSettings, LoadOptions, Settings};
use runpod::fake::Route;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The pipeline is built once per test binary (sessions are reused across jobs, as in the
/// worker).
fn pipeline() -> Arc<Pipeline> {
    static PIPELINE: OnceLock<Arc<Pipeline>> = OnceLock::new();
    PIPELINE
        .get_or_init(|| {
            let settings = Settings::load(&LoadOptions {
                root: root(),
                env: vec![("GEMINI3__HARDWARE__DEVICE".into(), "cpu".into())],
                ..Default::default()
            })
            .expect("valid settings");
            let engine = Engine::load(&settings.engine).expect("ONNX Runtime loads");
            let models = engine.load_models(&settings.pipeline).expect("models load");
            Arc::new(Pipeline::new(settings.pipeline, models))
        })
        .clone()
}

fn handler_settings() -> HandlerSettings {
    HandlerSettings::load(&root(), None, &[]).expect("valid handler.toml")
}

fn handler(allow_private: bool) -> Arc<VectorizeHandler> {
    handler_with(allow_private, None, None)
}

/// A handler with the operator's `bucket` and, optionally, another inline limit.
fn handler_with(
    allow_private: bool,
    bucket: Option<Bucket>,
    max_inline_bytes: Option<usize>,
) -> Arc<VectorizeHandler> {
    handler_caps(allow_private, bucket, max_inline_bytes, None)
}

/// [`handler_with`], and another cap of uploaded files.
fn handler_caps(
    allow_private: bool,
    bucket: Option<Bucket>,
    max_inline_bytes: Option<usize>,
    max_file_bytes: Option<usize>,
) -> Arc<VectorizeHandler> {
    let settings = handler_settings();
    let mut output = settings.output;
    if let Some(limit) = max_inline_bytes {
        output.max_inline_bytes = limit;
    }
    if let Some(limit) = max_file_bytes {
        output.max_file_bytes = limit;
    }
    Arc::new(VectorizeHandler::new(
        pipeline(),
        HandlerConfig {
            input: settings.input,
            output,
            allow_private_downloads: allow_private,
            bucket,
        },
    ))
}

fn config(concurrency: usize) -> runpod::WorkerConfig {
    let mut settings = handler_settings().worker;
    settings.concurrency = concurrency.try_into().unwrap();
    settings.progress_interval = Duration::ZERO;
    worker_config(&settings)
}

fn logo_png() -> Vec<u8> {
    std::fs::read(root().join("tests/fixtures/logo96.png")).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn real_png_job_returns_a_palette_exact_svg_with_metadata() {
    let worker = Worker::start(handler(false), config(1));
    let palette = ["1E5AC8", "#ffffff", "faa01e", "161a22"];
    worker.queue.push(
        "job-1",
        json!({"image": b64(&logo_png()), "palette": palette, "return_logs": true}),
    );
    let result = worker.result("job-1").await;
    let output = &result["output"];
    let svg = output["svg"].as_str().unwrap_or_else(|| panic!("{result}"));
    let allowed = ["#1e5ac8", "#ffffff", "#faa01e", "#161a22"];
    let used = fills(svg);
    assert!(!used.is_empty());
    for fill in &used {
        assert!(
            allowed.contains(&fill.as_str()),
            "fill {fill} is not in the palette"
        );
    }
    let document = roxmltree::Document::parse(svg).unwrap();
    assert_eq!(
        document.root_element().attribute("viewBox"),
        Some("0 0 96 96")
    );
    let metadata = &output["metadata"];
    assert_eq!(metadata["width"], 96);
    assert_eq!(metadata["height"], 96);
    assert_eq!(metadata["palette"], json!(allowed));
    assert_eq!(metadata["svg_bytes"].as_u64(), Some(svg.len() as u64));
    assert_eq!(metadata["phases"]["phase3"]["provider"], "cpu");
    // Flat artwork: the default `auto` mode fits splines.
    assert_eq!(metadata["trace_mode"], "spline");
    assert!(metadata["total_ms"].as_f64().unwrap() > 0.0);
    assert!(!output["logs"].as_array().unwrap().is_empty());
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn progress_arrives_in_phase_order_and_before_the_result() {
    let worker = Worker::start(handler(false), config(1));
    worker
        .queue
        .push("job-p", json!({"image": b64(&logo_png())}));
    worker.result("job-p").await;
    let events = worker.queue.events_on(Route::JobDone);
    let result_index = events
        .iter()
        .position(|e| e.is_delivered_result())
        .expect("a delivered result");
    let progress: Vec<Value> = events
        .iter()
        .filter(|e| e.is_progress())
        .map(|e| e.json().unwrap()["output"].clone())
        .collect();
    assert!(!progress.is_empty(), "no progress reached the queue");
    assert!(
        events
            .iter()
            .skip(result_index + 1)
            .all(|e| !e.is_progress()),
        "progress after the final result"
    );
    let percents: Vec<u64> = progress
        .iter()
        .map(|p| p["percent"].as_u64().unwrap())
        .collect();
    assert!(percents.windows(2).all(|w| w[0] < w[1]), "{percents:?}");
    let phases: Vec<&str> = progress
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    let order = ["decode", "phase1", "phase2", "phase3", "phase4"];
    let ranks: Vec<usize> = phases
        .iter()
        .map(|p| order.iter().position(|o| o == p).unwrap())
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{phases:?}");
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_bad_input_is_invalid_input_naming_the_field_and_the_next_job_succeeds() {
    let worker = Worker::start(handler(false), config(1));
    let image = b64(&logo_png());
    let cases = [
        ("neither", json!({}), "image"),
        (
            "both",
            json!({"image": image, "image_url": "https://example.com/a.png"}),
            "image_url",
        ),
        (
            "base64",
            json!({"image": "%%%not-base64%%%"}),
            "not valid base64",
        ),
        (
            "datauri",
            json!({"image": "data:application/pdf;base64,AAAA"}),
            "application/pdf",
        ),
        (
            "undecodable",
            json!({"image": b64(b"this is not an image at all")}),
            "image",
        ),
        (
            "palette",
            json!({"image": image, "palette": ["ff0000", "12345g"]}),
            "palette[1]: \"12345g\"",
        ),
        (
            "colors",
            json!({"image": image, "max_colors": 0}),
            "max_colors: 0 is outside 1..=64",
        ),
        (
            "deadline",
            json!({"image": image, "deadline_s": -1}),
            "deadline_s: -1",
        ),
        (
            "types",
            json!({"image": image, "return_logs": "yes"}),
            "return_logs",
        ),
        (
            "unknown",
            json!({"image": image, "colour": "red"}),
            "colour",
        ),
        (
            "bomb",
            json!({"image": b64(&png_header_only(100_000, 100_000))}),
            "100000",
        ),
    ];
    for (id, input, _) in &cases {
        worker.queue.push(id, input.clone());
    }
    worker.queue.push("good", json!({"image": image}));
    for (id, _, fragment) in &cases {
        let result = worker.result(id).await;
        let report = error_report(&result);
        assert_eq!(report["error_type"], "InvalidInput", "{id}: {report}");
        let message = report["error_message"].as_str().unwrap();
        assert!(message.contains(fragment), "{id}: {message}");
        assert!(
            report["logs"].is_array(),
            "{id}: error results carry the logs"
        );
    }
    let good = worker.result("good").await;
    assert!(
        good["output"]["svg"].as_str().unwrap().starts_with("<svg"),
        "{good}"
    );
    worker.finish().await;
}

/// Serves `body` at `/image.png` on loopback; returns the URL.
async fn serve_image(body: Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/image.png",
        axum::routing::get(move || {
            let body = body.clone();
            async move { ([("content-type", "image/png")], body) }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{address}/image.png")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn image_url_on_loopback_is_refused_by_default_and_accepted_with_the_override() {
    let url = serve_image(logo_png()).await;
    let strict = Worker::start(handler(false), config(1));
    strict.queue.push("url-1", json!({"image_url": url}));
    let report = error_report(&strict.result("url-1").await);
    assert_eq!(report["error_type"], "InvalidInput");
    let message = report["error_message"].as_str().unwrap();
    assert!(
        message.contains("image_url") && message.contains("127.0.0.1"),
        "{message}"
    );
    assert!(
        message.contains("RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS"),
        "{message}"
    );
    strict.finish().await;

    let relaxed = Worker::start(handler(true), config(1));
    relaxed.queue.push("url-2", json!({"image_url": url}));
    let result = relaxed.result("url-2").await;
    assert_eq!(result["output"]["metadata"]["width"], 96, "{result}");
    relaxed.finish().await;
}

/// A large, smooth PNG (compresses well, takes long to process).
fn large_png(side: u32) -> Vec<u8> {
    let mut image = image::RgbImage::new(side, side);
    for (x, y, pixel) in image.enumerate_pixels_mut() {
        *pixel = image::Rgb([
            (x * 255 / side) as u8,
            (y * 255 / side) as u8,
            ((x ^ y) & 0xff) as u8,
        ]);
    }
    let mut bytes = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tiny_deadline_on_a_large_image_is_deadline_exceeded_and_the_next_job_succeeds() {
    let worker = Worker::start(handler(false), config(1));
    worker.queue.push(
        "slow",
        json!({"image": b64(&large_png(3000)), "deadline_s": 0.001}),
    );
    worker
        .queue
        .push("after", json!({"image": b64(&logo_png())}));
    let report = error_report(&worker.result("slow").await);
    assert_eq!(report["error_type"], "DeadlineExceeded", "{report}");
    let after = worker.result("after").await;
    assert!(after["output"]["svg"].is_string(), "{after}");
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_concurrent_jobs_all_complete() {
    let worker = Worker::start(handler(false), config(4));
    let image = b64(&logo_png());
    for index in 0..10 {
        worker.queue.push(
            &format!("load-{index}"),
            json!({"image": image, "max_colors": 4 + index % 4}),
        );
    }
    for index in 0..10 {
        let result = worker.result(&format!("load-{index}")).await;
        assert!(
            result["output"]["svg"].is_string(),
            "load-{index}: {result}"
        );
    }
    // With four slots, at least one take asked for more than one job.
    let batch_takes = worker.queue.events_on(Route::JobTakeBatch);
    assert!(
        !batch_takes.is_empty(),
        "concurrency > 1 uses job-take-batch"
    );
    worker.finish().await;
}

async fn post_json(client: &reqwest::Client, url: &str, body: &Value) -> Value {
    client
        .post(url)
        .json(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn local_api_runs_a_job_to_completed_and_runsync_returns_the_svg() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(runpod::serve(
        handler(false),
        config(2),
        listener,
        async move {
            let _ = stopped.await;
        },
    ));
    let client = reqwest::Client::new();
    let base = format!("http://{address}");
    let input = json!({"input": {"image": b64(&logo_png()), "max_colors": 4}});

    let answer = post_json(&client, &format!("{base}/runsync"), &input).await;
    assert_eq!(answer["status"], "COMPLETED", "{answer}");
    assert!(answer["output"]["svg"]
        .as_str()
        .unwrap()
        .starts_with("<svg"));

    let queued = post_json(&client, &format!("{base}/run"), &input).await;
    let id = queued["id"].as_str().unwrap().to_owned();
    let mut status = queued["status"].as_str().unwrap().to_owned();
    let mut polls = 0;
    while status != "COMPLETED" {
        assert!(
            ["IN_QUEUE", "IN_PROGRESS"].contains(&status.as_str()),
            "{status}"
        );
        polls += 1;
        assert!(polls < 2400, "the job did not complete");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let answer: Value = client
            .get(format!("{base}/status/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        status = answer["status"].as_str().unwrap().to_owned();
        if status == "COMPLETED" {
            assert_eq!(answer["output"]["metadata"]["width"], 96, "{answer}");
        }
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// A job's `s3Config` for the loopback S3 server.
fn s3_config(server: &s3::S3Server) -> Value {
    json!({"endpointUrl": server.endpoint, "accessId": s3::ACCESS_KEY,
           "accessSecret": s3::SECRET, "bucketName": s3::BUCKET})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_with_formats_and_an_s3_config_returns_urls_that_serve_the_files() {
    let server = s3::S3Server::start().await;
    let worker = Worker::start(handler(true), config(1));
    worker.queue.push_job(json!({
        "id": "job-s3",
        "input": {"image": b64(&logo_png()), "formats": ["svg", "pdf"], "return_logs": true},
        "s3Config": s3_config(&server),
    }));
    let result = worker.result("job-s3").await;
    let output = &result["output"];
    assert!(
        output.get("svg").is_none(),
        "uploaded, not inline: {result}"
    );
    let outputs = output["outputs"]
        .as_object()
        .unwrap_or_else(|| panic!("{result}"));
    assert_eq!(outputs.len(), 2, "{result}");
    let client = reqwest::Client::new();
    for (format, magic, media_type) in [
        ("svg", &b"<svg"[..], "image/svg+xml"),
        ("pdf", &b"%PDF"[..], "application/pdf"),
    ] {
        let entry = &outputs[format];
        assert_eq!(entry["key"], format!("job-s3/output.{format}"), "{entry}");
        assert_eq!(entry["media_type"], media_type);
        let url = entry["url"].as_str().unwrap();
        let body = client.get(url).send().await.unwrap();
        assert_eq!(body.status(), 200, "{url}");
        let body = body.bytes().await.unwrap();
        assert!(
            body.starts_with(magic),
            "{format}: {:?}",
            &body[..8.min(body.len())]
        );
        assert_eq!(entry["bytes"].as_u64(), Some(body.len() as u64));
        assert_eq!(
            server.stored(&format!("job-s3/output.{format}")).as_deref(),
            Some(&body[..])
        );
        assert!(entry["expires_at"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(output["metadata"]["width"], 96);
    assert!(
        !result.to_string().contains(s3::SECRET),
        "the secret is in the result"
    );
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_operators_bucket_receives_every_output_file() {
    let server = s3::S3Server::start().await;
    let env: Vec<(String, String)> = [
        (
            "BUCKET_ENDPOINT_URL",
            format!("{}/{}", server.endpoint, s3::BUCKET),
        ),
        ("BUCKET_ACCESS_KEY_ID", s3::ACCESS_KEY.to_owned()),
        ("BUCKET_SECRET_ACCESS_KEY", s3::SECRET.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let bucket = Bucket::from_env(&env).unwrap().expect("a bucket");
    // The operator's bucket is trusted: loopback works without the private-address override.
    let worker = Worker::start(handler_with(false, Some(bucket), None), config(1));
    worker
        .queue
        .push("job-env", json!({"image": b64(&logo_png())}));
    let result = worker.result("job-env").await;
    let entry = &result["output"]["outputs"]["svg"];
    assert_eq!(entry["key"], "job-env/output.svg", "{result}");
    let body = reqwest::get(entry["url"].as_str().unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.starts_with("<svg"), "{body}");
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_a_bucket_formats_come_back_inline() {
    let worker = Worker::start(handler(false), config(1));
    worker.queue.push(
        "job-inline",
        json!({"image": b64(&logo_png()), "formats": ["pdf", "svg", "png"]}),
    );
    let result = worker.result("job-inline").await;
    let output = &result["output"];
    assert!(output.get("svg").is_none(), "{result}");
    let outputs = &output["outputs"];
    let svg = outputs["svg"]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("{result}"));
    assert!(svg.starts_with("<svg"));
    assert_eq!(outputs["svg"]["bytes"].as_u64(), Some(svg.len() as u64));
    assert_eq!(
        output["metadata"]["svg_bytes"].as_u64(),
        Some(svg.len() as u64)
    );
    for (format, magic, media_type) in [
        ("pdf", &b"%PDF"[..], "application/pdf"),
        ("png", &b"\x89PNG"[..], "image/png"),
    ] {
        let entry = &outputs[format];
        assert_eq!(entry["media_type"], media_type);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(
                entry["base64"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{entry}")),
            )
            .unwrap();
        assert!(bytes.starts_with(magic), "{format}");
        assert_eq!(entry["bytes"].as_u64(), Some(bytes.len() as u64));
    }
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn inline_outputs_over_the_limit_are_output_too_large_naming_the_bucket_settings() {
    // The SVG alone fits; the SVG and its PDF together do not.
    let probe = Worker::start(handler(false), config(1));
    probe
        .queue
        .push("job-size", json!({"image": b64(&logo_png())}));
    let svg_bytes = probe.result("job-size").await["output"]["metadata"]["svg_bytes"]
        .as_u64()
        .unwrap() as usize;
    probe.finish().await;

    let worker = Worker::start(handler_with(false, None, Some(svg_bytes + 16)), config(1));
    worker.queue.push(
        "job-big",
        json!({"image": b64(&logo_png()), "formats": ["svg", "pdf"]}),
    );
    let report = error_report(&worker.result("job-big").await);
    assert_eq!(report["error_type"], "OutputTooLarge", "{report}");
    let message = report["error_message"].as_str().unwrap();
    for fragment in [
        "the inline outputs (svg",
        &format!("over output.max_inline_bytes = {}", svg_bytes + 16),
        "BUCKET_ENDPOINT_URL",
        "s3Config",
    ] {
        assert!(message.contains(fragment), "{fragment}: {message}");
    }
    // The same job with the SVG alone still fits.
    worker
        .queue
        .push("job-fits", json!({"image": b64(&logo_png())}));
    assert!(worker.result("job-fits").await["output"]["svg"].is_string());
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_formats_and_s3_configs_are_invalid_input_and_never_show_the_secret() {
    let server = s3::S3Server::start().await;
    let image = b64(&logo_png());
    let mut missing_key = s3_config(&server);
    missing_key.as_object_mut().unwrap().remove("accessId");
    let mut ftp = s3_config(&server);
    ftp["endpointUrl"] = json!("ftp://127.0.0.1/outputs");
    let mut wrong_secret = s3_config(&server);
    wrong_secret["accessSecret"] = json!("wrong-secret-55aa");
    let cases = [
        (
            json!({"image": image, "formats": ["svg", "tiff"]}),
            None,
            "formats[1]: \"tiff\" is not a format; use svg, pdf, eps, dxf or png",
        ),
        (
            json!({"image": image, "formats": []}),
            None,
            "formats: [] is empty",
        ),
        (
            json!({"image": image, "formats": ["png", "png"]}),
            None,
            "formats[1]: \"png\" is listed twice",
        ),
        (
            json!({"image": image}),
            Some(missing_key),
            "s3Config.accessId: is missing",
        ),
        (
            json!({"image": image}),
            Some(ftp),
            "s3Config.endpointUrl: \"ftp://127.0.0.1/outputs\" has scheme \"ftp\"",
        ),
        // A private endpoint without RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS (this worker's is off).
        (
            json!({"image": image}),
            Some(s3_config(&server)),
            "RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS",
        ),
    ];
    let worker = Worker::start(handler(false), config(1));
    for (index, (input, s3_config, fragment)) in cases.into_iter().enumerate() {
        let id = format!("bad-{index}");
        let mut job = json!({"id": id, "input": input});
        if let Some(s3_config) = s3_config {
            job["s3Config"] = s3_config;
        }
        worker.queue.push_job(job);
        let result = worker.result(&id).await;
        let report = error_report(&result);
        assert_eq!(report["error_type"], "InvalidInput", "{report}");
        let message = report["error_message"].as_str().unwrap();
        assert!(message.contains(fragment), "{fragment}: {message}");
        assert!(!result.to_string().contains(s3::SECRET), "{result}");
    }
    worker.finish().await;

    // Refused credentials in a job's own s3Config are its input to fix; a failed upload
    // fails the job, with no partial result.
    let relaxed = Worker::start(handler(true), config(1));
    relaxed.queue.push_job(
        json!({"id": "bad-key", "input": {"image": image, "formats": ["svg", "pdf"]},
                                  "s3Config": wrong_secret}),
    );
    let result = relaxed.result("bad-key").await;
    assert!(result.get("output").is_none(), "{result}");
    let report = error_report(&result);
    assert_eq!(report["error_type"], "InvalidInput", "{report}");
    let message = report["error_message"].as_str().unwrap();
    assert!(message.contains("refused the credentials"), "{message}");
    assert!(message.contains(&server.endpoint), "{message}");
    assert!(
        !result.to_string().contains("wrong-secret-55aa"),
        "{result}"
    );
    relaxed.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_upload_to_a_stalled_bucket_ends_at_the_job_deadline_and_the_next_job_runs() {
    let mut stalled = s3::StalledServer::start().await;
    let worker = Worker::start(handler(true), config(1));
    worker.queue.push_job(json!({
        "id": "job-stalled",
        "input": {"image": b64(&logo_png()), "deadline_s": 10},
        "s3Config": {"endpointUrl": format!("http://{}/{}", stalled.address, s3::BUCKET),
                     "accessId": s3::ACCESS_KEY, "accessSecret": s3::SECRET},
    }));
    let result = worker.result("job-stalled").await;
    let report = error_report(&result);
    assert_eq!(report["error_type"], "DeadlineExceeded", "{report}");
    // The upload had reached the bucket, which never answered.
    assert!(
        stalled.accepted.try_recv().is_ok(),
        "the upload never connected"
    );
    worker
        .queue
        .push("job-after", json!({"image": b64(&logo_png())}));
    assert!(worker.result("job-after").await["output"]["svg"].is_string());
    worker.finish().await;
}

/// A `side`² checkerboard of single black and white pixels: a few hundred bytes of PNG whose
/// pixel-mode trace is one square per pixel.
fn checkerboard_png(side: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(side, side, |x, y| {
        if (x + y) % 2 == 0 {
            image::Rgb([0, 0, 0])
        } else {
            image::Rgb([255, 255, 255])
        }
    });
    let mut bytes = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_uploaded_output_past_max_file_bytes_stops_there_naming_the_format_and_the_limit() {
    // Issue 21, finding 1: a checkerboard in pixel mode made a 191 MB DXF, built whole and
    // uploaded with no cap. Now every uploaded file has one.
    let server = s3::S3Server::start().await;
    let worker = Worker::start(handler_caps(true, None, None, Some(1_000_000)), config(1));
    worker.queue.push_job(json!({
        "id": "job-checker",
        "input": {"image": b64(&checkerboard_png(256)), "formats": ["dxf"],
                  "trace": {"mode": "pixel"}, "max_colors": 2},
        "s3Config": s3_config(&server),
    }));
    let report = error_report(&worker.result("job-checker").await);
    assert_eq!(report["error_type"], "OutputTooLarge", "{report}");
    let message = report["error_message"].as_str().unwrap();
    for fragment in ["dxf output", "output.max_file_bytes = 1000000", "at least"] {
        assert!(message.contains(fragment), "{fragment}: {message}");
    }
    assert!(
        server.stored("job-checker/output.dxf").is_none(),
        "nothing was uploaded"
    );
    // The worker takes the next job normally.
    worker
        .queue
        .push("job-after", json!({"image": b64(&logo_png())}));
    assert!(worker.result("job-after").await["output"]["svg"].is_string());
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_inline_output_past_the_inline_limit_is_refused_before_it_is_built() {
    let worker = Worker::start(handler_caps(false, None, Some(2_000_000), None), config(1));
    worker.queue.push(
        "job-checker",
        json!({"image": b64(&checkerboard_png(256)), "formats": ["svg", "dxf"],
               "trace": {"mode": "pixel"}, "max_colors": 2}),
    );
    let report = error_report(&worker.result("job-checker").await);
    assert_eq!(report["error_type"], "OutputTooLarge", "{report}");
    let message = report["error_message"].as_str().unwrap();
    for fragment in [
        "the inline outputs (svg",
        "dxf at least",
        "BUCKET_ENDPOINT_URL",
    ] {
        assert!(message.contains(fragment), "{fragment}: {message}");
    }
    worker.finish().await;
}
