//! Benchmark driver (not a test): runs one worker process against a [`FakeQueue`] and prints
//! its figures as one JSON object.
//!
//! ```text
//! worker_bench --jobs N [--faults | --profile P] [--hold-ms H] [--max-wait-s S] -- COMMAND [ARGS…]
//! ```
//!
//! It starts the fake queue, starts COMMAND with the fake's `RUNPOD_*` variables, measures
//! the time to the first job-take and the idle RSS, queues N no-op jobs, measures throughput
//! and take→result latency from the fake's own timestamps, counts lost and duplicated
//! results, then sends SIGTERM and measures the time to exit. With `--faults`, every route
//! answers 5% of requests with 503 and drops 2% of connections. `--profile` picks a harsher
//! fault profile, applied once the jobs are queued:
//!
//! - `faults`: the `--faults` rates above;
//! - `lossy`: every route answers 10% of requests with 503 and drops 10% of connections;
//! - `done5xx`: job-done answers 50% of requests with 503;
//! - `resets`: job-done and job-take drop 20% of connections (reset before any answer);
//! - `outage20`: job-done answers every request with 500 for 20 s.
//!
//! RSS is summed over the
//! worker's process tree (the Python worker pings from a child process). Driven by
//! `bench/worker_bench.py`.

use std::collections::{HashMap, HashSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use runpod::fake::{Event, FakeQueue, Route};
use serde_json::json;

struct Args {
    jobs: usize,
    faults: bool,
    profile: Option<String>,
    hold: Duration,
    max_wait: Duration,
    command: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut parsed = Args {
        jobs: 1000,
        faults: false,
        profile: None,
        hold: Duration::from_secs(20),
        max_wait: Duration::from_secs(300),
        command: Vec::new(),
    };
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            args.next()
                .and_then(|value| value.parse().ok())
                .ok_or_else(|| format!("{name} needs a number"))
        };
        match arg.as_str() {
            "--jobs" => parsed.jobs = number("--jobs")? as usize,
            "--hold-ms" => parsed.hold = Duration::from_millis(number("--hold-ms")?),
            "--max-wait-s" => parsed.max_wait = Duration::from_secs(number("--max-wait-s")?),
            "--faults" => parsed.faults = true,
            "--profile" => {
                let name = args.next().ok_or("--profile needs a name")?;
                if !PROFILES.contains(&name.as_str()) {
                    return Err(format!("unknown profile {name:?}; one of {PROFILES:?}"));
                }
                parsed.profile = Some(name);
            }
            "--" => {
                parsed.command = args.collect();
                break;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if parsed.command.is_empty() {
        return Err("usage: worker_bench --jobs N [--faults] -- COMMAND [ARGS…]".to_owned());
    }
    Ok(parsed)
}

/// (pid, ppid) of every process.
fn process_table() -> Vec<(u32, u32)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let after_name = &stat[stat.rfind(')')? + 2..];
            let ppid: u32 = after_name.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect()
}

fn tree(root: u32) -> Vec<u32> {
    let table = process_table();
    let mut found = vec![root];
    let mut index = 0;
    while index < found.len() {
        let parent = found[index];
        found.extend(
            table
                .iter()
                .filter(|(_, ppid)| *ppid == parent)
                .map(|(pid, _)| *pid),
        );
        index += 1;
    }
    found
}

/// A `/proc/<pid>/status` field in kB.
fn status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with(field))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|value| value.parse().ok())
        })
        .unwrap_or(0)
}

fn tree_kb(root: u32, field: &str) -> u64 {
    tree(root)
        .into_iter()
        .map(|pid| status_kb(pid, field))
        .sum()
}

/// The fault profiles `--profile` accepts.
const PROFILES: [&str; 5] = ["faults", "lossy", "done5xx", "resets", "outage20"];

const ALL_ROUTES: [Route; 6] = [
    Route::JobTake,
    Route::JobTakeBatch,
    Route::JobDone,
    Route::Ping,
    Route::JobStop,
    Route::JobStream,
];

/// Applies a fault profile (see the module documentation).
fn apply_profile(fake: &FakeQueue, profile: &str) {
    match profile {
        "faults" => {
            for route in ALL_ROUTES {
                fake.set_random_faults(route, 0.05, 0.02);
            }
        }
        "lossy" => {
            for route in ALL_ROUTES {
                fake.set_random_faults(route, 0.10, 0.10);
            }
        }
        "done5xx" => fake.set_random_faults(Route::JobDone, 0.5, 0.0),
        "resets" => {
            for route in [Route::JobDone, Route::JobTake, Route::JobTakeBatch] {
                fake.set_random_faults(route, 0.0, 0.2);
            }
        }
        "outage20" => fake.fail_for(Route::JobDone, 500, Duration::from_secs(20)),
        other => unreachable!("profile {other:?} was checked when parsing"),
    }
}

fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() - 1) as f64 * fraction).round() as usize;
    sorted[index]
}

fn is_take(event: &Event) -> bool {
    matches!(event.route, Route::JobTake | Route::JobTakeBatch)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let fake = FakeQueue::start_on("127.0.0.1:0".parse().expect("literal address"), 1)
        .expect("fake queue starts");
    fake.set_hold(args.hold);
    let mut env = fake.env();
    env.push(("RUNPOD_PING_INTERVAL".into(), "10000".into()));
    env.push(("RUNPOD_LOG_LEVEL".into(), "ERROR".into()));

    let started = Instant::now();
    let mut child = tokio::process::Command::new(&args.command[0])
        .args(&args.command[1..])
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("worker starts");
    let pid = child.id().expect("worker pid");

    let first_take = fake
        .wait_first_take(Duration::from_secs(120))
        .await
        .expect("the worker takes within 120 s")
        .saturating_duration_since(started);
    // Let start-up allocations settle, then read the idle footprint.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss_kb = tree_kb(pid, "VmRSS:");
    let idle_rss_main_kb = status_kb(pid, "VmRSS:");

    let profile = args
        .profile
        .clone()
        .or_else(|| args.faults.then(|| "faults".to_owned()));
    for index in 0..args.jobs {
        fake.push(&format!("bench-{index}"), json!({"n": index}));
    }
    if let Some(profile) = &profile {
        apply_profile(&fake, profile);
    }
    let pushed_at = Instant::now();
    let mut peak_rss_kb = 0;
    let deadline = Instant::now() + args.max_wait;
    loop {
        peak_rss_kb = peak_rss_kb.max(tree_kb(pid, "VmRSS:"));
        let done = fake
            .wait_for(Duration::from_millis(500), |events| {
                events
                    .iter()
                    .filter(|event| event.is_delivered_result())
                    .count()
                    >= args.jobs
            })
            .await
            .is_ok();
        if done || Instant::now() >= deadline {
            break;
        }
        // With faults, a lost result never arrives: stop once the queue is empty and nothing
        // has been delivered for 20 s (longer than any retry schedule).
        if fake.queued() == 0 {
            let last = fake
                .events()
                .iter()
                .filter(|event| event.route == Route::JobDone)
                .map(|event| event.at)
                .max();
            if last.is_some_and(|at| at.elapsed() > Duration::from_secs(20)) {
                break;
            }
        }
    }
    let peak_hwm_kb = tree_kb(pid, "VmHWM:");
    let events = fake.events();
    let mut taken_at: HashMap<String, Instant> = HashMap::new();
    for event in events.iter().filter(|event| is_take(event) && event.ok()) {
        for id in &event.jobs {
            taken_at.entry(id.clone()).or_insert(event.at);
        }
    }
    let mut delivered: HashSet<String> = HashSet::new();
    let mut duplicates = 0;
    let mut latencies_ms = Vec::new();
    let mut first_take_of_run: Option<Instant> = None;
    let mut last_result: Option<Instant> = None;
    for event in events.iter().filter(|event| event.is_delivered_result()) {
        let Some(id) = event.jobs.first() else {
            continue;
        };
        if !delivered.insert(id.clone()) {
            duplicates += 1;
            continue;
        }
        if let Some(taken) = taken_at.get(id) {
            latencies_ms.push(event.at.saturating_duration_since(*taken).as_secs_f64() * 1000.0);
            first_take_of_run =
                Some(first_take_of_run.map_or(*taken, |first: Instant| first.min(*taken)));
        }
        last_result = Some(last_result.map_or(event.at, |last: Instant| last.max(event.at)));
    }
    latencies_ms.sort_by(f64::total_cmp);
    let span = match (first_take_of_run, last_result) {
        (Some(first), Some(last)) => last.saturating_duration_since(first),
        _ => pushed_at.elapsed(),
    };
    let taken: HashSet<&String> = taken_at.keys().collect();
    let lost = taken.iter().filter(|id| !delivered.contains(**id)).count();

    // SIGTERM while idle (a job-take long poll is in flight): time to exit.
    let sigterm_at = Instant::now();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let exit = tokio::time::timeout(Duration::from_secs(60), child.wait()).await;
    let sigterm_exit_ms = sigterm_at.elapsed().as_secs_f64() * 1000.0;
    let exit_code = match exit {
        Ok(Ok(status)) => status
            .code()
            .map_or(json!(status.to_string()), |code| json!(code)),
        _ => {
            let _ = child.kill().await;
            json!("killed after 60 s")
        }
    };
    let figures = json!({
        "command": args.command.join(" "),
        "faults": args.faults,
        "profile": profile,
        "jobs_pushed": args.jobs,
        "jobs_taken": taken.len(),
        "results_delivered": delivered.len(),
        "results_lost": lost,
        "duplicate_results": duplicates,
        "jobs_per_s": delivered.len() as f64 / span.as_secs_f64().max(1e-9),
        "run_s": span.as_secs_f64(),
        "latency_p50_ms": percentile(&latencies_ms, 0.50),
        "latency_p99_ms": percentile(&latencies_ms, 0.99),
        "start_to_first_take_ms": first_take.as_secs_f64() * 1000.0,
        "idle_rss_kb": idle_rss_kb,
        "idle_rss_main_kb": idle_rss_main_kb,
        "peak_rss_kb": peak_rss_kb.max(idle_rss_kb),
        "peak_hwm_kb": peak_hwm_kb,
        "sigterm_exit_ms": sigterm_exit_ms,
        "exit_code": exit_code,
        "requests_faulted_by_fake": events
            .iter()
            .filter(|event| {
                matches!(event.served, runpod::fake::Served::Dropped | runpod::fake::Served::Status(500 | 503))
            })
            .count(),
    });
    println!("{figures}");
    fake.shutdown();
}
