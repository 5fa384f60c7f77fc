//! A local API server on 127.0.0.1:0 with options, and raw-socket helpers, for the
//! `api_*` integration tests.

#![allow(dead_code)]

use std::sync::Arc;

use runpod::{ApiLimits, ApiOptions, WorkerConfig};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use crate::common::WAIT;

pub struct Api {
    pub base: String,
    pub addr: std::net::SocketAddr,
    /// A client that keeps no idle connections: every request opens its own.
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<Result<(), runpod::Error>>,
}

impl Api {
    pub async fn start<H: runpod::Handler>(
        handler: H,
        config: WorkerConfig,
        options: ApiOptions,
    ) -> Api {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(runpod::serve_with(
            Arc::new(handler),
            config,
            options,
            listener,
            async move {
                let _ = stopped.await;
            },
        ));
        Api {
            base: format!("http://{addr}"),
            addr,
            client: fresh_client(),
            stop: Some(stop),
            handle,
        }
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = tokio::time::timeout(WAIT, request.send())
            .await
            .expect("answer in time")
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.client.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(WAIT, self.handle)
            .await
            .expect("server stops")
            .expect("no panic")
            .expect("clean stop");
    }

    /// A raw TCP connection to the server.
    pub async fn connect(&self) -> TcpStream {
        TcpStream::connect(self.addr).await.expect("connect")
    }
}

pub fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client")
}

/// Writes `text` to a raw connection.
pub async fn write(stream: &mut TcpStream, text: &str) {
    stream.write_all(text.as_bytes()).await.expect("write");
}

/// Reads until the server closes the connection (or resets it); returns what came.
/// Panics if the connection is still open after [`WAIT`].
pub async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    tokio::time::timeout(WAIT, async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(count) => received.extend_from_slice(&buffer[..count]),
            }
        }
    })
    .await
    .expect("the server closes the connection");
    String::from_utf8_lossy(&received).into_owned()
}

/// Limits that never fire unless a test lowers one.
pub fn quiet_limits() -> ApiLimits {
    ApiLimits {
        store_bytes: 64 * 1024 * 1024,
        result_ttl: std::time::Duration::from_secs(3600),
        header_read_timeout: std::time::Duration::from_secs(3600),
        idle_timeout: std::time::Duration::from_secs(3600),
        max_connections: 64,
        max_overflow: 8,
        body_read_timeout: std::time::Duration::from_secs(3600),
    }
}

/// Options with these limits and nothing else.
pub fn options(limits: ApiLimits) -> ApiOptions {
    ApiOptions {
        limits,
        ..ApiOptions::default()
    }
}
