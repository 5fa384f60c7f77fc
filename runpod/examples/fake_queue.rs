//! A standalone fake RunPod queue, for trying a worker by hand.
//!
//! ```text
//! cargo run -p runpod --example fake_queue -- [JOBS]
//! ```
//!
//! Prints `export RUNPOD_…=…` lines pointing at itself, queues JOBS echo jobs (default 10),
//! and prints each result as it arrives until all are in (or Ctrl-C).

use std::time::Duration;

use serde_json::json;

#[tokio::main]
async fn main() {
    let jobs: usize = std::env::args()
        .nth(1)
        .and_then(|value| value.parse().ok())
        .unwrap_or(10);
    let fake = runpod::fake::FakeQueue::start().expect("fake queue starts");
    for (key, value) in fake.env() {
        println!("export {key}='{value}'");
    }
    for index in 0..jobs {
        fake.push(&format!("job-{index}"), json!({"n": index, "progress": 2}));
    }
    let mut seen = 0;
    while seen < jobs {
        match fake.wait_results(seen + 1, Duration::from_secs(3600)).await {
            Ok(results) => {
                for (id, body) in &results[seen..] {
                    println!("{id}: {body}");
                }
                seen = results.len();
            }
            Err(error) => {
                eprintln!("{error}");
                break;
            }
        }
    }
    fake.shutdown();
}
