//! The heartbeat: `GET {ping}?job_id=a%2Cb&runpod_version=…` every `RUNPOD_PING_INTERVAL`.
//!
//! It runs on its own OS thread with its own single-threaded tokio runtime and its own HTTP
//! client, so a handler that hogs the worker's runtime cannot delay it (rp#425: the Python
//! worker was killed mid-job when a CPU-bound handler starved its ping). It reports every job
//! held (taken and not yet posted) and never stops because a ping failed.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::http::ping_urls;
use crate::job::JobId;
use crate::registry::JobRegistry;

/// A running heartbeat thread; [`Heartbeat::stop`] ends it.
pub(crate) struct Heartbeat {
    stop: CancellationToken,
    thread: Option<JoinHandle<()>>,
}

impl Heartbeat {
    /// Starts pinging `base` every `interval` with the in-flight ids of `held`.
    pub(crate) fn start<T: Clone + Send + 'static>(
        base: String,
        api_key: String,
        interval: Duration,
        held: Arc<JobRegistry<T>>,
    ) -> Result<Heartbeat, Error> {
        let stop = CancellationToken::new();
        let thread_stop = stop.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| Error::Io {
                what: "building the heartbeat runtime".to_owned(),
                source,
            })?;
        let thread = std::thread::Builder::new()
            .name("runpod-heartbeat".to_owned())
            .spawn(move || {
                runtime.block_on(ping_loop(base, api_key, interval, held, thread_stop));
            })
            .map_err(|source| Error::Io {
                what: "starting the heartbeat thread".to_owned(),
                source,
            })?;
        Ok(Heartbeat {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the heartbeat and waits for its thread (off the async runtime).
    pub(crate) async fn stop(mut self) {
        self.stop.cancel();
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn ping_loop<T: Clone>(
    base: String,
    api_key: String,
    interval: Duration,
    held: Arc<JobRegistry<T>>,
    stop: CancellationToken,
) {
    // A ping that takes longer than the interval is abandoned so the rhythm holds.
    let client = match reqwest::Client::builder()
        .timeout(interval.max(Duration::from_millis(200)))
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!("heartbeat disabled: cannot build its HTTP client: {error}");
            return;
        }
    };
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let ids: Vec<JobId> = held.in_flight_ids();
        // A long id list goes out as several pings, each URL bounded (http::MAX_PING_IDS_BYTES).
        for url in ping_urls(&base, &ids) {
            let request = client
                .get(&url)
                .header(reqwest::header::AUTHORIZATION, api_key.as_str())
                .header(reqwest::header::USER_AGENT, crate::http::USER_AGENT_VALUE)
                .send();
            tokio::select! {
                biased;
                _ = stop.cancelled() => return,
                answer = request => match answer {
                    Ok(response) if response.status().is_success() => {
                        tracing::trace!(jobs = ids.len(), "heartbeat sent");
                    }
                    Ok(response) => {
                        tracing::warn!(status = response.status().as_u16(), "heartbeat refused");
                    }
                    Err(error) => tracing::warn!("heartbeat failed: {error}"),
                }
            }
        }
    }
}
