//! The local API under RunPod's cloud paths (`/v2/{endpoint_id}/…`) with the cloud JSON
//! shapes, `/purge-queue`, the API key, and extra (playground) routes beside the API.

mod api_support;
mod common;

use api_support::*;
use common::*;
use runpod::ApiOptions;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runsync_under_the_cloud_path_answers_the_cloud_shape() {
    let (handler, _control) = test_handler();
    let api = Api::start(handler, config(), ApiOptions::default()).await;
    let (status, body) = api
        .post("/v2/my-endpoint/runsync", json!({"input": {"x": 1}}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "COMPLETED");
    assert_eq!(body["output"], json!({"echo": {"x": 1}, "extra": {}}));
    assert!(body["id"].as_str().expect("id").starts_with("sync-"));
    assert!(body["delayTime"].is_u64(), "{body}");
    assert!(body["executionTime"].is_u64(), "{body}");
    let (_, failed) = api
        .post(
            "/v2/my-endpoint/runsync",
            json!({"input": {"fail": "palette: bad"}}),
        )
        .await;
    assert_eq!(failed["status"], "FAILED");
    assert!(
        failed["error"].is_string(),
        "the cloud API's error is a string"
    );
    assert_eq!(error_report(&failed)["error_type"], "InvalidInput");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_status_stream_cancel_and_health_work_under_the_cloud_paths() {
    let (handler, mut control) = test_handler();
    let api = Api::start(handler, config(), ApiOptions::default()).await;
    let (status, queued) = api
        .post("/v2/ep/run", json!({"input": {"wait": "cancel"}}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(queued["status"], "IN_QUEUE");
    let id = queued["id"].as_str().expect("id").to_owned();
    control.next_seen().await;
    let (status, body) = api.get(&format!("/v2/ep/status/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["status"], "IN_PROGRESS");
    let (status, body) = api.get(&format!("/v2/ep/stream/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "IN_PROGRESS");
    assert_eq!(body["stream"], json!([]));
    let (_, health) = api.get("/v2/ep/health").await;
    assert_eq!(health["jobs"]["inProgress"], 1);
    assert_eq!(health["workers"]["running"], 1);
    let (status, body) = api.post(&format!("/v2/ep/cancel/{id}"), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"id": id, "status": "CANCELLED"}));
    assert!(control.was_cancelled(&id));
    let (status, body) = api.get(&format!("/v2/ep/status/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "CANCELLED");
    assert_eq!(api.get("/v2/ep/status/nope").await.0, 404);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_queue_cancels_queued_jobs_only() {
    let (handler, mut control) = test_handler();
    let api = Api::start(handler, config(), ApiOptions::default()).await;
    let (_, running) = api
        .post("/v2/ep/run", json!({"input": {"wait": "release"}}))
        .await;
    control.next_seen().await;
    let mut queued = Vec::new();
    for index in 0..2 {
        let (_, body) = api.post("/run", json!({"input": index})).await;
        queued.push(body["id"].as_str().expect("id").to_owned());
    }
    let (status, body) = api.post("/v2/ep/purge-queue", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"removed": 2, "status": "completed"}));
    for id in &queued {
        assert_eq!(
            api.get(&format!("/status/{id}")).await.1["status"],
            "CANCELLED"
        );
    }
    let running_id = running["id"].as_str().expect("id");
    assert_eq!(
        api.get(&format!("/status/{running_id}")).await.1["status"],
        "IN_PROGRESS"
    );
    control.release.notify_waiters();
    assert_eq!(api.post("/purge-queue", json!({})).await.1["removed"], 0);
    api.stop().await;
}

async fn status_with_auth(api: &Api, path: &str, auth: Option<&str>) -> (u16, Value) {
    let mut request = api.client.get(format!("{}{path}", api.base));
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    api.send(request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_api_key_every_api_route_needs_it_as_bearer_or_raw() {
    let (handler, _control) = test_handler();
    let extra = axum::Router::new().route("/", axum::routing::get(|| async { "playground" }));
    let options = ApiOptions {
        api_key: Some("k3y-secret".to_owned()),
        extra: Some(extra),
        ..ApiOptions::default()
    };
    let api = Api::start(handler, config(), options).await;
    for path in ["/health", "/v2/ep/health"] {
        let (status, body) = status_with_auth(&api, path, None).await;
        assert_eq!(status, 401, "{path}");
        assert!(body["error"].as_str().expect("reason").contains("API key"));
        assert_eq!(
            status_with_auth(&api, path, Some("Bearer wrong")).await.0,
            401
        );
        assert_eq!(status_with_auth(&api, path, Some("k3y-secre")).await.0, 401);
        assert_eq!(
            status_with_auth(&api, path, Some("Bearer k3y-secret"))
                .await
                .0,
            200
        );
        assert_eq!(
            status_with_auth(&api, path, Some("k3y-secret")).await.0,
            200
        );
    }
    let (status, _) = api.post("/v2/ep/run", json!({"input": 1})).await;
    assert_eq!(status, 401, "a job without the key is refused");
    let (status, body) = api
        .send(
            api.client
                .post(format!("{}/v2/ep/runsync", api.base))
                .bearer_auth("k3y-secret")
                .json(&json!({"input": 1})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "COMPLETED");
    // The extra routes are served without the key; unknown paths get a JSON 404.
    let page = api
        .client
        .get(format!("{}/", api.base))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status().as_u16(), 200);
    assert_eq!(page.text().await.expect("text"), "playground");
    let (status, body) = api.get("/nowhere").await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().expect("reason").contains("/nowhere"));
    api.stop().await;
}
