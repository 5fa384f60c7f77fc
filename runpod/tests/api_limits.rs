//! The local API's limits (issue 12, item 6): a byte budget for queued inputs and kept
//! results, result expiry, header-read and idle timeouts, and a cap on open connections that
//! refuses promptly and keeps `/health` answering. Each drives a real loopback server.

mod api_support;
mod common;

use std::time::Duration;

use api_support::*;
use common::*;
use runpod::{ApiClock, ApiLimits, ApiOptions};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_inputs_over_the_byte_budget_are_answered_429_with_the_reason() {
    let (handler, mut control) = test_handler();
    let limits = ApiLimits {
        store_bytes: 10_000,
        ..quiet_limits()
    };
    let api = Api::start(handler, config(), options(limits)).await;
    let pad = "x".repeat(6000);
    let (status, first) = api
        .post("/run", json!({"input": {"wait": "release", "pad": pad}}))
        .await;
    assert_eq!(status, 200);
    control.next_seen().await;
    let (status, body) = api.post("/run", json!({"input": {"pad": pad}})).await;
    assert_eq!(status, 429, "{body}");
    let reason = body["error"].as_str().expect("a JSON reason");
    assert!(reason.contains("byte budget"), "{reason}");
    assert!(reason.contains("10000"), "{reason}");
    let (status, _) = api.get("/health").await;
    assert_eq!(status, 200, "health answers while the store is full");
    // Once the first job finishes, its input is no longer charged: the same job fits.
    control.release.notify_waiters();
    let (_, done) = api
        .post("/runsync", json!({"input": {"pad": "y".repeat(100)}}))
        .await;
    assert_eq!(done["status"], "COMPLETED");
    let first_id = first["id"].as_str().expect("id");
    assert_eq!(
        api.get(&format!("/status/{first_id}")).await.1["status"],
        "COMPLETED"
    );
    // The first job's result (its 6 kB echo) is kept until its TTL: the same big job is still
    // refused, a smaller one fits.
    let (status, body) = api.post("/run", json!({"input": {"pad": pad}})).await;
    assert_eq!(status, 429, "{body}");
    let (status, body) = api
        .post("/run", json!({"input": {"pad": "z".repeat(1000)}}))
        .await;
    assert_eq!(status, 200, "{body}");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_results_count_against_the_byte_budget_and_are_never_evicted_before_their_ttl() {
    let (handler, _control) = test_handler();
    let limits = ApiLimits {
        store_bytes: 10_000,
        result_ttl: Duration::from_secs(1800),
        ..quiet_limits()
    };
    let clock = ApiClock::default();
    let options = ApiOptions {
        limits,
        clock: clock.clone(),
        ..ApiOptions::default()
    };
    let api = Api::start(handler, config(), options).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (_, body) = api.post("/runsync", json!({"input": {"big": 4000}})).await;
        assert_eq!(body["status"], "COMPLETED");
        ids.push(body["id"].as_str().expect("id").to_owned());
    }
    // Three 4 kB results pass the 10 kB budget: all are kept (their clients are owed them),
    // and the next submission is refused until some expire.
    for id in &ids {
        let (status, body) = api.get(&format!("/status/{id}")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["output"].as_str().map(str::len), Some(4000));
    }
    let (status, body) = api.post("/run", json!({"input": 1})).await;
    assert_eq!(status, 429, "{body}");
    assert!(body["error"]
        .as_str()
        .expect("reason")
        .contains("byte budget"));
    clock.advance(Duration::from_secs(1800));
    assert_eq!(api.get(&format!("/status/{}", ids[0])).await.0, 404);
    let (status, body) = api.post("/runsync", json!({"input": 1})).await;
    assert_eq!(status, 200, "{body}");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_expire_after_thirty_minutes_by_default() {
    let (handler, _control) = test_handler();
    assert_eq!(
        ApiLimits::default().result_ttl,
        Duration::from_secs(30 * 60),
        "RunPod keeps /run results 30 minutes"
    );
    let clock = ApiClock::default();
    let options = ApiOptions {
        clock: clock.clone(),
        ..ApiOptions::default()
    };
    let api = Api::start(handler, config(), options).await;
    let (_, body) = api.post("/runsync", json!({"input": 1})).await;
    let id = body["id"].as_str().expect("id").to_owned();
    clock.advance(Duration::from_secs(29 * 60));
    let (status, body) = api.get(&format!("/status/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "COMPLETED");
    clock.advance(Duration::from_secs(60));
    let (status, body) = api.get(&format!("/status/{id}")).await;
    assert_eq!(status, 404, "{body}");
    let (_, health) = api.get("/health").await;
    assert_eq!(
        health["jobs"]["completed"], 0,
        "expired jobs leave the counts"
    );
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_jobs_do_not_expire() {
    let (handler, mut control) = test_handler();
    let clock = ApiClock::default();
    let options = ApiOptions {
        clock: clock.clone(),
        limits: quiet_limits(),
        ..ApiOptions::default()
    };
    let api = Api::start(handler, config(), options).await;
    let (_, body) = api
        .post("/run", json!({"input": {"wait": "release"}}))
        .await;
    let id = body["id"].as_str().expect("id").to_owned();
    control.next_seen().await;
    clock.advance(Duration::from_secs(2 * 3600));
    let (status, body) = api.get(&format!("/status/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "IN_PROGRESS");
    control.release.notify_waiters();
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_request_head_is_dropped_after_the_header_read_timeout() {
    let (handler, _control) = test_handler();
    let limits = ApiLimits {
        header_read_timeout: Duration::from_millis(200),
        ..quiet_limits()
    };
    let api = Api::start(handler, config(), options(limits)).await;
    let mut stream = api.connect().await;
    write(&mut stream, "GET /health HTTP/1.1\r\nHost: x\r\n").await;
    let answer = read_until_closed(&mut stream).await;
    assert!(!answer.contains("200 OK"), "{answer}");
    assert_eq!(api.get("/health").await.0, 200);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_after_the_idle_timeout() {
    let (handler, _control) = test_handler();
    let limits = ApiLimits {
        idle_timeout: Duration::from_millis(200),
        ..quiet_limits()
    };
    let api = Api::start(handler, config(), options(limits)).await;
    // A keep-alive connection after its request, and one that never sends a byte.
    let mut used = api.connect().await;
    write(&mut used, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let mut silent = api.connect().await;
    let answer = read_until_closed(&mut used).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert_eq!(read_until_closed(&mut silent).await, "");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_half_sent_requests_cannot_lock_out_health() {
    let (handler, _control) = test_handler();
    let limits = ApiLimits {
        max_connections: 4,
        ..quiet_limits()
    };
    let api = Api::start(handler, config(), options(limits)).await;
    let mut flood = Vec::new();
    for _ in 0..20 {
        let mut stream = api.connect().await;
        write(&mut stream, "GET /health HTTP/1.1\r\nHost: x\r\n").await;
        flood.push(stream);
    }
    let (status, health) = api.get("/health").await;
    assert_eq!(status, 200);
    assert_eq!(health["workers"]["idle"], 1);
    // The oldest half-sent connections were closed to make room ...
    assert_eq!(read_until_closed(&mut flood[0]).await, "");
    // ... and the newest is still served when it finishes its head.
    let last = flood.last_mut().expect("flood");
    write(last, "Connection: close\r\n\r\n").await;
    let answer = read_until_closed(last).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_cap_with_every_connection_busy_new_requests_get_503_and_health_answers() {
    let (handler, mut control) = test_handler();
    let limits = ApiLimits {
        max_connections: 2,
        max_overflow: 2,
        ..quiet_limits()
    };
    let mut config = config();
    config.concurrency = fixed(2);
    let api = Api::start(handler, config, options(limits)).await;
    // Two /runsync requests hold both connections until their jobs are released.
    let mut held = Vec::new();
    for _ in 0..2 {
        let client = fresh_client();
        let url = format!("{}/runsync", api.base);
        held.push(tokio::spawn(async move {
            client
                .post(url)
                .json(&json!({"input": {"wait": "release"}}))
                .send()
                .await
        }));
        control.next_seen().await;
    }
    let (status, body) = api.post("/run", json!({"input": 3})).await;
    assert_eq!(status, 503, "{body}");
    let reason = body["error"].as_str().expect("a JSON reason");
    assert!(reason.contains("too many open connections"), "{reason}");
    let (status, health) = api.get("/health").await;
    assert_eq!(status, 200, "health is answered past the cap");
    assert_eq!(health["jobs"]["inProgress"], 2);
    control.release.notify_waiters();
    for task in held {
        let response = tokio::time::timeout(WAIT, task)
            .await
            .expect("in time")
            .expect("no panic")
            .expect("answered");
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["status"], "COMPLETED");
    }
    let (status, _) = api.post("/run", json!({"input": 4})).await;
    assert_eq!(status, 200, "room again once the connections are free");
    api.stop().await;
}
