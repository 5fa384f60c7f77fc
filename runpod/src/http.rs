//! The worker's side of RunPod's HTTP protocol: URL construction (spec §2.1), job-take,
//! job-stop, job-done and job-stream requests with their headers (spec §3–§5), and the retry
//! policy for results.
//!
//! Every part put into a URL (the worker id, job ids) is percent-encoded: only RFC 3986's
//! unreserved characters pass, so `a/b`, `x?y=z` or `../../etc` stay one path segment.
//!
//! Result posts carry the Python SDK's headers (`Content-Type:
//! application/x-www-form-urlencoded` over a JSON body, a `charset: utf-8` header,
//! `X-Request-ID: <job id>`, the raw `Authorization` key). Progress and stream chunks are
//! retried here a bounded number of times; final results are retried by the outbox
//! (`outbox.rs`) until delivered or their retry window ends.

use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE, USER_AGENT,
};
use serde_json::{json, Value};

use crate::config::WorkerConfig;
use crate::context::Reporter;
use crate::env::{RunpodEnv, RUNPOD_SDK_VERSION};
use crate::error::Error;
use crate::job::{decode_stop, decode_take, JobId, TakeAnswer};
use crate::report::Identity;

/// The `User-Agent` of every request: the SDK it is wire-compatible with, then this crate.
pub const USER_AGENT_VALUE: &str = concat!(
    "RunPod-Python-SDK/1.12.0 (compatible; runpod-rs/",
    env!("CARGO_PKG_VERSION"),
    "; Linux) Language/Rust"
);

/// How long a job-take answer's 429 makes the worker pause (the SDK's debounce, rp#367).
pub const TOO_MANY_REQUESTS_PAUSE: Duration = Duration::from_secs(5);

/// Attempts at delivering one progress update: progress is advisory, so it gets one retry.
const PROGRESS_ATTEMPTS: usize = 2;

/// Appends `params` to `url` with `?` or `&` as needed.
fn append_query(url: &str, params: &str) -> String {
    if url.contains('?') {
        format!("{url}&{params}")
    } else {
        format!("{url}?{params}")
    }
}

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`) is encoded.
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one URL part (a path segment or a query value): RFC 3986 unreserved
/// characters pass, every other byte of the UTF-8 text becomes `%XX`.
pub(crate) fn encode_component(text: &str) -> String {
    utf8_percent_encode(text, NOT_UNRESERVED).to_string()
}

/// The worker's URLs, with the worker id already substituted.
#[derive(Debug, Clone)]
pub(crate) struct Urls {
    take: String,
    done: String,
    stream: Option<String>,
    ping: Option<String>,
}

impl Urls {
    pub(crate) fn from_env(env: &RunpodEnv) -> Result<Self, Error> {
        let worker = encode_component(&env.worker_id);
        let worker = worker.as_str();
        let substitute = |template: &str| template.replace("$RUNPOD_POD_ID", worker);
        let take = env
            .get_job_url
            .as_deref()
            .ok_or_else(|| Error::config("RUNPOD_WEBHOOK_GET_JOB is not set"))?;
        let done = env
            .post_output_url
            .as_deref()
            .ok_or_else(|| Error::config("RUNPOD_WEBHOOK_POST_OUTPUT is not set"))?;
        Ok(Urls {
            take: substitute(take).replace("$ID", worker),
            done: substitute(done),
            stream: env.post_stream_url.as_deref().map(substitute),
            ping: env.ping_url.as_deref().map(substitute),
        })
    }

    /// `{take}&job_in_progress=0|1`.
    pub(crate) fn take_url(&self, in_progress: bool) -> String {
        append_query(
            &self.take,
            &format!("job_in_progress={}", u8::from(in_progress)),
        )
    }

    /// `{take with /job-take/ → /job-take-batch/}&batch_size=N&job_in_progress=0|1`; `None`
    /// when the template has no `/job-take/`.
    pub(crate) fn batch_url(&self, batch_size: usize, in_progress: bool) -> Option<String> {
        if !self.take.contains("/job-take/") {
            return None;
        }
        let base = self.take.replacen("/job-take/", "/job-take-batch/", 1);
        Some(append_query(
            &base,
            &format!(
                "batch_size={batch_size}&job_in_progress={}",
                u8::from(in_progress)
            ),
        ))
    }

    /// `{take with /job-take/ → /job-stop/}`; `None` when the template has no `/job-take/`.
    pub(crate) fn stop_url(&self) -> Option<String> {
        self.take
            .contains("/job-take/")
            .then(|| self.take.replacen("/job-take/", "/job-stop/", 1))
    }

    /// `{done with $ID=job}&isStream=true|false`.
    pub(crate) fn done_url(&self, id: &JobId, is_stream: bool) -> String {
        append_query(
            &self.done.replace("$ID", &encode_component(id.as_str())),
            &format!("isStream={is_stream}"),
        )
    }

    /// `{stream with $ID=job}&isStream=false`.
    pub(crate) fn stream_url(&self, id: &JobId) -> Option<String> {
        self.stream.as_ref().map(|url| {
            append_query(
                &url.replace("$ID", &encode_component(id.as_str())),
                "isStream=false",
            )
        })
    }

    /// `{ping}?job_id=a%2Cb&runpod_version=…` (`job_id` omitted when no job is held).
    #[cfg(test)]
    pub(crate) fn ping_url(&self, ids: &[JobId]) -> Option<String> {
        let base = self.ping.as_ref()?;
        Some(ping_url(base, ids))
    }

    pub(crate) fn ping_base(&self) -> Option<&str> {
        self.ping.as_deref()
    }
}

/// Most bytes of the encoded `job_id` list in one ping: URLs stay far under the 8 KiB that
/// HTTP servers commonly refuse (the queue answered 400 past it). More ids are split over
/// several pings of one heartbeat ([`ping_urls`]), so every held id is still reported.
pub(crate) const MAX_PING_IDS_BYTES: usize = 2048;

/// The ping URLs of one heartbeat: one per group of ids whose encoded list fits
/// [`MAX_PING_IDS_BYTES`] (one id longer than that is sent alone); one URL without `job_id`
/// when no job is held.
pub(crate) fn ping_urls(base: &str, ids: &[JobId]) -> Vec<String> {
    let mut urls = Vec::new();
    let mut group: Vec<JobId> = Vec::new();
    let mut group_bytes = 0usize;
    for id in ids {
        let bytes = encode_component(id.as_str()).len() + 3;
        if !group.is_empty() && group_bytes + bytes > MAX_PING_IDS_BYTES {
            urls.push(ping_url(base, &group));
            group.clear();
            group_bytes = 0;
        }
        group.push(id.clone());
        group_bytes += bytes;
    }
    if !group.is_empty() || urls.is_empty() {
        urls.push(ping_url(base, &group));
    }
    urls
}

pub(crate) fn ping_url(base: &str, ids: &[JobId]) -> String {
    let mut params = String::new();
    if !ids.is_empty() {
        let joined: Vec<String> = ids.iter().map(|id| encode_component(id.as_str())).collect();
        params.push_str("job_id=");
        params.push_str(&joined.join("%2C"));
        params.push('&');
    }
    params.push_str("runpod_version=");
    params.push_str(RUNPOD_SDK_VERSION);
    append_query(base, &params)
}

/// Exponential back-off with jitter: each wait is drawn from [d/2, d], d doubling up to `cap`.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    pub(crate) fn new(base: Duration, cap: Duration) -> Self {
        Backoff {
            base,
            cap,
            attempt: 0,
        }
    }

    pub(crate) fn next_wait(&mut self) -> Duration {
        let factor = 1u32 << self.attempt.min(16);
        self.attempt = self.attempt.saturating_add(1);
        let full = self.base.saturating_mul(factor).min(self.cap);
        let low = full / 2;
        let spread = (full - low).as_micros() as u64;
        let jitter = if spread == 0 {
            0
        } else {
            rand::random_range(0..=spread)
        };
        low + Duration::from_micros(jitter)
    }

    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// What a job-take request produced.
#[derive(Debug)]
pub(crate) enum Take {
    Answer(TakeAnswer),
    /// 429: pause before the next take.
    TooManyRequests,
}

/// The production HTTP client: one connection pool for take, stop and results.
pub(crate) struct Transport {
    client: reqwest::Client,
    pub(crate) urls: Urls,
    pub(crate) identity: Identity,
    take_timeout: Duration,
    post_timeout: Duration,
    post_attempts: usize,
    pub(crate) max_result_bytes: usize,
    progress_backoff: (Duration, Duration),
}

fn auth_headers(api_key: &str) -> Result<HeaderMap, Error> {
    let mut headers = HeaderMap::new();
    let mut key = HeaderValue::from_str(api_key)
        .map_err(|_| Error::config("RUNPOD_AI_API_KEY holds characters not allowed in a header"))?;
    key.set_sensitive(true);
    headers.insert(AUTHORIZATION, key);
    headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
    Ok(headers)
}

fn map_send_error(what: &'static str, after: Duration, error: reqwest::Error) -> Error {
    if error.is_timeout() {
        Error::Timeout { what, after }
    } else {
        Error::Transport {
            what,
            source: error,
        }
    }
}

impl Transport {
    pub(crate) fn new(env: &RunpodEnv, config: &WorkerConfig) -> Result<Self, Error> {
        let urls = Urls::from_env(env)?;
        let client = reqwest::Client::builder()
            .default_headers(auth_headers(env.api_key())?)
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|error| Error::config(format!("cannot build the HTTP client: {error}")))?;
        Ok(Transport {
            client,
            urls,
            identity: Identity {
                hostname: env.hostname.clone(),
                worker_id: env.worker_id.clone(),
            },
            take_timeout: config.take_timeout,
            post_timeout: config.post_timeout,
            post_attempts: config.post_attempts.get(),
            max_result_bytes: config.max_result_bytes,
            progress_backoff: (config.result_backoff, config.result_backoff_cap),
        })
    }

    /// One GET with the given client timeout; returns status, content type and the full body.
    async fn get(
        &self,
        what: &'static str,
        url: &str,
        timeout: Duration,
    ) -> Result<(u16, Option<String>, Bytes), Error> {
        let response = self
            .client
            .get(url)
            .timeout(timeout)
            .send()
            .await
            .map_err(|error| map_send_error(what, timeout, error))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = response
            .bytes()
            .await
            .map_err(|error| map_send_error(what, timeout, error))?;
        Ok((status, content_type, body))
    }

    /// Takes up to `wanted` jobs (job-take-batch when more than one).
    pub(crate) async fn take(&self, wanted: usize, in_progress: bool) -> Result<Take, Error> {
        let (what, url) = match (wanted > 1)
            .then(|| self.urls.batch_url(wanted, in_progress))
            .flatten()
        {
            Some(url) => ("job-take-batch", url),
            None => ("job-take", self.urls.take_url(in_progress)),
        };
        let (status, content_type, body) = self.get(what, &url, self.take_timeout).await?;
        match status {
            200 => Ok(Take::Answer(decode_take(content_type.as_deref(), &body))),
            204 | 400 => Ok(Take::Answer(TakeAnswer::NoJob)),
            429 => Ok(Take::TooManyRequests),
            status => Err(Error::Status { what, status }),
        }
    }

    /// One job-stop long poll. `Ok(None)` when the template has no `/job-take/`.
    pub(crate) async fn stop_poll(&self) -> Result<Option<Vec<JobId>>, Error> {
        let Some(url) = self.urls.stop_url() else {
            return Ok(None);
        };
        let (status, _, body) = self.get("job-stop", &url, self.take_timeout).await?;
        match status {
            200 => Ok(Some(decode_stop(&body))),
            204 => Ok(Some(Vec::new())),
            status => Err(Error::Status {
                what: "job-stop",
                status,
            }),
        }
    }

    /// One POST of a JSON body with the SDK's result headers; success needs a 2xx status and
    /// a complete response body.
    pub(crate) async fn post_once(
        &self,
        what: &'static str,
        url: &str,
        id: &JobId,
        body: Bytes,
    ) -> Result<(), Error> {
        let response = self
            .client
            .post(url)
            .timeout(self.post_timeout)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(HeaderName::from_static("charset"), "utf-8")
            .header(
                HeaderName::from_static("x-request-id"),
                HeaderValue::from_str(id.as_str())
                    .unwrap_or_else(|_| HeaderValue::from_static("invalid-job-id")),
            )
            .body(body)
            .send()
            .await
            .map_err(|error| map_send_error(what, self.post_timeout, error))?;
        let status = response.status().as_u16();
        // Read the answer to the end: a connection dropped mid-answer is a failure.
        response
            .bytes()
            .await
            .map_err(|error| map_send_error(what, self.post_timeout, error))?;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(Error::Status { what, status })
        }
    }

    /// Posts with bounded, jittered retries on retryable failures.
    async fn post_with_retries(
        &self,
        what: &'static str,
        url: &str,
        id: &JobId,
        body: &[u8],
        attempts: usize,
    ) -> Result<(), Error> {
        let mut backoff = Backoff::new(self.progress_backoff.0, self.progress_backoff.1);
        let body = Bytes::copy_from_slice(body);
        let mut attempt = 1;
        loop {
            match self.post_once(what, url, id, body.clone()).await {
                Ok(()) => return Ok(()),
                Err(error) if error.is_retryable() && attempt < attempts => {
                    let wait = backoff.next_wait();
                    tracing::warn!(job_id = %id, attempt, ?wait, "{what} failed, retrying: {error}");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }
}

impl Reporter for Transport {
    fn progress<'a>(&'a self, id: &'a JobId, value: Value) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let url = self.urls.done_url(id, false);
            let body = json!({"status": "IN_PROGRESS", "output": value}).to_string();
            if let Err(error) = self
                .post_with_retries("progress", &url, id, body.as_bytes(), PROGRESS_ATTEMPTS)
                .await
            {
                tracing::warn!(job_id = %id, "progress update dropped: {error}");
            }
        })
    }

    fn chunk<'a>(&'a self, id: &'a JobId, value: Value) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let Some(url) = self.urls.stream_url(id) else {
                tracing::error!(job_id = %id, "stream chunk dropped: RUNPOD_WEBHOOK_POST_STREAM is not set");
                return;
            };
            let body = json!({"output": value}).to_string();
            if let Err(error) = self
                .post_with_retries("job-stream", &url, id, body.as_bytes(), self.post_attempts)
                .await
            {
                tracing::error!(job_id = %id, "stream chunk lost: {error}");
            }
        })
    }
}

/// Reports a failed start-up check to the ping URL
/// (`status=unhealthy&check=…&reason=…`, reason cut to 256 characters), with a 2 s timeout.
/// Best effort: failures are logged and otherwise ignored.
pub async fn report_unhealthy(env: &RunpodEnv, check: &str, reason: &str) {
    send_unhealthy(
        env.ping_url.as_deref(),
        &env.worker_id,
        env.api_key(),
        check,
        reason,
    )
    .await;
}

/// [`report_unhealthy`] for when [`RunpodEnv::from_vars`] itself failed (a bad `RUNPOD_*`
/// value): reads `RUNPOD_WEBHOOK_PING`, `RUNPOD_POD_ID` and `RUNPOD_AI_API_KEY` straight from
/// the variables. Returns whether the report was accepted; nothing is sent when the ping URL
/// is unset or is itself invalid (the caller then has only its exit status and message).
pub async fn report_unhealthy_from_vars(
    vars: &[(String, String)],
    check: &str,
    reason: &str,
) -> bool {
    let get = |key: &str| {
        vars.iter()
            .rev()
            .find(|(name, value)| name == key && !value.trim().is_empty())
            .map(|(_, value)| value.trim())
    };
    let Some(template) = get("RUNPOD_WEBHOOK_PING") else {
        tracing::warn!(
            check,
            "cannot report the failed check: RUNPOD_WEBHOOK_PING is not set"
        );
        return false;
    };
    if let Err(error) = crate::env::check_url("RUNPOD_WEBHOOK_PING", template) {
        tracing::warn!(check, "cannot report the failed check: {error}");
        return false;
    }
    let worker_id = match get("RUNPOD_POD_ID") {
        Some(id) if crate::env::is_addressable(id) => id.to_owned(),
        _ => "unknown".to_owned(),
    };
    send_unhealthy(
        Some(template),
        &worker_id,
        get("RUNPOD_AI_API_KEY").unwrap_or(""),
        check,
        reason,
    )
    .await
}

async fn send_unhealthy(
    template: Option<&str>,
    worker_id: &str,
    api_key: &str,
    check: &str,
    reason: &str,
) -> bool {
    let Some(template) = template else {
        tracing::warn!(
            check,
            "cannot report the failed check: RUNPOD_WEBHOOK_PING is not set"
        );
        return false;
    };
    let base = template.replace("$RUNPOD_POD_ID", &encode_component(worker_id));
    let reason: String = reason.chars().take(256).collect();
    let url = append_query(
        &base,
        &format!(
            "status=unhealthy&check={}&reason={}&runpod_version={RUNPOD_SDK_VERSION}",
            encode_component(check),
            encode_component(&reason)
        ),
    );
    let headers = match auth_headers(api_key) {
        Ok(headers) => headers,
        Err(error) => {
            tracing::warn!("cannot report the failed check: {error}");
            return false;
        }
    };
    let client = match reqwest::Client::builder()
        .default_headers(headers)
        .timeout(Duration::from_secs(2))
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::warn!("cannot report the failed check: {error}");
            return false;
        }
    };
    match client.get(url).send().await {
        Ok(response) if response.status().is_success() => true,
        Ok(response) => {
            tracing::warn!(
                status = response.status().as_u16(),
                "unhealthy report refused"
            );
            false
        }
        Err(error) => {
            tracing::warn!("unhealthy report failed: {error}");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_split_long_id_lists_and_keep_every_id() {
        let ids: Vec<JobId> = (0..400)
            .map(|index| JobId::from(format!("job-{index:04}-{}", "x".repeat(30)).as_str()))
            .collect();
        let urls = ping_urls("https://api.example/ping/w1", &ids);
        assert!(urls.len() > 1, "{} ids in one URL", ids.len());
        let mut seen = Vec::new();
        for url in &urls {
            assert!(url.len() < MAX_PING_IDS_BYTES + 200, "{} bytes", url.len());
            let list = url
                .split("job_id=")
                .nth(1)
                .and_then(|rest| rest.split('&').next())
                .expect("job_id");
            seen.extend(list.split("%2C").map(str::to_owned));
        }
        let expected: Vec<String> = ids.iter().map(|id| id.as_str().to_owned()).collect();
        assert_eq!(seen, expected);
        assert_eq!(
            ping_urls("https://api.example/ping/w1", &[]),
            vec![ping_url("https://api.example/ping/w1", &[])]
        );
    }

    fn env(list: &[(&str, &str)]) -> RunpodEnv {
        RunpodEnv::from_vars(list.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .expect("valid env")
    }

    #[test]
    fn urls_match_the_python_sdk_byte_for_byte() {
        let urls = Urls::from_env(&env(&[
            (
                "RUNPOD_WEBHOOK_GET_JOB",
                "https://api.runpod.ai/v2/ep/job-take/$ID?gpu=NVIDIA+RTX+A5000",
            ),
            (
                "RUNPOD_WEBHOOK_POST_OUTPUT",
                "https://api.runpod.ai/v2/ep/job-done/$RUNPOD_POD_ID/$ID?gpu=NVIDIA+RTX+A5000",
            ),
            (
                "RUNPOD_WEBHOOK_POST_STREAM",
                "https://api.runpod.ai/v2/ep/job-stream/$RUNPOD_POD_ID/$ID?gpu=NVIDIA+RTX+A5000",
            ),
            (
                "RUNPOD_WEBHOOK_PING",
                "https://api.runpod.ai/v2/ep/ping/$RUNPOD_POD_ID",
            ),
            ("RUNPOD_POD_ID", "moi9fq5smrmwvl"),
        ]))
        .expect("urls");
        let job = JobId::from("5e0ae067-4a83-49b5-8368-8961f7067018-u1");
        assert_eq!(
            urls.take_url(false),
            "https://api.runpod.ai/v2/ep/job-take/moi9fq5smrmwvl?gpu=NVIDIA+RTX+A5000&job_in_progress=0"
        );
        assert_eq!(
            urls.batch_url(3, true).expect("batch"),
            "https://api.runpod.ai/v2/ep/job-take-batch/moi9fq5smrmwvl?gpu=NVIDIA+RTX+A5000&batch_size=3&job_in_progress=1"
        );
        assert_eq!(
            urls.stop_url().expect("stop"),
            "https://api.runpod.ai/v2/ep/job-stop/moi9fq5smrmwvl?gpu=NVIDIA+RTX+A5000"
        );
        assert_eq!(
            urls.done_url(&job, false),
            "https://api.runpod.ai/v2/ep/job-done/moi9fq5smrmwvl/5e0ae067-4a83-49b5-8368-8961f7067018-u1?gpu=NVIDIA+RTX+A5000&isStream=false"
        );
        assert_eq!(
            urls.stream_url(&job).expect("stream"),
            "https://api.runpod.ai/v2/ep/job-stream/moi9fq5smrmwvl/5e0ae067-4a83-49b5-8368-8961f7067018-u1?gpu=NVIDIA+RTX+A5000&isStream=false"
        );
        assert_eq!(
            urls.ping_url(&[JobId::from("a-u1"), JobId::from("b-u1")]).expect("ping"),
            "https://api.runpod.ai/v2/ep/ping/moi9fq5smrmwvl?job_id=a-u1%2Cb-u1&runpod_version=1.12.0"
        );
        assert_eq!(
            urls.ping_url(&[]).expect("ping"),
            "https://api.runpod.ai/v2/ep/ping/moi9fq5smrmwvl?runpod_version=1.12.0"
        );
    }

    #[test]
    fn templates_without_a_query_get_one_and_without_job_take_lose_batch_and_stop() {
        let urls = Urls::from_env(&env(&[
            ("RUNPOD_WEBHOOK_GET_JOB", "http://q/next/$ID"),
            ("RUNPOD_WEBHOOK_POST_OUTPUT", "http://q/done/$ID"),
            ("RUNPOD_POD_ID", "w"),
        ]))
        .expect("urls");
        assert_eq!(urls.take_url(true), "http://q/next/w?job_in_progress=1");
        assert!(urls.batch_url(2, false).is_none());
        assert!(urls.stop_url().is_none());
        assert_eq!(
            urls.done_url(&JobId::from("j"), true),
            "http://q/done/j?isStream=true"
        );
        assert!(urls.stream_url(&JobId::from("j")).is_none());
    }

    #[test]
    fn production_urls_need_take_and_done_templates() {
        assert!(
            Urls::from_env(&env(&[("RUNPOD_WEBHOOK_GET_JOB", "http://q/job-take/$ID")])).is_err()
        );
    }

    #[test]
    fn backoff_grows_stays_jittered_and_capped() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let waits: Vec<Duration> = (0..8).map(|_| backoff.next_wait()).collect();
        assert!(waits[0] >= Duration::from_millis(50) && waits[0] <= Duration::from_millis(100));
        assert!(waits.iter().all(|wait| *wait <= Duration::from_secs(1)));
        assert!(waits[7] >= Duration::from_millis(500));
        backoff.reset();
        assert!(backoff.next_wait() <= Duration::from_millis(100));
    }

    #[test]
    fn url_parts_are_percent_encoded() {
        assert_eq!(encode_component("a b,c/é"), "a%20b%2Cc%2F%C3%A9");
        assert_eq!(
            encode_component("../../etc/passwd?x=1&y#z%"),
            "..%2F..%2Fetc%2Fpasswd%3Fx%3D1%26y%23z%25"
        );
        assert_eq!(encode_component("Az09-._~"), "Az09-._~");
    }

    #[test]
    fn job_ids_and_the_worker_id_are_encoded_in_every_url() {
        let urls = Urls::from_env(&env(&[
            (
                "RUNPOD_WEBHOOK_GET_JOB",
                "http://q/v2/ep/job-take/$ID?gpu=A",
            ),
            (
                "RUNPOD_WEBHOOK_POST_OUTPUT",
                "http://q/v2/ep/job-done/$RUNPOD_POD_ID/$ID?gpu=A",
            ),
            (
                "RUNPOD_WEBHOOK_POST_STREAM",
                "http://q/v2/ep/job-stream/$RUNPOD_POD_ID/$ID?gpu=A",
            ),
            ("RUNPOD_WEBHOOK_PING", "http://q/v2/ep/ping/$RUNPOD_POD_ID"),
            ("RUNPOD_POD_ID", "w/1 ?"),
        ]))
        .expect("urls");
        let job = JobId::from("../j&k=v#");
        assert_eq!(
            urls.take_url(false),
            "http://q/v2/ep/job-take/w%2F1%20%3F?gpu=A&job_in_progress=0"
        );
        assert_eq!(
            urls.done_url(&job, false),
            "http://q/v2/ep/job-done/w%2F1%20%3F/..%2Fj%26k%3Dv%23?gpu=A&isStream=false"
        );
        assert_eq!(
            urls.stream_url(&job).expect("stream"),
            "http://q/v2/ep/job-stream/w%2F1%20%3F/..%2Fj%26k%3Dv%23?gpu=A&isStream=false"
        );
        assert_eq!(
            urls.ping_url(&[job]).expect("ping"),
            "http://q/v2/ep/ping/w%2F1%20%3F?job_id=..%2Fj%26k%3Dv%23&runpod_version=1.12.0"
        );
    }
}
