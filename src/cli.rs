//! The command line: `vectorize`, `worker`, `serve` and `check`. Doc comments here are the
//! `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Raster images to clean, palette-exact SVG: a RunPod serverless worker and a CLI.
#[derive(Debug, Parser)]
#[command(name = "gemini3", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Vectorize an image, or every image in a folder.
    Vectorize(crate::commands::vectorize::VectorizeArgs),
    /// Run the RunPod worker: production when RUNPOD_WEBHOOK_GET_JOB is set, else one job
    /// from --test-input or ./test_input.json.
    Worker(WorkerArgs),
    /// Serve the web playground at / and the local API (/run, /runsync, /status/{id},
    /// /stream/{id}, /cancel/{id}, /purge-queue, /health, also under /v2/{endpoint_id}/).
    Serve(ServeArgs),
    /// Validate the configuration, load ONNX Runtime and every enabled phase, and report the
    /// execution provider of each.
    Check(CheckArgs),
}

/// `gemini3 worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// A job as JSON text, or a file holding it (`{"input": {...}}`); forces the local
    /// one-shot mode like RunPod's `--test_input`.
    #[arg(long = "test-input", alias = "test_input", value_name = "JSON-or-FILE")]
    pub test_input: Option<String>,
    /// Local mode: also write the SVG and the whole result to this folder
    /// (test_output.svg, test_output.json).
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Configuration overlay merged over configs/default.toml and the profile.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `gemini3 serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to bind; loopback by default.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to bind.
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Configuration overlay merged over configs/default.toml and the profile.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Require `Authorization: Bearer KEY` (or the raw key) on every API route, as RunPod
    /// does. Without a key only a loopback --host is allowed. Prefer the environment
    /// variable: a flag shows in the process list.
    #[arg(
        long,
        env = "GEMINI3_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub api_key: Option<String>,
    /// Open connections served at once; past it the least recently active idle one is
    /// closed, or (all busy) a 503 is answered while /health still is.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_connections: u32,
    /// Minutes a finished job's result is kept (RunPod keeps them 30).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=10_080))]
    pub result_ttl_min: u32,
    /// MiB of queued job inputs and kept results; past it new jobs are answered 429.
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    pub store_mb: u32,
}

/// `gemini3 check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Configuration overlay merged over configs/default.toml and the profile.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Also build every phase with CPU fallback disabled: any node that would run on CPU is
    /// an error (the GPU self-test uses this).
    #[arg(long)]
    pub no_cpu_fallback: bool,
}
