//! Start-up checks of `gemini3 worker` in production mode: a configuration error, a missing
//! ONNX Runtime, or `require_gpu` without a GPU is reported to the ping URL as an unhealthy
//! fitness check, and the worker exits non-zero before taking any job. And the start-up
//! messages of the one-shot commands: one line per fact, provider fallbacks at `info` (a
//! worker keeps them at `warn`), nothing but the result on a CPU run into a pipe.

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
        &[("GEMINI3__PHASE2__MODEL", broken.to_str().unwrap())],
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

/// Runs the binary with `args` and only `extra` in its environment; returns (exit code,
/// everything it printed: stdout, where the worker logs, then stderr).
fn run_cli(args: &[&str], extra: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gemini3"));
    command
        .args(args)
        .current_dir(root())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GEMINI3_ROOT", root());
    for (key, value) in extra {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

/// The provider named in each "falling back" log line of `stderr`, with the line.
fn fallback_lines(stderr: &str) -> Vec<(String, String)> {
    stderr
        .lines()
        .filter(|line| line.contains("falling back"))
        .map(|line| {
            let provider = line
                .split("provider=")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .unwrap_or("")
                .to_owned();
            (provider, line.to_owned())
        })
        .collect()
}

#[test]
fn one_shot_vectorize_into_a_pipe_prints_only_its_result() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("logo.svg");
    let (code, stderr) = run_cli(
        &[
            "vectorize",
            "tests/fixtures/logo96.png",
            "-o",
            svg.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        !stderr.contains('\x1b'),
        "escape codes in a pipe: {stderr:?}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("logo.svg"), "{stderr}");
    assert!(svg.is_file());
}

#[test]
fn one_shot_provider_fallbacks_are_info_and_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("logo.svg");
    let metadata = dir.path().join("logo.json");
    let (code, stderr) = run_cli(
        &[
            "vectorize",
            "tests/fixtures/logo96.png",
            "-o",
            svg.to_str().unwrap(),
            "--metadata",
            metadata.to_str().unwrap(),
        ],
        &[("RUST_LOG", "info")],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let metadata: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&metadata).unwrap()).unwrap();
    let fallbacks = fallback_lines(&stderr);
    assert_said_once(&fallbacks, &metadata["phases"], "INFO", &stderr);
}

/// Each fallback line is at `level` and names its provider once; when the sessions landed on
/// CPU under the default `auto` chain, both GPU providers were reported.
fn assert_said_once(
    fallbacks: &[(String, String)],
    phases: &serde_json::Value,
    level: &str,
    stderr: &str,
) {
    for (provider, line) in fallbacks {
        assert!(line.contains(level), "not at {level}: {line}");
        let times = fallbacks.iter().filter(|(p, _)| p == provider).count();
        assert_eq!(times, 1, "{provider} reported {times} times: {stderr}");
    }
    if phases["phase3"]["provider"] == "cpu" {
        let mut named: Vec<&str> = fallbacks.iter().map(|(p, _)| p.as_str()).collect();
        named.sort_unstable();
        assert_eq!(named, ["cuda", "tensorrt"], "{stderr}");
    }
}

#[test]
fn the_worker_still_warns_of_provider_fallbacks_once_each() {
    let dir = tempfile::tempdir().unwrap();
    use base64::Engine as _;
    let png = std::fs::read(root().join("tests/fixtures/logo96.png")).unwrap();
    let image = base64::engine::general_purpose::STANDARD.encode(png);
    let job = serde_json::json!({"input": {"image": image}}).to_string();
    let (_, stderr) = run_cli(
        &[
            "worker",
            "--test-input",
            &job,
            "--output-dir",
            dir.path().to_str().unwrap(),
        ],
        &[("RUNPOD_LOG_LEVEL", "INFO")],
    );
    let result: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("test_output.json")).unwrap(),
    )
    .unwrap();
    let phases = &result["output"]["metadata"]["phases"];
    assert!(phases.is_object(), "{result}");
    assert_said_once(&fallback_lines(&stderr), phases, "WARN", &stderr);
}

#[test]
fn a_missing_test_input_file_names_its_cause_once() {
    let (code, stderr) = run_cli(
        &["worker", "--test-input", "no-such-job.json"],
        &[("RUNPOD_LOG_LEVEL", "ERROR")],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no-such-job.json"), "{stderr}");
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
}
