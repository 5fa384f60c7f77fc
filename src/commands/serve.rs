//! `gemini3 serve`: the `runpod` local API (bare and `/v2/{endpoint_id}/…` paths) with the
//! vectorize handler, plus the playground page at `/`.
//!
//! The playground is three static files (`assets/playground/`) embedded in the binary, and
//! `GET /playground/info`: what the page needs to know about this worker (steering model
//! loaded or not, providers per phase, limits, which optional job options the handler
//! accepts, whether an API key is required). The API key (`--api-key` or `GEMINI3_API_KEY`)
//! guards the API; without one, only loopback addresses may be bound.

use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::worker::{init_logging, runtime, shutdown_signal, start, WorkerStart};

const INDEX_HTML: &str = include_str!("../../assets/playground/index.html");
const APP_JS: &str = include_str!("../../assets/playground/app.js");
const STYLE_CSS: &str = include_str!("../../assets/playground/style.css");

/// The environment variable that gives the API key when `--api-key` is absent.
pub const API_KEY_ENV: &str = "GEMINI3_API_KEY";

/// Where and how to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// `--host`.
    pub host: String,
    /// `--port`.
    pub port: u16,
    /// `--api-key`, else [`API_KEY_ENV`].
    pub api_key: Option<String>,
    /// Local API limits (`--max-connections`, `--result-ttl-s`, `--store-mb`).
    pub limits: runpod::ApiLimits,
}

/// Whether `host` names only loopback addresses (`localhost`, `127.0.0.0/8`, `::1`).
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<IpAddr>()
        .map(|address| address.is_loopback())
        .unwrap_or(false)
}

/// Refuses to serve a non-loopback address without an API key.
pub fn check_exposure(host: &str, api_key: Option<&str>) -> anyhow::Result<()> {
    if api_key.is_none() && !is_loopback_host(host) {
        bail!(
            "--host {host} is not a loopback address, and without an API key anyone who can reach it could run jobs; \
             give --api-key KEY (or set {API_KEY_ENV}) to require `Authorization: Bearer KEY`, or bind 127.0.0.1"
        );
    }
    if let Some(key) = api_key {
        if key.trim().is_empty() {
            bail!("the API key is empty; give a non-empty --api-key (or {API_KEY_ENV})");
        }
    }
    Ok(())
}

/// What `/playground/info` answers, gathered at start-up.
#[derive(Debug, Clone)]
pub struct PlaygroundInfo {
    /// The JSON body.
    pub body: Value,
}

/// Probes the job-input parser for an optional key: accepted unless the parser calls it an
/// unknown field. The page shows only options this worker accepts.
fn accepts_option(key: &str, value: Value) -> bool {
    let mut input = json!({"image_url": "https://example.invalid/probe.png"});
    input[key] = value;
    match crate::handler::request::parse(&input, u64::MAX) {
        Ok(_) => true,
        Err(error) => !error.message.contains(&format!("unknown field `{key}`")),
    }
}

/// Builds the info body from what the worker loaded.
pub(crate) fn playground_info(ready: &super::worker::Ready, auth_required: bool) -> PlaygroundInfo {
    let steering_reason = if ready.steering_available {
        Value::Null
    } else if !ready.pipeline.phase2.enabled {
        json!("this worker has no steering model (phase2.enabled is false in its configuration)")
    } else {
        json!("the steering model did not load")
    };
    let phases: Vec<Value> = ready
        .phases
        .iter()
        .map(|(phase, provider)| json!({"phase": phase, "provider": provider}))
        .collect();
    let options: Vec<&str> = [
        ("alpha", json!("levels")),
        ("layout", json!("stacked")),
        ("formats", json!(["svg"])),
    ]
    .into_iter()
    .filter(|(key, value)| accepts_option(key, value.clone()))
    .map(|(key, _)| key)
    .collect();
    let body = json!({
        "name": "gemini3",
        "version": env!("CARGO_PKG_VERSION"),
        "auth_required": auth_required,
        "steering": {
            "available": ready.steering_available,
            "reason": steering_reason,
            "default_seed": ready.pipeline.phase2.seed,
            "default_strength": ready.pipeline.phase2.strength,
        },
        "phases": phases,
        "defaults": {
            "max_colors": ready.pipeline.phase3.max_colors,
            "trace_mode": ready.pipeline.phase4.mode,
            "filter_speckle": ready.pipeline.phase4.filter_speckle,
        },
        "limits": {
            "max_colors": crate::pipeline::palette::MAX_COLORS,
            "max_image_bytes": ready.max_image_bytes,
            "max_body_bytes": ready.config.api_body_limit,
        },
        "trace_modes": ["auto", "spline", "polygon", "pixel"],
        "options": options,
    });
    PlaygroundInfo { body }
}

fn asset(content_type: &'static str, text: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        text,
    )
        .into_response()
}

/// The page's routes: `/`, its script and style, and `/playground/info`. No external
/// resource is referenced; the CSP says so to the browser too.
pub fn playground_router(info: PlaygroundInfo) -> Router {
    let info = Arc::new(info.body);
    Router::new()
        .route(
            "/",
            get(|| async {
                let mut response = asset("text/html; charset=utf-8", INDEX_HTML);
                response.headers_mut().insert(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(
                        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                         img-src * data: blob:; connect-src 'self'; object-src 'none'; \
                         base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
                    ),
                );
                response
            }),
        )
        .route(
            "/playground/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/playground/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE_CSS) }),
        )
        .route(
            "/playground/info",
            get(move || {
                let info = Arc::clone(&info);
                async move { Json((*info).clone()) }
            }),
        )
}

/// The log filter for `serve`: `serve` announces its address in one line of its own (the
/// `playground and local API on …` line, which `tests/ui` reads), and the runtime logs the same
/// fact at `info` from `runpod::api` (its only event there), so at `info` and below that module
/// shows warnings only; its connection events (`runpod::api::listen`) keep the level asked
/// for. `warn` and above, and `RUST_LOG`, are left as they are.
fn quiet_api_listening(level: &str) -> String {
    if matches!(level, "info" | "debug" | "trace") {
        format!("{level},runpod::api=warn,runpod::api::listen={level}")
    } else {
        level.to_owned()
    }
}

/// `gemini3 serve`.
pub fn run(start_options: WorkerStart, options: ServeOptions) -> anyhow::Result<ExitCode> {
    check_exposure(&options.host, options.api_key.as_deref())?;
    let mut runpod_env = runpod::RunpodEnv::from_vars(start_options.env.clone())
        .context("invalid RunPod environment")?;
    runpod_env.log_level = quiet_api_listening(&runpod_env.log_level);
    init_logging(&runpod_env, &start_options.env)?;
    let runtime = runtime()?;
    let ready = start(&start_options).map_err(|(_, error)| error)?;
    let info = playground_info(&ready, options.api_key.is_some());
    let host = options.host.clone();
    let port = options.port;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind((host.as_str(), port))
            .await
            .with_context(|| format!("binding {host}:{port}"))?;
        let address = listener.local_addr().context("reading the bound address")?;
        let auth = if options.api_key.is_some() {
            " (API key required)"
        } else {
            ""
        };
        eprintln!("gemini3: playground and local API on http://{address}/{auth}");
        let api_options = runpod::ApiOptions {
            api_key: options.api_key,
            limits: options.limits,
            extra: Some(playground_router(info)),
            ..runpod::ApiOptions::default()
        };
        runpod::serve_with(
            Arc::new(ready.handler),
            ready.config,
            api_options,
            listener,
            shutdown_signal(),
        )
        .await
        .context("local API server")
    })?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_does_not_announce_the_address_a_second_time() {
        for level in ["info", "debug", "trace"] {
            let filter = quiet_api_listening(level);
            assert!(
                tracing_subscriber::EnvFilter::try_new(&filter).is_ok(),
                "{filter}"
            );
            assert!(filter.contains("runpod::api=warn"), "{filter}");
            assert!(
                filter.ends_with(&format!("runpod::api::listen={level}")),
                "{filter}"
            );
        }
        for level in ["warn", "error", "off"] {
            assert_eq!(quiet_api_listening(level), level);
        }
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for host in ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in ["0.0.0.0", "::", "192.168.1.2", "example.com"] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn a_public_host_needs_a_key() {
        let error = check_exposure("0.0.0.0", None).expect_err("refused");
        let text = error.to_string();
        assert!(
            text.contains("--api-key") && text.contains(API_KEY_ENV),
            "{text}"
        );
        check_exposure("0.0.0.0", Some("k")).expect("with a key");
        check_exposure("127.0.0.1", None).expect("loopback");
        assert!(check_exposure("0.0.0.0", Some(" ")).is_err());
    }

    #[test]
    fn the_option_probe_tells_known_from_unknown_keys() {
        assert!(accepts_option("max_colors", json!(4)));
        assert!(!accepts_option("no_such_option", json!(1)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_playground_routes_serve_the_page_script_style_and_info() {
        let info = PlaygroundInfo {
            body: json!({"name": "gemini3", "steering": {"available": false}}),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move {
            axum::serve(listener, playground_router(info))
                .await
                .expect("serve")
        });
        let client = reqwest::Client::new();
        let get = |path: &str| client.get(format!("{base}{path}")).send();
        let page = get("/").await.expect("page");
        assert_eq!(page.status().as_u16(), 200);
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(page
            .text()
            .await
            .expect("text")
            .contains("/playground/app.js"));
        for (path, kind) in [
            ("/playground/app.js", "text/javascript"),
            ("/playground/style.css", "text/css"),
        ] {
            let response = get(path).await.expect("asset");
            assert_eq!(response.status().as_u16(), 200, "{path}");
            let content_type = response.headers()["content-type"].to_str().expect("ascii");
            assert!(content_type.starts_with(kind), "{path}: {content_type}");
        }
        let body: Value = get("/playground/info")
            .await
            .expect("info")
            .json()
            .await
            .expect("json");
        assert_eq!(body["steering"]["available"], false);
        server.abort();
    }

    #[test]
    fn the_page_references_no_external_resource() {
        for text in [INDEX_HTML, APP_JS, STYLE_CSS] {
            for pattern in ["http://", "https://", "//cdn", "@import"] {
                let allowed = text
                    .match_indices(pattern)
                    .all(|(at, _)| text[at..].starts_with("https://api.runpod.ai/v2/"));
                assert!(allowed, "external reference {pattern}");
            }
        }
    }
}
