//! The local API, hardening round three (issue 21): request bodies inside the store's byte
//! budget while they arrive, early 413s and body timeouts, an overflow lane that never waits on
//! a body, a keyless server no web page can drive, and a job's slot held until its work stops.
//! Each drives a real loopback server.

mod api_support;
mod common;

use std::time::Duration;

use api_support::*;
use common::*;
use runpod::ApiLimits;
use serde_json::json;
use tokio::io::AsyncReadExt;

/// Reads one HTTP response head (up to the blank line) from a raw connection.
async fn read_head(stream: &mut tokio::net::TcpStream) -> String {
    let mut received = Vec::new();
    let mut byte = [0u8; 1];
    tokio::time::timeout(WAIT, async {
        while !received.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte).await {
                Ok(0) | Err(_) => break,
                Ok(_) => received.push(byte[0]),
            }
        }
    })
    .await
    .expect("a response head in time");
    String::from_utf8_lossy(&received).into_owned()
}

/// A `/run` head announcing `length` bytes of JSON, and `sent` of them.
fn partial_run(length: usize, sent: usize) -> String {
    format!(
        "POST /run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\n\r\n{}",
        "{".repeat(sent)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_request_bodies_count_against_the_store_budget() {
    let (handler, _control) = test_handler();
    let api = Api::start(
        handler,
        config(),
        options(ApiLimits {
            store_bytes: 10_000,
            ..quiet_limits()
        }),
    )
    .await;
    // Two uploads that stall after a few bytes hold the 8000 bytes they announced ...
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let mut stream = api.connect().await;
        write(&mut stream, &partial_run(4000, 10)).await;
        stalled.push(stream);
    }
    // (Once both are being read, a 2500-byte body no longer fits: until then it is read and
    // refused as bad JSON, 400, which keeps nothing.)
    let mut refused = false;
    for _ in 0..1000 {
        let (status, _) = api
            .send(
                api.client
                    .post(format!("{}/run", api.base))
                    .header("content-type", "application/json")
                    .body("x".repeat(2500)),
            )
            .await;
        if status == 429 {
            refused = true;
            break;
        }
        assert_eq!(status, 400);
        tokio::task::yield_now().await;
    }
    assert!(refused, "the stalled bodies are charged");
    // ... a job that does not fit beside them is refused ...
    let (status, body) = api
        .post("/run", json!({"input": {"pad": "x".repeat(2500)}}))
        .await;
    assert_eq!(status, 429, "{body}");
    assert!(body["error"]
        .as_str()
        .expect("reason")
        .contains("byte budget"));
    // ... and so is a third upload, from its Content-Length, before it sends its body.
    let mut third = api.connect().await;
    write(&mut third, &partial_run(4000, 0)).await;
    let head = read_head(&mut third).await;
    assert!(head.starts_with("HTTP/1.1 429"), "{head}");
    // Once the stalled uploads go away, their charge is given back.
    drop(stalled);
    let mut accepted = false;
    for _ in 0..200 {
        let (status, _) = api.post("/run", json!({"input": 1})).await;
        if status == 200 {
            accepted = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(accepted, "the stalled bodies' charge was given back");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_content_length_over_the_limit_is_refused_at_once_and_a_huge_chunk_is_400() {
    let (handler, _control) = test_handler();
    let api = Api::start(handler, config(), options(quiet_limits())).await;
    let mut stream = api.connect().await;
    write(&mut stream, &partial_run(999_999_999_999, 0)).await;
    let head = read_head(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    // A chunk size of 2^64 cannot be read: a prompt 400 (or a closed connection), not a hang.
    let mut stream = api.connect().await;
    write(
        &mut stream,
        "POST /run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\n{",
    )
    .await;
    let answer = read_until_closed(&mut stream).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 400"),
        "{answer}"
    );
    assert_eq!(api.get("/health").await.0, 200);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_does_not_arrive_in_time_is_answered_408() {
    let (handler, _control) = test_handler();
    let api = Api::start(
        handler,
        config(),
        options(ApiLimits {
            body_read_timeout: Duration::from_millis(200),
            ..quiet_limits()
        }),
    )
    .await;
    let mut stream = api.connect().await;
    write(&mut stream, &partial_run(100, 5)).await;
    let head = read_head(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overflow_lane_never_waits_on_a_body_and_health_answers() {
    let (handler, mut control) = test_handler();
    let mut config = config();
    config.concurrency = fixed(2);
    let api = Api::start(
        handler,
        config,
        options(ApiLimits {
            max_connections: 2,
            max_overflow: 2,
            ..quiet_limits()
        }),
    )
    .await;
    // Two /runsync requests hold both served connections until their jobs are released.
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
    // Unfinished bodies in the overflow lane are answered 503 at once, and closed: they
    // cannot fill the lane.
    for _ in 0..6 {
        let mut stream = api.connect().await;
        write(&mut stream, &partial_run(1000, 1)).await;
        let answer = read_until_closed(&mut stream).await;
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 503"),
            "{answer}"
        );
    }
    let (status, _) = api.get("/health").await;
    assert_eq!(status, 200, "health answers past the cap");
    control.release.notify_waiters();
    for task in held {
        let _ = tokio::time::timeout(WAIT, task).await;
    }
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyless_server_takes_only_json_from_its_own_origin_and_host() {
    let (handler, _control) = test_handler();
    let api = Api::start(handler, config(), options(quiet_limits())).await;
    let url = format!("{}/runsync", api.base);
    let body = r#"{"input": 1}"#;
    // Simple requests a browser sends cross-site without a preflight.
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let (status, answer) = api
            .send(
                api.client
                    .post(&url)
                    .header("content-type", content_type)
                    .body(body),
            )
            .await;
        assert_eq!(status, 415, "{content_type}: {answer}");
        assert!(answer["error"]
            .as_str()
            .expect("reason")
            .contains("application/json"));
    }
    let (status, _) = api.send(api.client.post(&url).body(body)).await;
    assert_eq!(status, 415, "no content type");
    let json = |request: reqwest::RequestBuilder| {
        request
            .header("content-type", "application/json")
            .body(body)
    };
    // A foreign page, and a DNS-rebinding name.
    let (status, answer) = api
        .send(json(
            api.client
                .post(&url)
                .header("origin", "https://evil.example"),
        ))
        .await;
    assert_eq!(status, 403, "{answer}");
    assert!(answer["error"].as_str().expect("reason").contains("Origin"));
    let (status, _) = api
        .send(
            api.client
                .post(format!("{}/purge-queue", api.base))
                .header("origin", "null"),
        )
        .await;
    assert_eq!(status, 403);
    let (status, answer) = api
        .send(json(
            api.client
                .post(&url)
                .header("host", "rebind.evil.example:8000"),
        ))
        .await;
    assert_eq!(status, 403, "{answer}");
    assert!(answer["error"].as_str().expect("reason").contains("Host"));
    // The server's own page (the playground), and scripts without an Origin, are served.
    let own = format!("http://{}", api.addr);
    let (status, answer) = api
        .send(json(api.client.post(&url).header("origin", own)))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "COMPLETED");
    let (status, _) = api
        .send(json(
            api.client
                .post(&url)
                .header("host", format!("localhost:{}", api.addr.port())),
        ))
        .await;
    assert_eq!(status, 200);
    // No CORS headers are sent.
    let response = api
        .client
        .get(format!("{}/health", api.base))
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("health");
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_past_its_deadline_holds_its_slot_until_its_work_stops() {
    let (handler, control) = test_handler();
    let mut config = config();
    config.job_deadline = runpod::config::MIN_JOB_DEADLINE;
    // Longer than the test: the slot comes back because the work stopped, not by time.
    config.deadline_grace = Duration::from_secs(3600);
    let api = Api::start(handler, config, options(quiet_limits())).await;
    let (_, stuck) = api
        .post("/runsync?wait=60000", json!({"input": {"wait": "stuck"}}))
        .await;
    assert_eq!(stuck["status"], "TIMED_OUT", "{stuck}");
    // Answered, but its blocking work goes on: the slot is still taken ...
    let (_, health) = api.get("/health").await;
    assert_eq!(health["workers"]["running"], 1, "{health}");
    assert_eq!(health["workers"]["idle"], 0, "{health}");
    // ... so the next job waits in the queue instead of running on top of it.
    let next = {
        let client = fresh_client();
        let url = format!("{}/runsync?wait=60000", api.base);
        tokio::spawn(async move {
            client
                .post(url)
                .json(&json!({"input": 7}))
                .send()
                .await
                .expect("runsync")
                .json::<serde_json::Value>()
                .await
                .expect("json")
        })
    };
    let mut queued = false;
    for _ in 0..1000 {
        let (_, health) = api.get("/health").await;
        if health["jobs"]["inQueue"] == 1 {
            queued = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(queued, "the next job is queued");
    let (_, health) = api.get("/health").await;
    assert_eq!(health["jobs"]["inProgress"], 0, "{health}");
    // The work stops: the queued job runs.
    drop(control.stuck_release);
    let done = tokio::time::timeout(WAIT, next)
        .await
        .expect("the next job ran")
        .expect("no panic");
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(done["output"]["echo"], 7);
    api.stop().await;
}
