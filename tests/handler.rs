//! The gemini3 handler end to end: the runtime's fake RunPod queue, the real pipeline on CPU
//! with the shipped models, and the local API server.

mod common;
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
    let settings = handler_settings();
    Arc::new(VectorizeHandler::new(
        pipeline(),
        HandlerConfig {
            input: settings.input,
            output: settings.output,
            allow_private_downloads: allow_private,
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
