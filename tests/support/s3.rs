//! A real S3-compatible server on loopback for the delivery tests: `s3s-fs` (objects as files
//! in a temporary folder) behind `s3s`'s protocol layer with one access key, so every request's
//! SigV4 signature (and every presigned URL's) is checked; served by hyper on 127.0.0.1:0.
//! Also a stalled server that accepts connections and never answers.

#![allow(dead_code)]

use std::net::SocketAddr;

use hyper_util::rt::TokioIo;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;

/// The only access key the server accepts.
pub const ACCESS_KEY: &str = "GEMINI3TESTKEY";
/// Its secret; tests assert it never appears in a log line, an error or a result.
pub const SECRET: &str = "loopback-secret-7f3a9c1e5b";
/// The bucket that exists.
pub const BUCKET: &str = "outputs";

/// A running server; stops when dropped.
pub struct S3Server {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    root: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl S3Server {
    /// Starts the server with one bucket, [`BUCKET`].
    pub async fn start() -> S3Server {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join(BUCKET)).unwrap();
        let filesystem = s3s_fs::FileSystem::new(root.path()).unwrap();
        let mut builder = S3ServiceBuilder::new(filesystem);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET));
        let service = builder.build().into_shared();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let service = service.clone();
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        S3Server {
            endpoint: format!("http://{address}"),
            root,
            task,
        }
    }

    /// The stored object's bytes, read from the server's folder.
    pub fn stored(&self, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.root.path().join(BUCKET).join(key)).ok()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A server that accepts connections and never answers; `accepted` yields once per
/// connection accepted (the sockets stay open until the server is dropped).
pub struct StalledServer {
    /// Its address.
    pub address: SocketAddr,
    /// One message per accepted connection.
    pub accepted: tokio::sync::mpsc::UnboundedReceiver<()>,
    task: tokio::task::JoinHandle<()>,
}

impl StalledServer {
    /// Starts listening on loopback.
    pub async fn start() -> StalledServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (sender, accepted) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
                let _ = sender.send(());
            }
        });
        StalledServer {
            address,
            accepted,
            task,
        }
    }
}

impl Drop for StalledServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
