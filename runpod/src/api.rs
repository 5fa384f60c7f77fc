//! The local API server: RunPod's endpoint API (spec §15) on a local listener.
//!
//! Every route is served twice: bare (as RunPod's own dev server) and under
//! `/v2/{endpoint_id}/…` (as RunPod's cloud API, so `runpod.Endpoint` with
//! `runpod.endpoint_url_base` pointed here works unchanged; any endpoint id is accepted).
//!
//! | Route | Answer |
//! |---|---|
//! | `POST /run` `{"input":…}` | `{"id","status":"IN_QUEUE"}`; the job runs in the background |
//! | `POST /runsync[?wait=ms]` | waits up to `wait` (default 90 s, 1–300 s) and answers the status object |
//! | `GET\|POST /status/{id}` | `{"id","status","delayTime","executionTime","output"?,"error"?}` |
//! | `GET\|POST /stream/{id}` | `{"id","status","stream":[{"output":chunk},…]}`: chunks not yet read |
//! | `POST /cancel/{id}` | `{"id","status":"CANCELLED"}` (or the final status it already had) |
//! | `POST /purge-queue` | `{"removed":n,"status":"completed"}`: cancels every queued job |
//! | `GET /health` | `{"jobs":{"completed","failed","inProgress","inQueue","retried"},"workers":{"idle","running"}}` |
//!
//! Status goes `IN_QUEUE → IN_PROGRESS → COMPLETED | FAILED | CANCELLED | TIMED_OUT`; while
//! in progress, `output` is the latest progress update. Errors are `{"error": "reason"}`.
//!
//! Limits ([`ApiLimits`]), so no client can exhaust the process:
//! - the job store is bounded by count ([`WorkerConfig::registry_bound`]) and by bytes
//!   ([`ApiLimits::store_bytes`]: request bodies of queued and running jobs, bodies still
//!   arriving, and kept results); a job that does not fit is answered 429 with the reason;
//! - finished jobs are kept until [`ApiLimits::result_ttl`] after they finish (30 min, as
//!   RunPod) and never evicted before;
//! - request bodies are capped at [`WorkerConfig::api_body_limit`] (413, at once from a
//!   `Content-Length` over it), must arrive within [`ApiLimits::body_read_timeout`] (408), and
//!   must be `application/json` (415); requests time out after
//!   [`WorkerConfig::api_request_timeout`] (408);
//! - a job's slot is given back only when its handler's work has really ended (a job past its
//!   deadline is reported `TIMED_OUT` at once, but counts as running in `/health` and holds
//!   its slot until its blocking work stops);
//! - connections: a request head must arrive within [`ApiLimits::header_read_timeout`], an idle
//!   connection is closed after [`ApiLimits::idle_timeout`], and at most
//!   [`ApiLimits::max_connections`] are open: past that the oldest idle one is closed, or, when
//!   all are busy, the newcomer gets `/health` or a 503 with the reason (`listen`).
//!
//! With [`ApiOptions::api_key`] every API route requires `Authorization: Bearer KEY` or the raw
//! key (401 otherwise); [`ApiOptions::extra`] routes (a playground page) are served without
//! it. Without a key, no web page may drive the API: a request whose `Origin` is not the
//! server's own (same scheme-less host and port as `Host`) is refused 403, and so is a `Host`
//! that is not `localhost` or an IP address (DNS rebinding); no CORS headers are ever sent. No `Server` header is sent. Unlike RunPod's Python dev server, `/run` really runs the job.

mod guard;
mod listen;
mod store;

use guard::{read_job_body, with_key, ChargedBody};

pub use store::{ApiClock, StoreFull};
use store::{Store, StoreBounds};

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::WorkerConfig;
use crate::context::Reporter;
use crate::error::Error;
use crate::exec::{self, Outcome};
use crate::handler::Handler;
use crate::job::{Job, JobId};
use crate::report::{final_body, ErrorType, HandlerError, Identity};

/// `/runsync` waits this long by default (RunPod's 90 s).
const DEFAULT_SYNC_WAIT: Duration = Duration::from_secs(90);

/// A job's status, as RunPod spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// Waiting for a free slot.
    InQueue,
    /// Running.
    InProgress,
    /// Finished with output.
    Completed,
    /// Finished with an error.
    Failed,
    /// Cancelled by `/cancel`.
    Cancelled,
    /// Ran past its deadline.
    TimedOut,
}

impl JobStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::InQueue => "IN_QUEUE",
            JobStatus::InProgress => "IN_PROGRESS",
            JobStatus::Completed => "COMPLETED",
            JobStatus::Failed => "FAILED",
            JobStatus::Cancelled => "CANCELLED",
            JobStatus::TimedOut => "TIMED_OUT",
        }
    }

    /// Whether the job is over.
    pub fn is_final(self) -> bool {
        !matches!(self, JobStatus::InQueue | JobStatus::InProgress)
    }
}

struct ApiJobState {
    status: JobStatus,
    output: Option<Value>,
    error: Option<Value>,
    stream: Vec<Value>,
    stream_read: usize,
    started: Option<Instant>,
    finished: Option<Instant>,
}

struct ApiJob {
    id: JobId,
    created: Instant,
    state: Mutex<ApiJobState>,
    cancel: CancellationToken,
    done: CancellationToken,
}

impl ApiJob {
    fn lock(&self) -> MutexGuard<'_, ApiJobState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn status_body(&self) -> Value {
        let state = self.lock();
        let millis = |from: Instant, to: Instant| (to - from).as_millis() as u64;
        let now = Instant::now();
        let mut body = Map::new();
        body.insert("id".into(), Value::String(self.id.as_str().to_owned()));
        body.insert("status".into(), Value::String(state.status.as_str().into()));
        body.insert(
            "delayTime".into(),
            json!(millis(self.created, state.started.unwrap_or(now))),
        );
        if let Some(started) = state.started {
            body.insert(
                "executionTime".into(),
                json!(millis(started, state.finished.unwrap_or(now))),
            );
        }
        if let Some(output) = &state.output {
            body.insert("output".into(), output.clone());
        }
        if let Some(error) = &state.error {
            body.insert("error".into(), error.clone());
        }
        Value::Object(body)
    }

    /// Sets a final status unless one is already set; returns whether it did.
    fn finish(&self, status: JobStatus, output: Option<Value>, error: Option<Value>) -> bool {
        let mut state = self.lock();
        if state.status.is_final() {
            return false;
        }
        state.status = status;
        state.output = output;
        state.error = error;
        state.finished = Some(Instant::now());
        drop(state);
        self.done.cancel();
        true
    }
}

/// Progress and chunks of one local API job go into its state.
struct ApiReporter {
    job: Arc<ApiJob>,
}

impl Reporter for ApiReporter {
    fn progress<'a>(&'a self, _id: &'a JobId, value: Value) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let mut state = self.job.lock();
            if state.status == JobStatus::InProgress {
                state.output = Some(value);
            }
        })
    }

    fn chunk<'a>(&'a self, _id: &'a JobId, value: Value) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.job.lock().stream.push(value);
        })
    }
}

/// Limits of the local API (see the module documentation).
#[derive(Debug, Clone)]
pub struct ApiLimits {
    /// Bytes of request bodies of queued and running jobs plus kept results. Default 512 MiB.
    pub store_bytes: usize,
    /// How long a finished job's result is kept. Default 30 min (RunPod's `/run` retention).
    pub result_ttl: Duration,
    /// Time a client has to send a whole request head. Default 10 s.
    pub header_read_timeout: Duration,
    /// A connection without a request in flight this long is closed. Default 60 s. (A
    /// keep-alive connection closes sooner, after `header_read_timeout`: hyper starts that
    /// timer as soon as it waits for the next request head.)
    pub idle_timeout: Duration,
    /// Connections served at once. Default 256.
    pub max_connections: usize,
    /// Extra connections answered (`/health`, else 503) when every served one is busy. Default 32.
    pub max_overflow: usize,
    /// Time a client has to send a whole `/run` or `/runsync` body once its head arrived
    /// (408 after it). Default 30 s.
    pub body_read_timeout: Duration,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            store_bytes: 512 * 1024 * 1024,
            result_ttl: Duration::from_secs(30 * 60),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 256,
            max_overflow: 32,
            body_read_timeout: Duration::from_secs(30),
        }
    }
}

/// Everything [`serve_with`] takes besides the handler and the worker tunables.
#[derive(Default)]
pub struct ApiOptions {
    /// When set, API routes require `Authorization: Bearer KEY` (or the raw key).
    pub api_key: Option<String>,
    /// Limits.
    pub limits: ApiLimits,
    /// Routes served next to the API without the key (e.g. a playground page at `/`). Their
    /// paths must not collide with the API's; unknown paths get the API's JSON 404.
    pub extra: Option<Router>,
    /// The clock that expires results (tests advance it).
    pub clock: ApiClock,
}

impl std::fmt::Debug for ApiOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiOptions")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("limits", &self.limits)
            .field("extra", &self.extra.is_some())
            .finish()
    }
}

struct ApiState<H> {
    handler: Arc<H>,
    config: WorkerConfig,
    store: Store<Arc<ApiJob>>,
    slots: Arc<Semaphore>,
    concurrency: usize,
    max_connections: usize,
    body_read_timeout: Duration,
}

/// Every error the local API answers, mapped to a status in one place.
#[derive(Debug)]
enum ApiError {
    BadRequest(String),
    NotFound(String),
    Full(StoreFull),
    Unauthorized,
    OverCapacity(usize),
    NoRoute(String),
    TooLarge { limit: usize },
    BodyTimeout(Duration),
    NotJson(String),
    Forbidden(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ApiError::BadRequest(message) => (StatusCode::BAD_REQUEST, message),
            ApiError::NotFound(id) => (StatusCode::NOT_FOUND, format!("job {id} not found")),
            ApiError::Full(full) => (StatusCode::TOO_MANY_REQUESTS, full.to_string()),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "missing or wrong API key: send `Authorization: Bearer <key>`".to_owned(),
            ),
            ApiError::OverCapacity(max) => (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("too many open connections (the cap is {max}); retry shortly"),
            ),
            ApiError::NoRoute(path) => (StatusCode::NOT_FOUND, format!("no route for {path}")),
            ApiError::TooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body is over the limit of {limit} bytes"),
            ),
            ApiError::BodyTimeout(timeout) => (
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "request body did not arrive within {} s",
                    timeout.as_secs_f64()
                ),
            ),
            ApiError::NotJson(given) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Content-Type must be application/json, not {given:?}"),
            ),
            ApiError::Forbidden(reason) => (StatusCode::FORBIDDEN, reason),
        };
        let retry = matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        );
        let mut response = (status, Json(json!({ "error": message }))).into_response();
        if retry {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        response
    }
}

/// Serves the local API on `listener` until `shutdown` completes; then cancels the jobs still
/// running and returns. Default [`ApiOptions`]: no key, default limits, no extra routes.
pub async fn serve<H: Handler>(
    handler: Arc<H>,
    config: WorkerConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    serve_with(handler, config, ApiOptions::default(), listener, shutdown).await
}

/// [`serve`] with options: an API key, limits, extra routes.
pub async fn serve_with<H: Handler>(
    handler: Arc<H>,
    config: WorkerConfig,
    options: ApiOptions,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let concurrency = config.concurrency.next(1).get();
    let limits = options.limits.clone();
    let state = Arc::new(ApiState {
        handler,
        store: Store::new(
            StoreBounds {
                max_jobs: config.registry_bound.get(),
                max_bytes: limits.store_bytes,
                ttl: limits.result_ttl,
            },
            options.clock.clone(),
        ),
        slots: Arc::new(Semaphore::new(concurrency)),
        concurrency,
        max_connections: limits.max_connections,
        body_read_timeout: limits.body_read_timeout,
        config,
    });
    let key: Option<Arc<str>> = options.api_key.as_deref().map(Arc::from);
    let app = api_router(&state, key.clone());
    let app = match options.extra {
        Some(extra) => app.merge(extra),
        None => app,
    }
    .fallback(no_route);
    let overflow = overflow_router(&state, key);
    let address = listener.local_addr().map_err(|source| Error::Io {
        what: "reading the local API address".to_owned(),
        source,
    })?;
    tracing::info!(%address, "local API listening");
    let stop = CancellationToken::new();
    let sweeper = {
        let state = Arc::clone(&state);
        let stop = stop.clone();
        let every = limits
            .result_ttl
            .clamp(Duration::from_secs(1), Duration::from_secs(60));
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(every) => state.store.sweep(),
                }
            }
        })
    };
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            shutdown.await;
            stop.cancel();
        });
    }
    let conn_limits = listen::ConnLimits {
        max_connections: limits.max_connections.max(1),
        max_overflow: limits.max_overflow,
        header_read_timeout: limits.header_read_timeout,
        idle_timeout: limits.idle_timeout,
        drain_timeout: state.config.drain_timeout,
    };
    let on_stop = {
        let state = Arc::clone(&state);
        move || {
            for job in state.store.in_flight_values() {
                job.cancel.cancel();
            }
        }
    };
    listen::serve(listener, app, overflow, conn_limits, stop.clone(), on_stop).await;
    stop.cancel();
    let _ = sweeper.await;
    for job in state.store.in_flight_values() {
        job.cancel.cancel();
    }
    Ok(())
}

/// The API routes, bare and under `/v2/{endpoint_id}`, behind the key when one is set.
fn api_router<H: Handler>(state: &Arc<ApiState<H>>, key: Option<Arc<str>>) -> Router {
    let request_timeout = state.config.api_request_timeout;
    let body_limit = state.config.api_body_limit;
    let routes = || {
        Router::new()
            .route("/run", post(run::<H>))
            .route("/runsync", post(runsync::<H>))
            .route("/status/{id}", get(status::<H>).post(status::<H>))
            .route("/stream/{id}", get(stream::<H>).post(stream::<H>))
            .route("/cancel/{id}", post(cancel::<H>))
            .route("/purge-queue", post(purge_queue::<H>))
            .route("/health", get(health::<H>))
    };
    let router = routes()
        .nest("/v2/{endpoint_id}", routes())
        .with_state(Arc::clone(state))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(
            move |request: Request, next: Next| async move {
                match tokio::time::timeout(request_timeout, next.run(request)).await {
                    Ok(response) => response,
                    Err(_) => (
                        StatusCode::REQUEST_TIMEOUT,
                        Json(json!({"error": "request timed out"})),
                    )
                        .into_response(),
                }
            },
        ));
    with_key(router, key)
}

/// What a connection past the cap is answered: `/health` as usual, 503 for anything else.
fn overflow_router<H: Handler>(state: &Arc<ApiState<H>>, key: Option<Arc<str>>) -> Router {
    let router = Router::new()
        .route("/health", get(health::<H>))
        .route("/v2/{endpoint_id}/health", get(health::<H>))
        .fallback(over_capacity::<H>)
        .with_state(Arc::clone(state));
    with_key(router, key)
}

async fn no_route(uri: axum::http::Uri) -> ApiError {
    ApiError::NoRoute(uri.path().to_owned())
}

async fn over_capacity<H: Handler>(State(state): State<Arc<ApiState<H>>>) -> ApiError {
    // Answered at once, without reading the body: the overflow lane never waits on a client
    // (the 503 carries `Connection: close`).
    ApiError::OverCapacity(state.max_connections)
}

/// Parses a `/run` body: an object with an `input` key.
fn parse_request(body: &[u8], id: JobId) -> Result<Job, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| ApiError::BadRequest(format!("body is not JSON: {error}")))?;
    let Value::Object(mut object) = value else {
        return Err(ApiError::BadRequest(
            "body must be a JSON object".to_owned(),
        ));
    };
    let Some(input) = object.remove("input") else {
        return Err(ApiError::BadRequest("body has no `input`".to_owned()));
    };
    object.remove("id");
    Ok(Job {
        id,
        input,
        extra: object,
    })
}

fn submit<H: Handler>(
    state: &Arc<ApiState<H>>,
    job: Job,
    mut body: ChargedBody<'_, Arc<ApiJob>>,
) -> Result<Arc<ApiJob>, ApiError> {
    let api_job = Arc::new(ApiJob {
        id: job.id.clone(),
        created: Instant::now(),
        state: Mutex::new(ApiJobState {
            status: JobStatus::InQueue,
            output: None,
            error: None,
            stream: Vec::new(),
            stream_read: 0,
            started: None,
            finished: None,
        }),
        cancel: CancellationToken::new(),
        done: CancellationToken::new(),
    });
    // The arriving charge becomes the job's (or is given back when the insert is refused).
    let charged = std::mem::take(&mut body.charged);
    state
        .store
        .insert_incoming(job.id.clone(), Arc::clone(&api_job), charged)
        .map_err(ApiError::Full)?;
    tokio::spawn(run_job(Arc::clone(state), job, Arc::clone(&api_job)));
    Ok(api_job)
}

/// Counts the bytes a value serialises to, without keeping them.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn json_bytes(value: &Value) -> usize {
    let mut count = ByteCount(0);
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// Ends a job in the store, charging it the bytes of what it keeps.
fn retire<H>(state: &ApiState<H>, api_job: &ApiJob) {
    let kept = {
        let job_state = api_job.lock();
        let mut bytes = 256;
        bytes += job_state.output.as_ref().map(json_bytes).unwrap_or(0);
        bytes += job_state.error.as_ref().map(json_bytes).unwrap_or(0);
        bytes += job_state.stream.iter().map(json_bytes).sum::<usize>();
        bytes
    };
    state.store.finish(&api_job.id, kept);
}

async fn run_job<H: Handler>(state: Arc<ApiState<H>>, job: Job, api_job: Arc<ApiJob>) {
    let permit = tokio::select! {
        biased;
        _ = api_job.cancel.cancelled() => None,
        permit = Arc::clone(&state.slots).acquire_owned() => permit.ok(),
    };
    let Some(_permit) = permit else {
        drop(job);
        api_job.finish(JobStatus::Cancelled, None, None);
        retire(&state, &api_job);
        return;
    };
    {
        let mut job_state = api_job.lock();
        if job_state.status.is_final() {
            drop(job_state);
            drop(job);
            retire(&state, &api_job);
            return;
        }
        job_state.status = JobStatus::InProgress;
        job_state.started = Some(Instant::now());
    }
    let (outcome, shared) = exec::run_job(
        &state.handler,
        job,
        &state.config,
        Arc::new(ApiReporter {
            job: Arc::clone(&api_job),
        }),
        true,
        api_job.cancel.clone(),
        || {},
    )
    .await;
    match outcome {
        Outcome::Stopped => {
            api_job.finish(JobStatus::Cancelled, None, None);
        }
        Outcome::Finished(result) => {
            let timed_out = matches!(
                &result,
                Err(HandlerError {
                    error_type: ErrorType::DeadlineExceeded,
                    ..
                })
            );
            let mut body = final_body(result, &Identity::local(), || shared.logs(), false, true);
            let output = body.get_mut("output").map(Value::take);
            let error = body.get_mut("error").map(Value::take);
            let status = match (&error, timed_out) {
                (Some(_), true) => JobStatus::TimedOut,
                (Some(_), false) => JobStatus::Failed,
                (None, _) => JobStatus::Completed,
            };
            api_job.finish(status, output, error);
        }
    }
    retire(&state, &api_job);
    // The client already has the final status; the slot (`_permit`) is held until the job's
    // work has really stopped (for at most the grace period, past which it is stuck), so a job
    // past its deadline still counts as running.
    crate::worker::ended_or_outlived(&shared, state.config.deadline_grace).await;
}

async fn run<H: Handler>(
    State(state): State<Arc<ApiState<H>>>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let body = read_job_body(&state, request).await?;
    let id = JobId::new(uuid::Uuid::new_v4().to_string());
    let job = parse_request(&body.bytes, id)?;
    let api_job = submit(&state, job, body)?;
    Ok(Json(
        json!({"id": api_job.id.as_str(), "status": "IN_QUEUE"}),
    ))
}

#[derive(Deserialize)]
struct SyncParams {
    wait: Option<u64>,
}

async fn runsync<H: Handler>(
    State(state): State<Arc<ApiState<H>>>,
    Query(params): Query<SyncParams>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let body = read_job_body(&state, request).await?;
    let wait = params
        .wait
        .map(|millis| Duration::from_millis(millis.clamp(1000, 300_000)))
        .unwrap_or(DEFAULT_SYNC_WAIT);
    let id = JobId::new(format!("sync-{}", uuid::Uuid::new_v4()));
    let job = parse_request(&body.bytes, id)?;
    let api_job = submit(&state, job, body)?;
    let _ = tokio::time::timeout(wait, api_job.done.cancelled()).await;
    Ok(Json(api_job.status_body()))
}

/// The job id of `/status/{id}` and friends, bare or under `/v2/{endpoint_id}`.
#[derive(Deserialize)]
struct JobPath {
    id: String,
}

fn find<H>(state: &ApiState<H>, id: &str) -> Result<Arc<ApiJob>, ApiError> {
    state
        .store
        .get(&JobId::from(id))
        .ok_or_else(|| ApiError::NotFound(id.to_owned()))
}

async fn status<H: Handler>(
    State(state): State<Arc<ApiState<H>>>,
    Path(JobPath { id }): Path<JobPath>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(find(&state, &id)?.status_body()))
}

async fn stream<H: Handler>(
    State(state): State<Arc<ApiState<H>>>,
    Path(JobPath { id }): Path<JobPath>,
) -> Result<Json<Value>, ApiError> {
    let job = find(&state, &id)?;
    let mut job_state = job.lock();
    let fresh: Vec<Value> = job_state.stream[job_state.stream_read..]
        .iter()
        .map(|chunk| json!({"output": chunk}))
        .collect();
    job_state.stream_read = job_state.stream.len();
    Ok(Json(
        json!({"id": id, "status": job_state.status.as_str(), "stream": fresh}),
    ))
}

async fn cancel<H: Handler>(
    State(state): State<Arc<ApiState<H>>>,
    Path(JobPath { id }): Path<JobPath>,
) -> Result<Json<Value>, ApiError> {
    let job = find(&state, &id)?;
    if job.finish(JobStatus::Cancelled, None, None) {
        job.cancel.cancel();
    }
    let status = job.lock().status;
    Ok(Json(json!({"id": id, "status": status.as_str()})))
}

/// Cancels every job still waiting for a slot (RunPod's `/purge-queue`).
async fn purge_queue<H: Handler>(State(state): State<Arc<ApiState<H>>>) -> Json<Value> {
    let mut removed = 0u64;
    for job in state.store.in_flight_values() {
        if job.lock().status != JobStatus::InQueue {
            continue;
        }
        if job.finish(JobStatus::Cancelled, None, None) {
            job.cancel.cancel();
            removed += 1;
        }
    }
    Json(json!({"removed": removed, "status": "completed"}))
}

async fn health<H: Handler>(State(state): State<Arc<ApiState<H>>>) -> Json<Value> {
    let mut counts = [0u64; 6];
    for job in state.store.values() {
        let index = match job.lock().status {
            JobStatus::InQueue => 0,
            JobStatus::InProgress => 1,
            JobStatus::Completed => 2,
            JobStatus::Failed | JobStatus::TimedOut => 3,
            JobStatus::Cancelled => 4,
        };
        counts[index] += 1;
    }
    // Slots held: jobs in progress, and jobs already answered (a deadline) whose work has not
    // stopped yet.
    let running = (counts[1])
        .max((state.concurrency as u64).saturating_sub(state.slots.available_permits() as u64));
    Json(json!({
        "jobs": {
            "inQueue": counts[0],
            "inProgress": counts[1],
            "completed": counts[2],
            "failed": counts[3],
            "retried": 0,
        },
        "workers": {
            "idle": (state.concurrency as u64).saturating_sub(running),
            "running": running,
        }
    }))
}
