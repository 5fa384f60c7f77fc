//! `image_url` downloads under RunPod's own rules (its SDK's `rp_ssrf`): http and https only;
//! the host must resolve only to public addresses (no loopback, private, link-local, CGNAT,
//! unique-local or metadata addresses) unless private downloads are allowed; the connection is
//! pinned to the address that was checked (no second DNS answer can swap it); redirects are
//! followed by hand, at most five, each re-checked; proxies are never used; the size cap is
//! enforced from `Content-Length` and again while streaming; the whole download has a timeout.
//!
//! An IPv6 address that embeds an IPv4 address (IPv4-mapped, IPv4-compatible, SIIT, 6to4,
//! NAT64, Teredo) is judged by the IPv4 address it leads to. Credentials in a URL
//! (`user:pass@`) never appear in an error or a log line: every URL shown goes through
//! [`redact_url`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use futures_util::StreamExt;

/// Redirects followed at most (RunPod's SDK follows five).
pub const MAX_REDIRECTS: usize = 5;

/// Why a download was refused or failed. Every message names `image_url` and the value.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// Not a URL, or not http/https.
    #[error("image_url: {url:?} {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The host resolves to an address that is not public.
    #[error("image_url: {url:?} resolves to {address}, which is not a public address (set RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS=1 to allow private addresses)")]
    PrivateAddress {
        /// The URL.
        url: String,
        /// The refused address.
        address: IpAddr,
    },
    /// DNS failed.
    #[error("image_url: cannot resolve the host of {url:?}: {reason}")]
    Resolve {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// More than [`MAX_REDIRECTS`] redirects.
    #[error("image_url: {url:?} redirects more than {MAX_REDIRECTS} times")]
    TooManyRedirects {
        /// The URL.
        url: String,
    },
    /// The server answered with an error status.
    #[error("image_url: {url:?} answered HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The body is larger than allowed.
    #[error("image_url: {url:?} is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The download took longer than allowed.
    #[error("image_url: {url:?} did not download within {timeout:?}")]
    Timeout {
        /// The URL.
        url: String,
        /// The limit.
        timeout: Duration,
    },
    /// Connection or protocol failure.
    #[error("image_url: downloading {url:?} failed: {reason}")]
    Transport {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
}

/// Download rules.
#[derive(Debug, Clone, Copy)]
pub struct DownloadPolicy {
    /// Largest body accepted, bytes.
    pub max_bytes: u64,
    /// Whole-download timeout, redirects included.
    pub timeout: Duration,
    /// `RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS`: private addresses allowed.
    pub allow_private: bool,
}

/// Whether an address is globally routable (not loopback, private, link-local, CGNAT,
/// unique-local, documentation, multicast or otherwise reserved). An IPv6 address that
/// embeds IPv4 addresses is public only when every IPv4 address it may lead to is.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(embedded) = embedded_ipv4(v6) {
                return embedded.iter().all(|v4| is_public_v4(*v4));
            }
            let segments = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (segments[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (segments[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (segments[0] & 0xffc0) == 0xfec0 // site-local fec0::/10
                || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
                || (segments[0] == 0x0100 && segments[1..4] == [0, 0, 0]) // discard 100::/64
                || (segments[0] == 0x2001 && segments[1] == 0x0002 && segments[2] == 0) // benchmarking 2001:2::/48
                || segments[..3] == [0x64, 0xff9b, 0x0001] // local-use NAT64 outside its /96 form
                || v6 == Ipv6Addr::UNSPECIFIED)
        }
    }
}

/// The IPv4 addresses an IPv6 address leads to, when it embeds any; `None` for a native
/// IPv6 address.
///
/// - `::ffff:a.b.c.d` (IPv4-mapped) and `::ffff:0:a.b.c.d` (SIIT, IPv4-translated);
/// - `::a.b.c.d` (IPv4-compatible, deprecated; `::` and `::1` land on 0.0.0.0 and 0.0.0.1,
///   neither of which is public);
/// - `2002:aabb:ccdd::/16` (6to4): the IPv4 address is bits 16..48;
/// - `64:ff9b::/96` (well-known NAT64 prefix): the last 32 bits;
/// - `64:ff9b:1::/96`, the /96 form of the local-use NAT64 prefix (RFC 8215): the last 32
///   bits. Elsewhere in `64:ff9b:1::/48` the operator may use a /48, /56 or /64 translation
///   prefix, each placing the IPv4 address differently (RFC 6052 §2.2), so the address is
///   ambiguous: those are not embeddings here, and [`is_public`] refuses them (the prefix is
///   not globally reachable);
/// - `2001:0::/32` (Teredo): the client address is the last 32 bits inverted, the server
///   address bits 32..64; both are returned.
pub fn embedded_ipv4(v6: Ipv6Addr) -> Option<Vec<Ipv4Addr>> {
    let s = v6.segments();
    let o = v6.octets();
    let v4 = |bytes: [u8; 4]| Ipv4Addr::from(bytes);
    let last = v4([o[12], o[13], o[14], o[15]]);
    if s[..5] == [0, 0, 0, 0, 0] && (s[5] == 0 || s[5] == 0xffff) {
        // ::/96 (compatible), ::ffff:0:0/96 (mapped).
        return Some(vec![last]);
    }
    if s[..5] == [0, 0, 0, 0, 0xffff] && s[5] == 0 {
        // ::ffff:0:0:0/96 (SIIT).
        return Some(vec![last]);
    }
    if s[0] == 0x2002 {
        return Some(vec![v4([o[2], o[3], o[4], o[5]])]);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(vec![last]);
    }
    if s[..6] == [0x64, 0xff9b, 0x0001, 0, 0, 0] {
        return Some(vec![last]);
    }
    if s[..2] == [0x2001, 0] {
        let client = v4([!o[12], !o[13], !o[14], !o[15]]);
        let server = v4([o[4], o[5], o[6], o[7]]);
        return Some(vec![client, server]);
    }
    None
}

/// `url` with any user name and password replaced by `***`, for errors and logs: the
/// runtime's one implementation.
pub use runpod::redact_url;

fn shown(url: &reqwest::Url) -> String {
    redact_url(url.as_str())
}

fn is_public_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    !(v4.is_private()
        || v4.is_loopback()
        || v4.is_link_local() // includes 169.254.169.254, the cloud metadata address
        || v4.is_broadcast()
        || v4.is_multicast()
        || v4.is_unspecified()
        || v4.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64.0.0/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

/// Downloads `url` under `policy`.
pub async fn download(url: &str, policy: &DownloadPolicy) -> Result<Vec<u8>, DownloadError> {
    match tokio::time::timeout(policy.timeout, download_inner(url, policy)).await {
        Ok(result) => result,
        Err(_) => Err(DownloadError::Timeout {
            url: redact_url(url),
            timeout: policy.timeout,
        }),
    }
}

async fn download_inner(url: &str, policy: &DownloadPolicy) -> Result<Vec<u8>, DownloadError> {
    let original = redact_url(url);
    let mut current = parse(url)?;
    for _ in 0..=MAX_REDIRECTS {
        let address = checked_address(&current, policy).await?;
        let host = current.host_str().unwrap_or_default().to_owned();
        // One client per hop, pinned to the checked address, without proxies or automatic
        // redirects: every hop is checked here.
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .resolve(&host, address)
            .timeout(policy.timeout)
            .user_agent(concat!("gemini3/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| transport(&original, error))?;
        let response = client
            .get(current.clone())
            .send()
            .await
            .map_err(|error| transport(&original, error))?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|value| value.to_str().ok())
                .ok_or_else(|| DownloadError::BadUrl {
                    url: original.clone(),
                    reason: format!("redirects ({status}) without a Location"),
                })?;
            current = current
                .join(location)
                .map_err(|error| DownloadError::BadUrl {
                    url: redact_url(location),
                    reason: format!("is not a valid redirect target: {error}"),
                })?;
            check_scheme(&current)?;
            continue;
        }
        if !status.is_success() {
            return Err(DownloadError::Status {
                url: original,
                status: status.as_u16(),
            });
        }
        if response
            .content_length()
            .is_some_and(|length| length > policy.max_bytes)
        {
            return Err(DownloadError::TooLarge {
                url: original,
                limit: policy.max_bytes,
            });
        }
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|error| transport(&original, error))?;
            if body.len() as u64 + chunk.len() as u64 > policy.max_bytes {
                return Err(DownloadError::TooLarge {
                    url: original,
                    limit: policy.max_bytes,
                });
            }
            body.extend_from_slice(&chunk);
        }
        return Ok(body);
    }
    Err(DownloadError::TooManyRedirects { url: original })
}

/// A transport failure, with its causes but without the URL reqwest would put in it (the
/// caller names the redacted URL).
fn transport(url: &str, error: reqwest::Error) -> DownloadError {
    let error = error.without_url();
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    DownloadError::Transport {
        url: url.to_owned(),
        reason,
    }
}

fn parse(url: &str) -> Result<reqwest::Url, DownloadError> {
    let parsed = reqwest::Url::parse(url).map_err(|error| DownloadError::BadUrl {
        url: redact_url(url),
        reason: format!("is not a valid URL: {error}"),
    })?;
    check_scheme(&parsed)?;
    Ok(parsed)
}

fn check_scheme(url: &reqwest::Url) -> Result<(), DownloadError> {
    runpod::check_web_url(url).map_err(|error| DownloadError::BadUrl {
        url: shown(url),
        reason: error.to_string(),
    })
}

/// Why [`resolve_checked`] refused a URL's host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// DNS failed or gave no answer.
    #[error("cannot resolve the host: {reason}")]
    Resolve {
        /// Why.
        reason: String,
    },
    /// The host resolves to an address that is not public.
    #[error("resolves to {address}, which is not a public address")]
    Private {
        /// The refused address.
        address: IpAddr,
    },
}

/// The address policy of `image_url`, for every URL a job names (`image_url`, a job's
/// `s3Config.endpointUrl`): resolves the URL's host and returns the address to connect to.
/// Every address it resolves to must be public unless `allow_private`
/// (`RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS`); a host with one private answer is refused
/// outright, as RunPod does. Callers pin their connection to the returned address.
pub async fn resolve_checked(
    url: &reqwest::Url,
    allow_private: bool,
) -> Result<SocketAddr, AddressError> {
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(80);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((bare, port))
            .await
            .map_err(|error| AddressError::Resolve {
                reason: error.to_string(),
            })?
            .collect(),
    };
    let first = *addresses.first().ok_or_else(|| AddressError::Resolve {
        reason: "no addresses".to_owned(),
    })?;
    if !allow_private {
        if let Some(refused) = addresses.iter().find(|a| !is_public(a.ip())) {
            return Err(AddressError::Private {
                address: refused.ip(),
            });
        }
    }
    Ok(first)
}

/// [`resolve_checked`] under a download policy, its refusal named as an `image_url` error.
async fn checked_address(
    url: &reqwest::Url,
    policy: &DownloadPolicy,
) -> Result<SocketAddr, DownloadError> {
    resolve_checked(url, policy.allow_private)
        .await
        .map_err(|error| match error {
            AddressError::Resolve { reason } => DownloadError::Resolve {
                url: shown(url),
                reason,
            },
            AddressError::Private { address } => DownloadError::PrivateAddress {
                url: shown(url),
                address,
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_addresses() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
            "2001:db8::1",
            "255.255.255.255",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    /// Issue 12, finding 7: IPv6 forms that embed an IPv4 address are judged by it.
    #[test]
    fn embedded_ipv4_addresses_are_judged_by_the_ipv4_address() {
        for private in [
            "::127.0.0.1",        // IPv4-compatible loopback
            "::10.0.0.1",         // IPv4-compatible private
            "::",                 // unspecified (0.0.0.0)
            "::ffff:0:127.0.0.1", // SIIT
            "::ffff:169.254.169.254",
            "2002:7f00:1::",                        // 6to4 of 127.0.0.1
            "2002:a00:1::1",                        // 6to4 of 10.0.0.1
            "2002:a9fe:a9fe::",                     // 6to4 of the metadata address
            "64:ff9b::7f00:1",                      // NAT64 of 127.0.0.1
            "64:ff9b::c0a8:101",                    // NAT64 of 192.168.1.1
            "64:ff9b:1::7f00:1",                    // local-use NAT64 (/96) of 127.0.0.1
            "64:ff9b:1:7f00:0:100::",               // local-use NAT64 (/48 form) of 127.0.0.1
            "64:ff9b:1:808:8:800::", // local-use NAT64 (/48 form): ambiguous, refused
            "2001:0:4136:e378:8000:63bf:80ff:fffe", // Teredo, client 127.0.0.1
            "2001:0:4136:e378:8000:63bf:f5ff:fffe", // Teredo, client 10.0.0.1
            "2001:0:a00:1:8000:63bf:f7f7:f7f7", // Teredo, private server 10.0.0.1
            "2001:2::1",             // benchmarking
        ] {
            let address: IpAddr = private.parse().unwrap();
            assert!(!is_public(address), "{private} must be refused");
        }
        for public in [
            "::8.8.8.8",
            "::ffff:0:8.8.8.8",
            "2002:808:808::1",
            "64:ff9b::808:808",
            "64:ff9b:1::808:808",
            "2001:0:4136:e378:8000:63bf:f7f7:f7f7", // Teredo, client 8.8.8.8, server 65.54.227.120
        ] {
            let address: IpAddr = public.parse().unwrap();
            assert!(is_public(address), "{public} must be allowed");
        }
        assert_eq!(
            embedded_ipv4("2001:0:4136:e378:8000:63bf:80ff:fffe".parse().unwrap()),
            Some(vec![
                Ipv4Addr::new(127, 0, 0, 1),
                Ipv4Addr::new(65, 54, 227, 120)
            ])
        );
        assert_eq!(embedded_ipv4("2606:4700:4700::1111".parse().unwrap()), None);
    }

    #[tokio::test]
    async fn embedded_loopback_urls_are_refused() {
        let policy = DownloadPolicy {
            max_bytes: 1024,
            timeout: Duration::from_secs(5),
            allow_private: false,
        };
        for url in [
            "http://[::127.0.0.1]/",
            "http://[2002:7f00:1::]/",
            "http://[64:ff9b::7f00:1]/",
            "http://[64:ff9b:1::a00:1]/",
            "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
        ] {
            let error = download(url, &policy).await.unwrap_err();
            assert!(
                matches!(error, DownloadError::PrivateAddress { .. }),
                "{url}: {error}"
            );
        }
    }

    /// Issue 12, finding 8: credentials are never shown.
    #[test]
    fn redacts_credentials() {
        assert_eq!(
            redact_url("https://alice:s3cret@example.com/a@b.png?x=@"),
            "https://***@example.com/a@b.png?x=@"
        );
        assert_eq!(redact_url("http://token@host"), "http://***@host");
        assert_eq!(redact_url("user:pw@host/x"), "***@host/x");
        assert_eq!(redact_url("https://example.com/x"), "https://example.com/x");
        assert_eq!(redact_url("https://ex.com?u=a@b"), "https://ex.com?u=a@b");
    }

    #[tokio::test]
    async fn errors_never_show_credentials() {
        let policy = DownloadPolicy {
            max_bytes: 1024,
            timeout: Duration::from_secs(5),
            allow_private: false,
        };
        for url in [
            "http://alice:s3cret@127.0.0.1:9/x.png",
            "ftp://alice:s3cret@example.com/x.png",
            "http://alice:s3cret@[::1/",
        ] {
            let message = download(url, &policy).await.unwrap_err().to_string();
            assert!(!message.contains("alice"), "{message}");
            assert!(!message.contains("s3cret"), "{message}");
            assert!(message.contains("***@"), "{message}");
        }
    }

    #[tokio::test]
    async fn refuses_other_schemes_and_private_hosts() {
        let policy = DownloadPolicy {
            max_bytes: 1024,
            timeout: Duration::from_secs(5),
            allow_private: false,
        };
        let error = download("file:///etc/passwd", &policy).await.unwrap_err();
        assert!(error.to_string().contains("only http and https"), "{error}");
        let error = download("http://127.0.0.1:9/x.png", &policy)
            .await
            .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("image_url: \"http://127.0.0.1:9/x.png\" resolves to 127.0.0.1"),
            "{error}"
        );
        let error = download("http://[::1]:9/x.png", &policy).await.unwrap_err();
        assert!(
            matches!(error, DownloadError::PrivateAddress { .. }),
            "{error}"
        );
        let error = download("not a url", &policy).await.unwrap_err();
        assert!(error.to_string().contains("is not a valid URL"), "{error}");
    }
}
