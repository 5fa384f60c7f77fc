//! A production worker running the real handler against `runpod::fake::FakeQueue`, shared by
//! the handler and hardening integration tests.

use std::sync::Arc;
use std::time::Duration;

use gemini3::handler::VectorizeHandler;
use runpod::fake::FakeQueue;
use serde_json::Value;

/// Bound on waiting for one job's result; tests wait for events, this only stops a broken
/// build from hanging CI.
const RESULT_WAIT: Duration = Duration::from_secs(180);

/// A running production worker against a fake queue; [`Worker::finish`] stops it.
pub struct Worker {
    pub queue: FakeQueue,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), runpod::Error>>>,
}

impl Worker {
    pub fn start(handler: Arc<VectorizeHandler>, config: runpod::WorkerConfig) -> Worker {
        let queue = FakeQueue::start().unwrap();
        let env = runpod::RunpodEnv::from_vars(queue.env()).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(runpod::run_production(handler, config, env, async move {
            let _ = stopped.await;
        }));
        Worker {
            queue,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub async fn result(&self, id: &str) -> Value {
        self.queue
            .wait_result(id, RESULT_WAIT)
            .await
            .expect("a result arrives")
    }

    pub async fn finish(mut self) {
        let _ = self.stop.take().unwrap().send(());
        let result = self.task.take().unwrap().await.unwrap();
        assert!(result.is_ok(), "{result:?}");
    }
}

/// The error report inside a result's `error` string.
pub fn error_report(result: &Value) -> Value {
    let text = result["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error in {result}"));
    serde_json::from_str(text).unwrap()
}
