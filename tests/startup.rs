//! Start-up checks of `gemini3 worker` in production mode: a configuration error, a missing
//! ONNX Runtime, or `require_gpu` without a GPU is reported to the ping URL as an unhealthy
//! fitness check, and the worker exits non-zero before taking any job.

use std::path::PathBuf;
use std::process::Command;

use runpod::fake::{FakeQueue, Route};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the worker binary against `queue` with extra variables; returns (exit code, stderr).
fn run_worker(queue: &FakeQueue, extra: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gemini3"));
    command
        .arg("worker")
        .current_dir(root())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GEMINI3_ROOT", root())
        .env("RUNPOD_LOG_LEVEL", "ERROR");
    for (key, value) in queue.env() {
        command.env(key, value);
    }
    for (key, value) in extra {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The single unhealthy ping, as (check, reason).
fn unhealthy_report(queue: &FakeQueue) -> (String, String) {
    let pings = queue.events_on(Route::Ping);
    let reports: Vec<_> = pings
        .iter()
        .filter(|event| event.query("status") == Some("unhealthy"))
        .collect();
    assert_eq!(reports.len(), 1, "{pings:?}");
    let decode = |value: &str| {
        reqwest::Url::parse(&format!("http://x/?v={value}"))
            .unwrap()
            .query_pairs()
            .next()
            .unwrap()
            .1
            .into_owned()
    };
    (
        decode(reports[0].query("check").unwrap()),
        decode(reports[0].query("reason").unwrap()),
    )
}

#[test]
fn configuration_error_is_reported_unhealthy_before_any_take() {
    let queue = FakeQueue::start().unwrap();
    let (code, stderr) = run_worker(&queue, &[("GEMINI3__HARDWARE__DEVICE", "gpu9000")]);
    assert_eq!(code, Some(2), "{stderr}");
    let (check, reason) = unhealthy_report(&queue);
    assert_eq!(check, "configuration");
    assert!(reason.contains("hardware.device: \"gpu9000\""), "{reason}");
    assert!(queue.events_on(Route::JobTake).is_empty());
    assert!(queue.events_on(Route::JobTakeBatch).is_empty());
}

#[test]
fn missing_onnx_runtime_is_reported_unhealthy() {
    let queue = FakeQueue::start().unwrap();
    let (code, stderr) = run_worker(
        &queue,
        &[("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")],
    );
    assert_eq!(code, Some(2), "{stderr}");
    let (check, reason) = unhealthy_report(&queue);
    assert_eq!(check, "onnxruntime");
    assert!(reason.contains("ORT_DYLIB_PATH"), "{reason}");
    assert!(queue.events_on(Route::JobTake).is_empty());
}

#[test]
fn require_gpu_without_a_gpu_is_reported_unhealthy() {
    let queue = FakeQueue::start().unwrap();
    let (code, stderr) = run_worker(&queue, &[("GEMINI3__HARDWARE__REQUIRE_GPU", "true")]);
    assert_eq!(code, Some(2), "{stderr}");
    let (check, reason) = unhealthy_report(&queue);
    assert_eq!(check, "models");
    assert!(reason.contains("require_gpu"), "{reason}");
    assert!(queue.events_on(Route::JobTake).is_empty());
}

#[test]
fn unloadable_model_is_reported_unhealthy() {
    let queue = FakeQueue::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.onnx");
    std::fs::write(&broken, b"not an onnx model").unwrap();
    let (code, stderr) = run_worker(
        &queue,
        &[("GEMINI3__PHASE1__MODEL", broken.to_str().unwrap())],
    );
    assert_eq!(code, Some(2), "{stderr}");
    let (check, reason) = unhealthy_report(&queue);
    assert_eq!(check, "models");
    assert!(reason.contains("broken.onnx"), "{reason}");
}

#[test]
fn a_take_url_that_is_not_a_url_is_reported_unhealthy_and_exits_2() {
    for bad in ["not-a-url", "file:///etc/passwd"] {
        let queue = FakeQueue::start().unwrap();
        let (code, stderr) = run_worker(&queue, &[("RUNPOD_WEBHOOK_GET_JOB", bad)]);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains("RUNPOD_WEBHOOK_GET_JOB"), "{stderr}");
        let (check, reason) = unhealthy_report(&queue);
        assert_eq!(check, "environment");
        assert!(reason.contains("RUNPOD_WEBHOOK_GET_JOB"), "{reason}");
        assert!(reason.contains(bad), "{reason}");
    }
}

#[test]
fn a_ping_interval_of_zero_is_reported_unhealthy_and_exits_2() {
    let queue = FakeQueue::start().unwrap();
    let (code, stderr) = run_worker(&queue, &[("RUNPOD_PING_INTERVAL", "0")]);
    assert_eq!(code, Some(2), "{stderr}");
    let (check, reason) = unhealthy_report(&queue);
    assert_eq!(check, "environment");
    assert!(reason.contains("RUNPOD_PING_INTERVAL"), "{reason}");
    assert!(queue.events_on(Route::JobTake).is_empty());
}

#[test]
fn an_invalid_ping_url_exits_2_with_a_clear_message() {
    let queue = FakeQueue::start().unwrap();
    let (code, stderr) = run_worker(&queue, &[("RUNPOD_WEBHOOK_PING", "file:///tmp/ping")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("RUNPOD_WEBHOOK_PING = \"file:///tmp/ping\""),
        "{stderr}"
    );
    assert!(queue.events().is_empty(), "nothing reached the queue");
}

#[test]
fn a_job_deadline_under_a_second_is_reported_unhealthy() {
    let queue = FakeQueue::start().unwrap();
    let (code, stderr) = run_worker(
        &queue,
        &[("GEMINI3_HANDLER__WORKER__JOB_DEADLINE_S", "1e-12")],
    );
    assert_eq!(code, Some(2), "{stderr}");
    let (check, reason) = unhealthy_report(&queue);
    assert_eq!(check, "configuration");
    assert!(reason.contains("job_deadline"), "{reason}");
    assert!(queue.events_on(Route::JobTake).is_empty());
}
