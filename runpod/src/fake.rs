//! [`FakeQueue`]: a real RunPod queue on loopback, for tests and benchmarks (feature `fake`).
//!
//! It is an axum server on `127.0.0.1:0`, running on its own OS thread and tokio runtime (so a
//! test that blocks its own runtime cannot stall it). It serves the worker side of RunPod's
//! protocol with the production URL shapes:
//!
//! ```text
//! GET  /v2/{ep}/job-take/{worker}?gpu=…&job_in_progress=0|1        long poll
//! GET  /v2/{ep}/job-take-batch/{worker}?gpu=…&batch_size=N&job_in_progress=0|1
//! GET  /v2/{ep}/job-stop/{worker}?gpu=…                           long poll
//! POST /v2/{ep}/job-done/{worker}/{job}?gpu=…&isStream=true|false
//! POST /v2/{ep}/job-stream/{worker}/{job}?gpu=…&isStream=false
//! GET  /v2/{ep}/ping/{worker}?job_id=…&runpod_version=…
//! ```
//!
//! Every request is recorded as an [`Event`] (headers, raw URI, body, what was served); tests
//! wait for events with [`FakeQueue::wait_for`] (woken by a channel, never by polling with
//! sleeps). Faults are injected per route, scripted ([`FakeQueue::inject`]) or at random rates
//! ([`FakeQueue::set_random_faults`]) or for a stretch of time ([`FakeQueue::fail_for`], an
//! outage): HTTP statuses, dropped connections, slow answers.
//! Malformed jobs are pushed as raw text ([`FakeQueue::push_raw`]).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

/// The endpoint id in the fake's URLs.
pub const FAKE_ENDPOINT: &str = "fake-endpoint";

/// The API key the fake hands out in [`FakeQueue::env`].
pub const FAKE_API_KEY: &str = "fake-api-key";

/// The worker id the fake hands out in [`FakeQueue::env`].
pub const FAKE_WORKER_ID: &str = "fake-worker";

/// Which part of the protocol a request hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// `job-take`.
    JobTake,
    /// `job-take-batch`.
    JobTakeBatch,
    /// `job-done` (progress and final results).
    JobDone,
    /// `job-stream`.
    JobStream,
    /// `ping`.
    Ping,
    /// `job-stop`.
    JobStop,
}

/// A fault to inject into one answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer with this status (for takes, the job stays queued).
    Status(u16),
    /// Close the connection without answering (the request was received but not handled).
    Drop,
    /// Wait this long, then answer normally.
    Delay(Duration),
}

/// What the fake did with a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Served {
    /// Answered with this status.
    Status(u16),
    /// Dropped the connection.
    Dropped,
}

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Event {
    /// The route hit.
    pub route: Route,
    /// The HTTP method.
    pub method: String,
    /// Path and query exactly as received.
    pub uri: String,
    /// Request headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The request body.
    pub body: Vec<u8>,
    /// What was served.
    pub served: Served,
    /// Job ids handed out (takes) or addressed (job-done, job-stream).
    pub jobs: Vec<String>,
    /// When the request arrived (for takes: when the answer was sent).
    pub at: Instant,
}

impl Event {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// A query parameter's raw (still percent-encoded) value.
    pub fn query(&self, name: &str) -> Option<&str> {
        let (_, query) = self.uri.split_once('?')?;
        query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key == name).then_some(value)
        })
    }

    /// Whether the fake answered 2xx.
    pub fn ok(&self) -> bool {
        matches!(self.served, Served::Status(status) if (200..300).contains(&status))
    }

    /// A final job result delivered to job-done (2xx, not a progress update).
    pub fn is_delivered_result(&self) -> bool {
        self.route == Route::JobDone
            && self.ok()
            && self
                .json()
                .map(|body| body.get("status").and_then(Value::as_str) != Some("IN_PROGRESS"))
                .unwrap_or(true)
    }

    /// A progress update delivered to job-done.
    pub fn is_progress(&self) -> bool {
        self.route == Route::JobDone
            && self
                .json()
                .map(|body| body.get("status").and_then(Value::as_str) == Some("IN_PROGRESS"))
                .unwrap_or(false)
    }
}

#[derive(Default)]
struct Faults {
    scripted: HashMap<Route, VecDeque<Fault>>,
    random: HashMap<Route, (f64, f64)>,
    /// Until when a route answers every request with this status.
    outages: HashMap<Route, (Instant, u16)>,
}

struct Shared {
    jobs: Mutex<VecDeque<String>>,
    job_added: Notify,
    stops: Mutex<Vec<String>>,
    stop_added: Notify,
    events: Mutex<Vec<Event>>,
    event_count: watch::Sender<usize>,
    faults: Mutex<Faults>,
    hold: Mutex<Duration>,
    /// When each job-take or job-take-batch request arrived (events are recorded on answer).
    take_arrivals: Mutex<Vec<Instant>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    fn record(&self, event: Event) {
        let count = {
            let mut events = lock(&self.events);
            events.push(event);
            events.len()
        };
        self.event_count.send_replace(count);
    }

    fn fault(&self, route: Route) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        if let Some(fault) = faults
            .scripted
            .get_mut(&route)
            .and_then(VecDeque::pop_front)
        {
            return Some(fault);
        }
        if let Some((until, status)) = faults.outages.get(&route).copied() {
            if Instant::now() < until {
                return Some(Fault::Status(status));
            }
            faults.outages.remove(&route);
        }
        let (status_rate, drop_rate) = faults.random.get(&route).copied()?;
        let draw: f64 = rand::random();
        if draw < drop_rate {
            Some(Fault::Drop)
        } else if draw < drop_rate + status_rate {
            Some(Fault::Status(503))
        } else {
            None
        }
    }
}

/// The fake queue. Dropping it stops the server.
pub struct FakeQueue {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The fake gave up waiting for an event.
#[derive(Debug, thiserror::Error)]
#[error("fake queue: condition not met within {0:?}")]
pub struct WaitTimeout(pub Duration);

impl FakeQueue {
    /// Starts a fake queue on `127.0.0.1:0` with its own thread and runtime.
    pub fn start() -> std::io::Result<FakeQueue> {
        Self::start_on("127.0.0.1:0".parse().expect("literal socket address"), 2)
    }

    /// Starts a fake queue on `addr` with `threads` runtime threads.
    pub fn start_on(addr: SocketAddr, threads: usize) -> std::io::Result<FakeQueue> {
        let (event_count, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            jobs: Mutex::new(VecDeque::new()),
            job_added: Notify::new(),
            stops: Mutex::new(Vec::new()),
            stop_added: Notify::new(),
            events: Mutex::new(Vec::new()),
            event_count,
            faults: Mutex::new(Faults::default()),
            hold: Mutex::new(Duration::from_secs(30)),
            take_arrivals: Mutex::new(Vec::new()),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("fake-queue")
            .enable_all()
            .build()?;
        // Bound with std so that starting a fake from inside a test's runtime never blocks on
        // (or nests) a runtime; the listener moves into the fake's runtime below.
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let app = router(Arc::clone(&shared));
        let server_stop = stop.clone();
        let thread = std::thread::Builder::new()
            .name("fake-queue".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(error) => {
                            tracing::error!("fake queue cannot listen: {error}");
                            return;
                        }
                    };
                    let serve = axum::serve(listener, app)
                        .with_graceful_shutdown(async move { server_stop.cancelled().await });
                    if let Err(error) = serve.await {
                        tracing::error!("fake queue stopped: {error}");
                    }
                });
                runtime.shutdown_background();
            })?;
        Ok(FakeQueue {
            shared,
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/v2/fake-endpoint`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v2/{FAKE_ENDPOINT}", self.addr)
    }

    /// RunPod's variables pointing a worker at this queue: production templates, key, pod id
    /// and a 100 ms ping interval. Append pairs to override (later pairs win).
    pub fn env(&self) -> Vec<(String, String)> {
        let base = self.base_url();
        [
            (
                "RUNPOD_WEBHOOK_GET_JOB",
                format!("{base}/job-take/$ID?gpu=FAKE+GPU"),
            ),
            (
                "RUNPOD_WEBHOOK_POST_OUTPUT",
                format!("{base}/job-done/$RUNPOD_POD_ID/$ID?gpu=FAKE+GPU"),
            ),
            (
                "RUNPOD_WEBHOOK_POST_STREAM",
                format!("{base}/job-stream/$RUNPOD_POD_ID/$ID?gpu=FAKE+GPU"),
            ),
            ("RUNPOD_WEBHOOK_PING", format!("{base}/ping/$RUNPOD_POD_ID")),
            ("RUNPOD_AI_API_KEY", FAKE_API_KEY.to_owned()),
            ("RUNPOD_POD_ID", FAKE_WORKER_ID.to_owned()),
            ("RUNPOD_POD_HOSTNAME", "fake-host".to_owned()),
            ("RUNPOD_PING_INTERVAL", "100".to_owned()),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
    }

    /// Queues a job (`{"id":…,"input":…}` plus any keys).
    pub fn push_job(&self, job: Value) {
        self.push_raw(job.to_string());
    }

    /// Queues a job `{"id": id, "input": input}`.
    pub fn push(&self, id: &str, input: Value) {
        self.push_job(json!({"id": id, "input": input}));
    }

    /// Queues raw text served as a job body (for malformed jobs).
    pub fn push_raw(&self, text: impl Into<String>) {
        lock(&self.shared.jobs).push_back(text.into());
        self.shared.job_added.notify_one();
    }

    /// Jobs queued and not yet taken.
    pub fn queued(&self) -> usize {
        lock(&self.shared.jobs).len()
    }

    /// Lists job ids in the next job-stop answer.
    pub fn stop_jobs(&self, ids: &[&str]) {
        lock(&self.shared.stops).extend(ids.iter().map(|id| (*id).to_owned()));
        self.shared.stop_added.notify_one();
    }

    /// How long an empty long poll (take or stop) is held before a 204. Default 30 s.
    pub fn set_hold(&self, hold: Duration) {
        *lock(&self.shared.hold) = hold;
    }

    /// Injects faults into the next answers on `route`, in order.
    pub fn inject(&self, route: Route, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.shared.faults)
            .scripted
            .entry(route)
            .or_default()
            .extend(faults);
    }

    /// Answers a fraction of requests on `route` with 503 and drops another fraction.
    pub fn set_random_faults(&self, route: Route, status_503_rate: f64, drop_rate: f64) {
        lock(&self.shared.faults)
            .random
            .insert(route, (status_503_rate, drop_rate));
    }

    /// Answers every request on `route` with `status` for the next `length` (an outage);
    /// scripted faults still come first.
    pub fn fail_for(&self, route: Route, status: u16, length: Duration) {
        lock(&self.shared.faults)
            .outages
            .insert(route, (Instant::now() + length, status));
    }

    /// When each job-take or job-take-batch request arrived, answered or not, in order.
    pub fn take_arrivals(&self) -> Vec<Instant> {
        lock(&self.shared.take_arrivals).clone()
    }

    /// A copy of every event so far.
    pub fn events(&self) -> Vec<Event> {
        lock(&self.shared.events).clone()
    }

    /// Events on one route.
    pub fn events_on(&self, route: Route) -> Vec<Event> {
        lock(&self.shared.events)
            .iter()
            .filter(|event| event.route == route)
            .cloned()
            .collect()
    }

    /// Final results delivered (2xx) to job-done, as (job id, body).
    pub fn results(&self) -> Vec<(String, Value)> {
        lock(&self.shared.events)
            .iter()
            .filter(|event| event.is_delivered_result())
            .map(|event| {
                (
                    event.jobs.first().cloned().unwrap_or_default(),
                    event.json().unwrap_or(Value::Null),
                )
            })
            .collect()
    }

    /// Waits until `condition` holds over the events, or fails after `timeout`.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        condition: impl Fn(&[Event]) -> bool,
    ) -> Result<Vec<Event>, WaitTimeout> {
        let mut count = self.shared.event_count.subscribe();
        let wait = async {
            loop {
                {
                    let events = lock(&self.shared.events);
                    if condition(&events) {
                        return events.clone();
                    }
                }
                if count.changed().await.is_err() {
                    // The sender lives in `shared`, which we hold: this cannot end.
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| WaitTimeout(timeout))
    }

    /// Waits for the first job-take (or batch) request to arrive, answered or not; returns
    /// when it arrived.
    pub async fn wait_first_take(&self, timeout: Duration) -> Result<Instant, WaitTimeout> {
        let mut count = self.shared.event_count.subscribe();
        let wait = async {
            loop {
                if let Some(first) = lock(&self.shared.take_arrivals).first() {
                    return *first;
                }
                if count.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| WaitTimeout(timeout))
    }

    /// Waits until `count` final results have been delivered; returns them.
    pub async fn wait_results(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<(String, Value)>, WaitTimeout> {
        self.wait_for(timeout, |events| {
            events
                .iter()
                .filter(|event| event.is_delivered_result())
                .count()
                >= count
        })
        .await?;
        Ok(self.results())
    }

    /// Waits for the final result of one job.
    pub async fn wait_result(&self, job_id: &str, timeout: Duration) -> Result<Value, WaitTimeout> {
        let events = self
            .wait_for(timeout, |events| {
                events.iter().any(|event| {
                    event.is_delivered_result()
                        && event.jobs.first().map(String::as_str) == Some(job_id)
                })
            })
            .await?;
        Ok(events
            .iter()
            .find(|event| {
                event.is_delivered_result()
                    && event.jobs.first().map(String::as_str) == Some(job_id)
            })
            .and_then(Event::json)
            .unwrap_or(Value::Null))
    }

    /// Stops the server and waits for its thread.
    pub fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for FakeQueue {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v2/{endpoint}/job-take/{worker}", get(take))
        .route("/v2/{endpoint}/job-take-batch/{worker}", get(take_batch))
        .route("/v2/{endpoint}/job-stop/{worker}", get(job_stop))
        .route("/v2/{endpoint}/job-done/{worker}/{job}", post(job_done))
        .route("/v2/{endpoint}/job-stream/{worker}/{job}", post(job_stream))
        .route("/v2/{endpoint}/ping/{worker}", get(ping))
        .with_state(shared)
}

struct Incoming {
    method: String,
    uri: String,
    headers: Vec<(String, String)>,
}

impl Incoming {
    fn from_parts(method: &axum::http::Method, uri: &Uri, headers: &HeaderMap) -> Self {
        Incoming {
            method: method.to_string(),
            uri: uri
                .path_and_query()
                .map(|pq| pq.as_str().to_owned())
                .unwrap_or_default(),
            headers: headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
        }
    }

    fn event(self, route: Route, body: Vec<u8>, served: Served, jobs: Vec<String>) -> Event {
        Event {
            route,
            method: self.method,
            uri: self.uri,
            headers: self.headers,
            body,
            served,
            jobs,
            at: Instant::now(),
        }
    }
}

/// Drops the connection: unwinding out of the handler ends hyper's connection task without an
/// answer. `resume_unwind` skips the panic hook, so nothing is printed.
fn drop_connection() -> ! {
    std::panic::resume_unwind(Box::new("fake queue: dropped connection"))
}

/// Applies an injected fault: `Some(response)` to answer with, `None` to go on normally.
async fn apply_fault(
    shared: &Shared,
    route: Route,
    incoming: Incoming,
    body: &[u8],
) -> Result<Incoming, Response> {
    match shared.fault(route) {
        None => Ok(incoming),
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            Ok(incoming)
        }
        Some(Fault::Status(status)) => {
            shared.record(incoming.event(route, body.to_vec(), Served::Status(status), Vec::new()));
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Err((status, "injected fault").into_response())
        }
        Some(Fault::Drop) => {
            shared.record(incoming.event(route, body.to_vec(), Served::Dropped, Vec::new()));
            drop_connection()
        }
    }
}

fn query_number(uri: &Uri, name: &str) -> Option<usize> {
    uri.query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| value.parse().ok()).flatten()
    })
}

async fn take(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    serve_take(shared, request, Route::JobTake).await
}

async fn take_batch(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    serve_take(shared, request, Route::JobTakeBatch).await
}

/// Pops up to `count` jobs; a non-JSON (malformed) job is always served alone.
fn pop_jobs(shared: &Shared, count: usize, batch: bool) -> Option<(String, Vec<String>)> {
    let mut jobs = lock(&shared.jobs);
    let first = jobs.pop_front()?;
    let first_value: Option<Value> = serde_json::from_str(&first).ok();
    let Some(first_value) = first_value else {
        return Some((first, Vec::new()));
    };
    let id_of = |value: &Value| {
        value
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    if !batch {
        return Some((first, vec![id_of(&first_value)]));
    }
    let mut ids = vec![id_of(&first_value)];
    let mut values = vec![first_value];
    while values.len() < count {
        let Some(next) = jobs.front() else { break };
        let Ok(value) = serde_json::from_str::<Value>(next) else {
            break;
        };
        jobs.pop_front();
        ids.push(id_of(&value));
        values.push(value);
    }
    Some((Value::Array(values).to_string(), ids))
}

async fn serve_take(shared: Arc<Shared>, request: Request, route: Route) -> Response {
    lock(&shared.take_arrivals).push(Instant::now());
    shared.event_count.send_modify(|_| {});
    let incoming = Incoming::from_parts(request.method(), request.uri(), request.headers());
    let batch_size = query_number(request.uri(), "batch_size")
        .unwrap_or(1)
        .max(1);
    let incoming = match apply_fault(&shared, route, incoming, &[]).await {
        Ok(incoming) => incoming,
        Err(response) => return response,
    };
    let hold = *lock(&shared.hold);
    let deadline = tokio::time::Instant::now() + hold;
    loop {
        let notified = shared.job_added.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some((body, ids)) = pop_jobs(&shared, batch_size, route == Route::JobTakeBatch) {
            // Another waiting take may be able to serve what is left.
            if !lock(&shared.jobs).is_empty() {
                shared.job_added.notify_one();
            }
            shared.record(incoming.event(route, Vec::new(), Served::Status(200), ids));
            return ([(header::CONTENT_TYPE, "application/json")], body).into_response();
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            shared.record(incoming.event(route, Vec::new(), Served::Status(204), Vec::new()));
            return StatusCode::NO_CONTENT.into_response();
        }
    }
}

async fn job_stop(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let incoming = Incoming::from_parts(request.method(), request.uri(), request.headers());
    let incoming = match apply_fault(&shared, Route::JobStop, incoming, &[]).await {
        Ok(incoming) => incoming,
        Err(response) => return response,
    };
    let hold = *lock(&shared.hold);
    let deadline = tokio::time::Instant::now() + hold;
    loop {
        let notified = shared.stop_added.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let ids: Vec<String> = std::mem::take(&mut *lock(&shared.stops));
        if !ids.is_empty() {
            shared.record(incoming.event(
                Route::JobStop,
                Vec::new(),
                Served::Status(200),
                ids.clone(),
            ));
            return axum::Json(json!({"jobsToStop": ids})).into_response();
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            shared.record(incoming.event(
                Route::JobStop,
                Vec::new(),
                Served::Status(204),
                Vec::new(),
            ));
            return StatusCode::NO_CONTENT.into_response();
        }
    }
}

async fn receive(
    shared: Arc<Shared>,
    route: Route,
    job: Option<String>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let incoming = Incoming::from_parts(&method, &uri, &headers);
    let incoming = match apply_fault(&shared, route, incoming, &body).await {
        Ok(incoming) => incoming,
        Err(response) => return response,
    };
    shared.record(incoming.event(
        route,
        body.to_vec(),
        Served::Status(200),
        job.into_iter().collect(),
    ));
    axum::Json(json!({})).into_response()
}

async fn job_done(
    State(shared): State<Arc<Shared>>,
    Path((_endpoint, _worker, job)): Path<(String, String, String)>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    receive(
        shared,
        Route::JobDone,
        Some(job),
        method,
        uri,
        headers,
        body,
    )
    .await
}

async fn job_stream(
    State(shared): State<Arc<Shared>>,
    Path((_endpoint, _worker, job)): Path<(String, String, String)>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    receive(
        shared,
        Route::JobStream,
        Some(job),
        method,
        uri,
        headers,
        body,
    )
    .await
}

async fn ping(
    State(shared): State<Arc<Shared>>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    receive(
        shared,
        Route::Ping,
        None,
        method,
        uri,
        headers,
        Bytes::new(),
    )
    .await
}
