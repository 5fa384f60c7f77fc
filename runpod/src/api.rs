//! The local API server: RunPod's endpoint API (spec §15) on a local listener.
//!
//! | Route | Answer |
//! |---|---|
//! | `POST /run` `{"input":…}` | `{"id","status":"IN_QUEUE"}`; the job runs in the background |
//! | `POST /runsync[?wait=ms]` | waits up to `wait` (default 90 s, 1–300 s) and answers the status object |
//! | `GET\|POST /status/{id}` | `{"id","status","delayTime","executionTime","output"?,"error"?}` |
//! | `GET\|POST /stream/{id}` | `{"id","status","stream":[{"output":chunk},…]}`: chunks not yet read |
//! | `POST /cancel/{id}` | `{"id","status":"CANCELLED"}` (or the final status it already had) |
//! | `GET /health` | `{"jobs":{"completed","failed","inProgress","inQueue","retried"},"workers":{"idle","running"}}` |
//!
//! Status goes `IN_QUEUE → IN_PROGRESS → COMPLETED | FAILED | CANCELLED | TIMED_OUT`; while
//! in progress, `output` is the latest progress update. Jobs live in a bounded registry
//! (finished ones evicted oldest first; a full registry answers 429). Request bodies are capped
//! at [`WorkerConfig::api_body_limit`], requests time out after
//! [`WorkerConfig::api_request_timeout`], and no `Server` header is sent. Unlike RunPod's
//! Python dev server, `/run` really runs the job.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
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
use crate::registry::JobRegistry;
use crate::report::{final_body, HandlerError, Identity};

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
        body.insert("id".into(), Value::String(self.id.to_string()));
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

struct ApiState<H> {
    handler: Arc<H>,
    config: WorkerConfig,
    store: JobRegistry<Arc<ApiJob>>,
    slots: Arc<Semaphore>,
    concurrency: usize,
}

/// Every error the local API answers, mapped to a status in one place.
#[derive(Debug)]
enum ApiError {
    BadRequest(String),
    NotFound(String),
    Full(usize),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ApiError::BadRequest(message) => (StatusCode::BAD_REQUEST, message),
            ApiError::NotFound(id) => (StatusCode::NOT_FOUND, format!("job {id} not found")),
            ApiError::Full(bound) => (
                StatusCode::TOO_MANY_REQUESTS,
                format!("job store is full: {bound} jobs in flight"),
            ),
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

/// Serves the local API on `listener` until `shutdown` completes; then cancels the jobs still
/// running and returns.
pub async fn serve<H: Handler>(
    handler: Arc<H>,
    config: WorkerConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let concurrency = config.concurrency.next(1).get();
    let state = Arc::new(ApiState {
        handler,
        store: JobRegistry::new(config.registry_bound),
        slots: Arc::new(Semaphore::new(concurrency)),
        concurrency,
        config,
    });
    let request_timeout = state.config.api_request_timeout;
    let body_limit = state.config.api_body_limit;
    let app = Router::new()
        .route("/run", post(run::<H>))
        .route("/runsync", post(runsync::<H>))
        .route("/status/{id}", get(status::<H>).post(status::<H>))
        .route("/stream/{id}", get(stream::<H>).post(stream::<H>))
        .route("/cancel/{id}", post(cancel::<H>))
        .route("/health", get(health::<H>))
        .with_state(Arc::clone(&state))
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
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "local API listening");
    }
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| Error::Io {
            what: "serving the local API".to_owned(),
            source,
        });
    for job in state.store.in_flight_values() {
        job.cancel.cancel();
    }
    result
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

fn submit<H: Handler>(state: &Arc<ApiState<H>>, job: Job) -> Result<Arc<ApiJob>, ApiError> {
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
    state
        .store
        .insert(job.id.clone(), Arc::clone(&api_job))
        .map_err(|_| ApiError::Full(state.config.registry_bound.get()))?;
    tokio::spawn(run_job(Arc::clone(state), job, Arc::clone(&api_job)));
    Ok(api_job)
}

async fn run_job<H: Handler>(state: Arc<ApiState<H>>, job: Job, api_job: Arc<ApiJob>) {
    let permit = tokio::select! {
        biased;
        _ = api_job.cancel.cancelled() => None,
        permit = Arc::clone(&state.slots).acquire_owned() => permit.ok(),
    };
    let Some(_permit) = permit else {
        api_job.finish(JobStatus::Cancelled, None, None);
        state.store.finish(&api_job.id);
        return;
    };
    {
        let mut job_state = api_job.lock();
        if job_state.status.is_final() {
            drop(job_state);
            state.store.finish(&api_job.id);
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
            let timed_out = matches!(&result, Err(HandlerError { error_type, .. }) if error_type == "DeadlineExceeded");
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
    state.store.finish(&api_job.id);
}

async fn run<H: Handler>(
    State(state): State<Arc<ApiState<H>>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let id = JobId::new(uuid::Uuid::new_v4().to_string());
    let job = parse_request(&body, id)?;
    let api_job = submit(&state, job)?;
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
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let wait = params
        .wait
        .map(|millis| Duration::from_millis(millis.clamp(1000, 300_000)))
        .unwrap_or(DEFAULT_SYNC_WAIT);
    let id = JobId::new(format!("sync-{}", uuid::Uuid::new_v4()));
    let job = parse_request(&body, id)?;
    let api_job = submit(&state, job)?;
    let _ = tokio::time::timeout(wait, api_job.done.cancelled()).await;
    Ok(Json(api_job.status_body()))
}

fn find<H>(state: &ApiState<H>, id: &str) -> Result<Arc<ApiJob>, ApiError> {
    state
        .store
        .get(&JobId::from(id))
        .ok_or_else(|| ApiError::NotFound(id.to_owned()))
}

async fn status<H: Handler>(
    State(state): State<Arc<ApiState<H>>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(find(&state, &id)?.status_body()))
}

async fn stream<H: Handler>(
    State(state): State<Arc<ApiState<H>>>,
    Path(id): Path<String>,
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
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let job = find(&state, &id)?;
    if job.finish(JobStatus::Cancelled, None, None) {
        job.cancel.cancel();
    }
    let status = job.lock().status;
    Ok(Json(json!({"id": id, "status": status.as_str()})))
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
    let running = counts[1];
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
