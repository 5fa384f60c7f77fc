//! The `gemini3` binary: parses the command line, loads settings, starts logging and
//! dispatches. The only home of `anyhow`, with the command bodies in `gemini3::commands`.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use gemini3::cli::{Cli, Command};
use gemini3::commands::worker::{self, WorkerStart};
use gemini3::settings::{find_root, HandlerSettings, LoadOptions, Settings};

/// glibc malloc arenas at most, unless `MALLOC_ARENA_MAX` is set. glibc's default (8 per
/// core) lets every blocking thread that decodes, quantises and traces an image keep its own
/// arena. Measured side by side by `make bench-worker` (bench/worker.md): 200 jobs at 1024²,
/// peak RSS 406 MiB with two arenas against 486 MiB with glibc's default, at the same 3.2
/// jobs/s; at 256² RSS stays at 155.7 MiB from job 50 to job 200.
const MALLOC_ARENAS: i32 = 2;

fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only changes allocator tuning; it is called before any thread starts.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, MALLOC_ARENAS);
        }
    }
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("gemini3: error: {}", one_line(&error));
            ExitCode::from(2)
        }
    }
}

/// The whole cause chain on one line, ripgrep-style, each cause said once: a library error
/// that both prints its source and returns it from `source()` does not repeat it.
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// Human-readable logs on stderr for the one-shot commands; colour only on a terminal, so a
/// pipe or a file gets plain text.
fn init_cli_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,ort=error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

fn load(
    overlay: Option<std::path::PathBuf>,
    overrides: Vec<(String, toml::Value)>,
) -> anyhow::Result<(Settings, HandlerSettings)> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    let root = find_root(&env);
    let options = LoadOptions {
        root: root.clone(),
        overlay,
        env: env.clone(),
        overrides,
    };
    let settings = Settings::load(&options).context("invalid configuration")?;
    let handler = HandlerSettings::load(&root, None, &env).context("invalid handler.toml")?;
    Ok((settings, handler))
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check(args) => {
            init_cli_logging();
            let (mut settings, handler) = load(args.config.clone(), Vec::new())?;
            // A one-shot command: a CPU landing is reported at info. `check` keeps the
            // warm-up: running each model once is part of the check.
            settings.engine.one_shot = true;
            gemini3::commands::check::run(
                &settings,
                &handler,
                args.no_cpu_fallback,
                &mut std::io::stdout(),
            )
        }
        Command::Vectorize(args) => {
            init_cli_logging();
            let (mut settings, handler) = load(args.config.clone(), args.overrides())?;
            // One-shot: no warm-up (the first image is the warm-up), fallbacks at info.
            settings.engine.one_shot = true;
            settings.engine.warmup = false;
            gemini3::commands::vectorize::run(&args, &settings, &handler.input)
        }
        Command::Worker(args) => {
            let env: Vec<(String, String)> = std::env::vars().collect();
            let start = WorkerStart {
                root: find_root(&env),
                env,
                overlay: args.config.clone(),
            };
            worker::run_worker(start, args.test_input.clone(), args.output_dir.as_deref())
        }
        Command::Serve(args) => {
            let env: Vec<(String, String)> = std::env::vars().collect();
            let start = WorkerStart {
                root: find_root(&env),
                env,
                overlay: args.config.clone(),
            };
            let options = gemini3::commands::serve::ServeOptions {
                host: args.host.clone(),
                port: args.port,
                api_key: args.api_key.clone(),
                limits: runpod::ApiLimits {
                    max_connections: args.max_connections as usize,
                    result_ttl: std::time::Duration::from_secs(u64::from(args.result_ttl_min) * 60),
                    store_bytes: args.store_mb as usize * 1024 * 1024,
                    ..runpod::ApiLimits::default()
                },
            };
            gemini3::commands::serve::run(start, options)
        }
    }
}
