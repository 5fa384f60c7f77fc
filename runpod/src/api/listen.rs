//! The local API's accept loop: a cap on open connections, header-read and idle timeouts,
//! and a bounded drain on shutdown.
//!
//! - Each accepted connection is served by hyper's HTTP/1 server with `header_read_timeout`
//!   (a client that does not finish its request head in time is dropped).
//! - A connection with no request in flight for `idle_timeout` is closed (also one that never
//!   sends a byte).
//! - At most `max_connections` are served. When one more arrives, the least recently active
//!   *idle* connection (no request in flight: half-sent heads, idle keep-alives) is closed to
//!   make room, so a
//!   flood of half-sent requests cannot lock out `/health`. When every connection is busy, the
//!   new one goes to a small overflow lane served by `overflow` (the caller's `/health` and a
//!   503 with a JSON reason for anything else, `Connection: close`); past that lane it is
//!   closed at once. Nothing ever waits for a slot, so nothing wedges.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower_service::Service;

/// Connection limits of the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Connections served at once (the overflow lane is extra).
    pub max_connections: usize,
    /// Connections in the overflow lane at once.
    pub max_overflow: usize,
    /// Time to receive a whole request head.
    pub header_read_timeout: Duration,
    /// Time a connection may stay without a request in flight.
    pub idle_timeout: Duration,
    /// On shutdown, how long open connections may take to finish.
    pub drain_timeout: Duration,
}

/// One open connection, as the acceptor sees it.
struct Conn {
    /// Requests in flight.
    busy: AtomicUsize,
    /// Milliseconds since the loop started, at the last request start or end.
    last_active: AtomicU64,
    /// Closes the connection at once.
    kill: CancellationToken,
}

/// Open connections by accept order.
#[derive(Default)]
struct Conns {
    open: Mutex<BTreeMap<u64, Arc<Conn>>>,
}

impl Conns {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, Arc<Conn>>> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Marks a request in flight on its connection until dropped.
struct Busy {
    conn: Arc<Conn>,
    epoch: Instant,
}

impl Busy {
    fn new(conn: Arc<Conn>, epoch: Instant) -> Self {
        conn.busy.fetch_add(1, Ordering::SeqCst);
        conn.last_active
            .store(millis_since(epoch), Ordering::SeqCst);
        Busy { conn, epoch }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.conn
            .last_active
            .store(millis_since(self.epoch), Ordering::SeqCst);
        self.conn.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

fn millis_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Serves `app` on `listener` until `stop` is cancelled, then lets open connections finish
/// their requests for up to `drain_timeout` and closes the rest. `on_stop` runs once accepting
/// has stopped (the API cancels its jobs there, so waiting requests answer at once).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    overflow: Router,
    limits: ConnLimits,
    stop: CancellationToken,
    on_stop: impl FnOnce(),
) {
    let epoch = Instant::now();
    let conns = Arc::new(Conns::default());
    let overflow_open = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    let mut next_id = 0u64;
    loop {
        while tasks.try_join_next().is_some() {}
        let accepted = tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors or a connection reset before accept: back off a
                // moment instead of spinning; idle connections time out meanwhile.
                tracing::warn!(%error, "local API: accept failed");
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(50)) => continue,
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let id = next_id;
        next_id += 1;
        let admitted = {
            let mut open = conns.lock();
            if open.len() >= limits.max_connections {
                // The least recently active idle connection: a fresh one that has not sent
                // its request yet goes last.
                let victim = open
                    .iter()
                    .filter(|(_, conn)| conn.busy.load(Ordering::SeqCst) == 0)
                    .min_by_key(|(id, conn)| (conn.last_active.load(Ordering::SeqCst), **id))
                    .map(|(id, _)| *id);
                if let Some(victim) = victim.and_then(|victim| open.remove(&victim)) {
                    tracing::debug!(
                        "local API: connection cap reached, closing the oldest idle connection"
                    );
                    victim.kill.cancel();
                }
            }
            if open.len() < limits.max_connections {
                let conn = Arc::new(Conn {
                    busy: AtomicUsize::new(0),
                    last_active: AtomicU64::new(millis_since(epoch)),
                    kill: CancellationToken::new(),
                });
                open.insert(id, Arc::clone(&conn));
                Some(conn)
            } else {
                None
            }
        };
        match admitted {
            Some(conn) => {
                let conns = Arc::clone(&conns);
                let app = app.clone();
                let stop = stop.clone();
                tasks.spawn(async move {
                    serve_conn(stream, app, &conn, epoch, limits, stop, true).await;
                    conns.lock().remove(&id);
                });
            }
            None => {
                if overflow_open.load(Ordering::SeqCst) >= limits.max_overflow {
                    tracing::warn!(
                        max = limits.max_connections,
                        "local API: connection cap and overflow lane full, connection closed"
                    );
                    drop(stream);
                    continue;
                }
                overflow_open.fetch_add(1, Ordering::SeqCst);
                let overflow_open = Arc::clone(&overflow_open);
                let overflow = overflow.clone();
                let stop = stop.clone();
                tasks.spawn(async move {
                    let conn = Conn {
                        busy: AtomicUsize::new(0),
                        last_active: AtomicU64::new(millis_since(epoch)),
                        kill: CancellationToken::new(),
                    };
                    serve_conn(
                        stream,
                        overflow,
                        &Arc::new(conn),
                        epoch,
                        limits,
                        stop,
                        false,
                    )
                    .await;
                    overflow_open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        }
    }
    drop(listener);
    on_stop();
    let drained = tokio::time::timeout(limits.drain_timeout, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = tasks.len(),
            "local API: connections still open after the drain timeout, closed"
        );
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
}

/// Serves one connection until it ends, is killed, idles out, or (after `stop`) finishes its
/// request in flight.
async fn serve_conn(
    stream: TcpStream,
    app: Router,
    conn: &Arc<Conn>,
    epoch: Instant,
    limits: ConnLimits,
    stop: CancellationToken,
    keep_alive: bool,
) {
    let service = {
        let conn = Arc::clone(conn);
        hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let busy = Busy::new(Arc::clone(&conn), epoch);
            let mut app = app.clone();
            async move {
                let response = app.call(request.map(Body::new)).await;
                drop(busy);
                Ok::<_, Infallible>(match response {
                    Ok(response) => response,
                    Err(never) => match never {},
                })
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(keep_alive);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let idle = tokio::time::sleep(limits.idle_timeout);
    tokio::pin!(idle);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "local API: connection ended with an error");
                }
                return;
            }
            _ = conn.kill.cancelled() => return,
            _ = stop.cancelled(), if !stopping => {
                // An idle connection (half-sent head, idle keep-alive) closes now; a busy one
                // finishes its request first.
                if conn.busy.load(Ordering::SeqCst) == 0 {
                    return;
                }
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
            _ = idle.as_mut() => {
                let now = millis_since(epoch);
                if conn.busy.load(Ordering::SeqCst) > 0 {
                    idle.as_mut().reset(Instant::now() + limits.idle_timeout);
                    continue;
                }
                let last = conn.last_active.load(Ordering::SeqCst);
                let idle_for = Duration::from_millis(now.saturating_sub(last));
                if idle_for >= limits.idle_timeout {
                    tracing::debug!("local API: idle connection closed");
                    return;
                }
                idle.as_mut().reset(Instant::now() + (limits.idle_timeout - idle_for));
            }
        }
    }
}
