//! Benchmark (not a test) of the real worker: `gemini3 worker` (release build) in production
//! mode against the in-process fake RunPod queue, on CPU.
//!
//! Measures, per image size: time from process start to the first job-take (ONNX Runtime
//! load and session warm-up included), jobs/s, take→result latency p50/p99, the pipeline's own
//! `total_ms` (from the metadata), RSS after 1, 50, 100, 150 and 200 jobs (it must stay flat),
//! peak RSS, and time to exit on SIGTERM. Writes markdown to the path given (default stdout).
//!
//!     cargo build --release && cargo run --release --example bench_handler -- bench/handler.md

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use runpod::fake::{FakeQueue, Route};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(900);

/// A synthetic icon: a white background, a rounded square, a circle and a bar with
/// anti-aliased edges, plus mild noise (a stand-in for JPEG-ish input).
fn icon_png(side: u32) -> Vec<u8> {
    let s = side as f32;
    let mut image = image::RgbImage::new(side, side);
    let mut state = 0x2545_f491u32;
    for (x, y, pixel) in image.enumerate_pixels_mut() {
        let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
        let mut color = [255.0f32, 255.0, 255.0];
        let blend = |color: &mut [f32; 3], paint: [f32; 3], coverage: f32| {
            let c = coverage.clamp(0.0, 1.0);
            for i in 0..3 {
                color[i] = color[i] * (1.0 - c) + paint[i] * c;
            }
        };
        let square = (0.08 * s - fx)
            .max(fx - 0.92 * s)
            .max(0.08 * s - fy)
            .max(fy - 0.92 * s);
        blend(&mut color, [30.0, 90.0, 200.0], 0.5 - square);
        let circle = ((fx - 0.5 * s).powi(2) + (fy - 0.45 * s).powi(2)).sqrt() - 0.27 * s;
        blend(&mut color, [250.0, 160.0, 30.0], 0.5 - circle);
        let bar = (0.3 * s - fx)
            .max(fx - 0.7 * s)
            .max(0.78 * s - fy)
            .max(fy - 0.85 * s);
        blend(&mut color, [20.0, 20.0, 30.0], 0.5 - bar);
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let noise = (state % 9) as f32 - 4.0;
        *pixel = image::Rgb(color.map(|c| (c + noise).clamp(0.0, 255.0) as u8));
    }
    let mut bytes = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .expect("PNG encodes");
    bytes
}

fn rss_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|line| line.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

struct Scenario {
    side: u32,
    /// `gemini3`'s own allocator setting (2 arenas) or glibc's default, for comparison.
    arenas: &'static str,
    jobs: usize,
    start_to_take_ms: f64,
    jobs_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    pipeline_p50_ms: f64,
    rss_mib: Vec<(usize, f64)>,
    peak_mib: f64,
    exit_ms: f64,
}

fn spawn_worker(
    binary: &PathBuf,
    root: &PathBuf,
    queue: &FakeQueue,
    glibc_arenas: bool,
) -> std::io::Result<Child> {
    let mut command = Command::new(binary);
    command.env_remove("MALLOC_ARENA_MAX");
    if glibc_arenas {
        // glibc's own default on this machine: 8 arenas per core.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        command.env("MALLOC_ARENA_MAX", (8 * cores).to_string());
    }
    command
        .arg("worker")
        .current_dir(root)
        .env("GEMINI3_ROOT", root)
        .env("GEMINI3__HARDWARE__DEVICE", "cpu")
        .env("RUNPOD_LOG_LEVEL", "ERROR")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (key, value) in queue.env() {
        command.env(key, value);
    }
    command.spawn()
}

async fn run_scenario(
    binary: &PathBuf,
    root: &PathBuf,
    side: u32,
    jobs: usize,
    glibc_arenas: bool,
) -> Scenario {
    let queue = FakeQueue::start().expect("fake queue starts");
    queue.set_hold(Duration::from_millis(200));
    let image = base64::engine::general_purpose::STANDARD.encode(icon_png(side));
    let input = json!({"image": image, "max_colors": 8});
    queue.push("job-0", input.clone());
    let started = Instant::now();
    let mut child = spawn_worker(binary, root, &queue, glibc_arenas).expect("the worker starts");
    let pid = child.id();
    let events = queue
        .wait_for(WAIT, |events| {
            events.iter().any(|e| {
                matches!(e.route, Route::JobTake | Route::JobTakeBatch) && !e.jobs.is_empty()
            })
        })
        .await
        .expect("a first take");
    let first_take = events
        .iter()
        .find(|e| matches!(e.route, Route::JobTake | Route::JobTakeBatch) && !e.jobs.is_empty())
        .expect("found above")
        .at;
    let start_to_take_ms = first_take.duration_since(started).as_secs_f64() * 1e3;
    for index in 1..jobs {
        queue.push(&format!("job-{index}"), input.clone());
    }
    let checkpoints = [1usize, 50, 100, 150, 200];
    let mut rss_mib = Vec::new();
    for checkpoint in checkpoints.iter().copied().filter(|c| *c <= jobs) {
        queue
            .wait_results(checkpoint, WAIT)
            .await
            .expect("results arrive");
        if let Some(kib) = rss_kib(pid, "VmRSS:") {
            rss_mib.push((checkpoint, kib as f64 / 1024.0));
        }
    }
    let results = queue.wait_results(jobs, WAIT).await.expect("every result");
    let peak_mib = rss_kib(pid, "VmHWM:").unwrap_or(0) as f64 / 1024.0;
    let events = queue.events();
    let take_at = |id: &str| {
        events
            .iter()
            .find(|e| {
                matches!(e.route, Route::JobTake | Route::JobTakeBatch)
                    && e.jobs.iter().any(|j| j == id)
            })
            .map(|e| e.at)
    };
    let done_at = |id: &str| {
        events
            .iter()
            .find(|e| e.is_delivered_result() && e.jobs.first().map(String::as_str) == Some(id))
            .map(|e| e.at)
    };
    let mut latencies: Vec<f64> = (0..jobs)
        .filter_map(|i| {
            let id = format!("job-{i}");
            Some(done_at(&id)?.duration_since(take_at(&id)?).as_secs_f64() * 1e3)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let last_done = (0..jobs)
        .filter_map(|i| done_at(&format!("job-{i}")))
        .max()
        .expect("results");
    let jobs_per_s = jobs as f64 / last_done.duration_since(first_take).as_secs_f64();
    let mut pipeline_ms: Vec<f64> = results
        .iter()
        .filter_map(|(_, body)| body["output"]["metadata"]["total_ms"].as_f64())
        .collect();
    pipeline_ms.sort_by(f64::total_cmp);
    assert_eq!(pipeline_ms.len(), jobs, "every job succeeded");

    let term = Instant::now();
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let _ = child.wait();
    let exit_ms = term.elapsed().as_secs_f64() * 1e3;
    queue.shutdown();
    Scenario {
        side,
        arenas: if glibc_arenas {
            "glibc default"
        } else {
            "2 (gemini3)"
        },
        jobs,
        start_to_take_ms,
        jobs_per_s,
        p50_ms: percentile(&latencies, 50.0),
        p99_ms: percentile(&latencies, 99.0),
        pipeline_p50_ms: percentile(&pipeline_ms, 50.0),
        rss_mib,
        peak_mib,
        exit_ms,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let binary = root.join("target/release/gemini3");
    if !binary.exists() {
        return Err("build the release binary first: cargo build --release".into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let scenarios = runtime.block_on(async {
        vec![
            run_scenario(&binary, &root, 256, 200, false).await,
            run_scenario(&binary, &root, 512, 100, false).await,
            run_scenario(&binary, &root, 1024, 200, false).await,
            run_scenario(&binary, &root, 1024, 200, true).await,
        ]
    });
    let mut text = String::new();
    text.push_str(
        "## The real handler on CPU (`make bench-worker`, `examples/bench_handler.rs`)\n\n",
    );
    text.push_str(&format!(
        "`gemini3 worker` (release) in production mode against the loopback fake queue, concurrency 1, \
         `hardware.device = cpu`, {} cores; synthetic anti-aliased icons with mild noise, `max_colors = 8`, \
         automatic palette, default phases (1, 3, 4).\n\n",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    ));
    text.push_str("| image | malloc arenas | jobs | start → first take (ms, incl. warm-up) | jobs/s | take→result p50 (ms) | p99 (ms) | pipeline total_ms p50 | peak RSS (MiB) | exit on SIGTERM (ms) |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for s in &scenarios {
        text.push_str(&format!(
            "| {0}×{0} | {9} | {1} | {2:.0} | {3:.1} | {4:.1} | {5:.1} | {6:.1} | {7:.1} | {8:.0} |\n",
            s.side,
            s.jobs,
            s.start_to_take_ms,
            s.jobs_per_s,
            s.p50_ms,
            s.p99_ms,
            s.pipeline_p50_ms,
            s.peak_mib,
            s.exit_ms,
            s.arenas
        ));
    }
    text.push_str("\nRSS (MiB) after N jobs (flat means no growth from job to job):\n\n| image | malloc arenas |");
    let checkpoints = [1usize, 50, 100, 150, 200];
    for n in checkpoints {
        text.push_str(&format!(" after {n} |"));
    }
    text.push_str("\n|---|---|");
    for _ in checkpoints {
        text.push_str("---|");
    }
    text.push('\n');
    for s in &scenarios {
        text.push_str(&format!("| {0}×{0} | {1} |", s.side, s.arenas));
        for n in checkpoints {
            match s.rss_mib.iter().find(|(k, _)| *k == n) {
                Some((_, mib)) => text.push_str(&format!(" {mib:.1} |")),
                None => text.push_str(" — |"),
            }
        }
        text.push('\n');
    }
    match std::env::args().nth(1) {
        Some(path) => std::fs::write(&path, &text)?,
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    print!("{text}");
    Ok(())
}
