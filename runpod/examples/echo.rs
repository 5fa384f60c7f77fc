//! A worker whose handler returns its input.
//!
//! - `{"sleep_ms": n}` in the input: sleeps n ms first (async, cancellable);
//! - `{"progress": n}`: sends n progress updates first.
//!
//! Production mode when `RUNPOD_WEBHOOK_GET_JOB` is set; otherwise one job from
//! `--test-input '<json>'` (or a file) or `./test_input.json`; `--serve [ADDR]` runs the local
//! API (default 127.0.0.1:8000). SIGTERM/SIGINT drain and exit 0.

use std::sync::Arc;
use std::time::Duration;

use runpod::{select_mode, Handler, HandlerError, Job, JobContext, Mode, RunpodEnv, WorkerConfig};
use serde_json::Value;

struct Echo;

impl Handler for Echo {
    async fn handle(&self, job: Job, ctx: JobContext) -> Result<Value, HandlerError> {
        if let Some(count) = job.input.get("progress").and_then(Value::as_u64) {
            for step in 0..count {
                ctx.progress(Value::from(step));
            }
        }
        if let Some(millis) = job.input.get("sleep_ms").and_then(Value::as_u64) {
            let cancelled = ctx.cancellation();
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(millis)) => {}
                _ = cancelled.cancelled() => {
                    return Err(HandlerError::new(
                        runpod::ErrorType::Cancelled,
                        "job cancelled while sleeping",
                    ));
                }
            }
        }
        Ok(job.input)
    }
}

/// Completes on the first SIGTERM or SIGINT.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => std::future::pending::<()>().await,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("echo: {error}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run() -> Result<std::process::ExitCode, runpod::Error> {
    let env = RunpodEnv::from_vars(std::env::vars())?;
    runpod::logging::init(env.json_logs(), &env.log_level)?;
    let mut args = std::env::args().skip(1);
    let mut test_input = None;
    let mut serve_addr = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--test-input" | "--test_input" => test_input = args.next(),
            "--serve" | "--rp_serve_api" => {
                serve_addr = Some(args.next().unwrap_or_else(|| "127.0.0.1:8000".to_owned()))
            }
            _ => {}
        }
    }
    let config = WorkerConfig::default();
    let handler = Arc::new(Echo);
    if let Some(addr) = serve_addr {
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|source| runpod::Error::Io {
                what: format!("binding {addr}"),
                source,
            })?;
        runpod::serve(handler, config, listener, shutdown_signal()).await?;
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let cwd = std::env::current_dir().map_err(|source| runpod::Error::Io {
        what: "reading the working directory".to_owned(),
        source,
    })?;
    match select_mode(&env, test_input, &cwd)? {
        Mode::Production => {
            runpod::run_production(handler, config, env, shutdown_signal()).await?;
            Ok(std::process::ExitCode::SUCCESS)
        }
        Mode::Local(text) => {
            let outcome = runpod::run_local(handler, config, &text).await?;
            println!("{}", outcome.body);
            Ok(if outcome.success {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            })
        }
    }
}
