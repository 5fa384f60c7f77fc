//! What a request must be before the API reads it: the API key, or without one a browser
//! guard (no web page may drive a keyless server), and job bodies read under the store's
//! byte budget, the body limit and the body-read timeout.

use std::sync::Arc;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::IntoResponse;
use axum::Router;

use super::store::Store;
use super::{ApiError, ApiJob, ApiState};

pub(super) fn with_key(router: Router, key: Option<Arc<str>>) -> Router {
    let Some(key) = key else {
        return router.layer(axum::middleware::from_fn(
            |request: Request, next: Next| async move {
                // `/health` says nothing a page could misuse, and always answers.
                if request.uri().path().ends_with("/health") {
                    return next.run(request).await;
                }
                match browser_guard(request.headers()) {
                    Ok(()) => next.run(request).await,
                    Err(error) => error.into_response(),
                }
            },
        ));
    };
    router.layer(axum::middleware::from_fn(
        move |request: Request, next: Next| {
            let key = Arc::clone(&key);
            async move {
                if authorized(request.headers(), &key) {
                    next.run(request).await
                } else {
                    ApiError::Unauthorized.into_response()
                }
            }
        },
    ))
}

/// A keyless API must not be driven by a web page: a foreign `Origin` (a cross-site form or
/// `fetch`, which a browser sends without asking) and a `Host` that is a DNS name other than
/// `localhost` (DNS rebinding: a foreign name resolving to 127.0.0.1) are refused.
pub(super) fn browser_guard(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let host = headers
        .get(axum::http::header::HOST)
        .map(|value| value.to_str().unwrap_or("").trim().to_ascii_lowercase());
    if let Some(host) = &host {
        if !is_local_host_header(host) {
            return Err(ApiError::Forbidden(format!(
                "Host {host:?} is not localhost or an IP address; a keyless local API answers \
                 only those (start it with an API key to serve other names)"
            )));
        }
    }
    if let Some(origin) = headers.get(axum::http::header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("").trim().to_ascii_lowercase();
        let own = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .zip(host.as_deref())
            .is_some_and(|(origin_host, host)| origin_host == host);
        if !own {
            return Err(ApiError::Forbidden(format!(
                "Origin {origin:?} is not this server's own; a keyless local API refuses web pages \
                 of other origins (start it with an API key to allow scripted clients)"
            )));
        }
    }
    Ok(())
}

/// `localhost` or an IP literal, with an optional port (`127.0.0.1:8000`, `[::1]:8000`).
fn is_local_host_header(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((inside, tail)) if tail.is_empty() || tail.starts_with(':') => inside,
            _ => return false,
        }
    } else {
        host.rsplit_once(':')
            .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
            .map_or(host, |(name, _)| name)
    };
    name == "localhost" || name.parse::<std::net::IpAddr>().is_ok()
}

/// `Authorization: Bearer KEY` or the raw key, as RunPod accepts; compared in constant time.
pub(super) fn authorized(headers: &axum::http::HeaderMap, key: &str) -> bool {
    let Some(value) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let value = value.trim();
    let given = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => value,
    };
    constant_time_eq(given.as_bytes(), key.as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (index, byte) in b.iter().enumerate() {
        diff |= usize::from(a.get(index).copied().unwrap_or(0) ^ byte);
    }
    diff == 0
}

/// A request body charged to the store while it arrives; the charge is given back on drop
/// unless it became a job's ([`submit`]).
pub(super) struct ChargedBody<'a, T: Clone> {
    store: &'a Store<T>,
    pub(super) bytes: Vec<u8>,
    pub(super) charged: usize,
}

impl<T: Clone> Drop for ChargedBody<'_, T> {
    fn drop(&mut self) {
        self.store.release_incoming(self.charged);
    }
}

/// Reads a job body: `application/json` only (415), at most `api_body_limit` bytes (413, at
/// once from its `Content-Length`), within `body_read_timeout` (408), every byte charged to
/// the store's budget as it arrives (429 when there is no room).
pub(super) async fn read_job_body<H>(
    state: &ApiState<H>,
    request: Request,
) -> Result<ChargedBody<'_, Arc<ApiJob>>, ApiError> {
    let limit = state.config.api_body_limit;
    let (parts, body) = request.into_parts();
    let content_type = parts
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let is_json = content_type.as_deref().is_some_and(|value| {
        value
            .split(';')
            .next()
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
    });
    if !is_json {
        return Err(ApiError::NotJson(content_type.unwrap_or_default()));
    }
    let declared = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.trim().parse::<u64>());
    let mut charged = ChargedBody {
        store: &state.store,
        bytes: Vec::new(),
        charged: 0,
    };
    if let Some(declared) = declared {
        let declared = declared
            .map_err(|_| ApiError::BadRequest("Content-Length is not a number".to_owned()))?;
        if declared > limit as u64 {
            return Err(ApiError::TooLarge { limit });
        }
        // The whole declared body is charged up front: a stalled upload holds what it claims.
        let declared = declared as usize;
        state
            .store
            .charge_incoming(declared)
            .map_err(ApiError::Full)?;
        charged.charged = declared;
        charged.bytes.reserve_exact(declared);
    }
    let read = async {
        let mut stream = body.into_data_stream();
        while let Some(chunk) = futures_util::StreamExt::next(&mut stream).await {
            let chunk = chunk.map_err(|error| {
                ApiError::BadRequest(format!("request body could not be read: {error}"))
            })?;
            let total = charged.bytes.len() + chunk.len();
            if total > limit {
                return Err(ApiError::TooLarge { limit });
            }
            if total > charged.charged {
                let more = total - charged.charged;
                state.store.charge_incoming(more).map_err(ApiError::Full)?;
                charged.charged += more;
            }
            charged.bytes.extend_from_slice(&chunk);
        }
        Ok(())
    };
    match tokio::time::timeout(state.body_read_timeout, read).await {
        Ok(Ok(())) => Ok(charged),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(ApiError::BodyTimeout(state.body_read_timeout)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::AUTHORIZATION,
            HeaderValue::from_str(value).expect("header"),
        );
        headers
    }

    #[test]
    fn the_key_is_accepted_as_bearer_or_raw_and_nothing_else() {
        assert!(authorized(&headers("Bearer s3cret"), "s3cret"));
        assert!(authorized(&headers("bearer s3cret"), "s3cret"));
        assert!(authorized(&headers("s3cret"), "s3cret"));
        assert!(!authorized(&headers("Bearer s3cre"), "s3cret"));
        assert!(!authorized(&headers("Bearer s3cretx"), "s3cret"));
        assert!(!authorized(&headers("Basic s3cret"), "s3cret"));
        assert!(!authorized(&HeaderMap::new(), "s3cret"));
    }
}
