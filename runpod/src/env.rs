//! RunPod's environment variables, parsed once by a pure function, and mode selection.
//!
//! [`RunpodEnv::from_vars`] takes any key/value iterator: `main` passes `std::env::vars()`,
//! tests pass literal lists. Nothing else in the crate reads the process environment.
//! Every value is checked here, once, at start-up: each `RUNPOD_WEBHOOK_*` template must be an
//! http or https URL with a host, `RUNPOD_PING_INTERVAL` must be at least
//! [`MIN_PING_INTERVAL`], and a bad value is an [`Error::InvalidSetting`] naming the variable
//! and the value (credentials in a URL redacted), never a worker that retries forever.
//! [`select_mode`] decides between production and the one-shot local test exactly as RunPod's
//! Python SDK does (spec §1, §12.1, checklist 1).

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use crate::error::Error;

/// The RunPod Python SDK version whose wire behaviour this crate reproduces; it is sent as
/// `runpod_version` on pings and in error reports, as the platform knows it.
pub const RUNPOD_SDK_VERSION: &str = "1.12.0";

/// Default heartbeat interval: the Python SDK's `RUNPOD_PING_INTERVAL` default of 10 000 ms.
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(10);

/// The lowest heartbeat interval we accept (10 pings a second); the Python SDK turns values
/// under 1000 ms into a zero-second tight loop, which we refuse to reproduce. A lower value is
/// an error, not silently raised.
pub const MIN_PING_INTERVAL: Duration = Duration::from_millis(100);

/// The URL templates, checked at start-up.
const URL_VARIABLES: [&str; 4] = [
    "RUNPOD_WEBHOOK_GET_JOB",
    "RUNPOD_WEBHOOK_POST_OUTPUT",
    "RUNPOD_WEBHOOK_POST_STREAM",
    "RUNPOD_WEBHOOK_PING",
];

/// `text` with the user-info of a URL (`user:password@`) replaced by `***@`, for errors and
/// logs. Works on text that does not parse as a URL too.
pub fn redact_url(text: &str) -> String {
    let start = text.find("://").map_or(0, |index| index + 3);
    let authority_end = text[start..]
        .find(['/', '?', '#'])
        .map_or(text.len(), |index| start + index);
    match text[start..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &text[..start], &text[start + at..]),
        None => text.to_owned(),
    }
}

/// Why a URL cannot be fetched or posted to over the web: the one http(s)-and-host rule of
/// the worker's endpoints, the job's `image_url` and the bucket's endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebUrlError {
    /// A scheme other than `http` or `https` (the scheme).
    Scheme(String),
    /// No host, or an empty one.
    NoHost,
}

impl std::fmt::Display for WebUrlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Scheme(scheme) => {
                write!(f, "has scheme {scheme:?}; only http and https are allowed")
            }
            Self::NoHost => f.write_str("has no host"),
        }
    }
}

impl std::error::Error for WebUrlError {}

/// Checks that `url` is http or https and names a host.
pub fn check_web_url(url: &reqwest::Url) -> Result<(), WebUrlError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(WebUrlError::Scheme(url.scheme().to_owned()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(WebUrlError::NoHost);
    }
    Ok(())
}

/// Checks one URL template: after substituting its placeholders it must parse, be http or
/// https, and name a host.
pub(crate) fn check_url(name: &'static str, template: &str) -> Result<(), Error> {
    let invalid = |rule: String| Error::invalid(name, format!("{:?}", redact_url(template)), rule);
    let sample = template
        .replace("$RUNPOD_POD_ID", "worker")
        .replace("$ID", "job");
    let url = reqwest::Url::parse(&sample)
        .map_err(|error| invalid(format!("must be an http or https URL ({error})")))?;
    check_web_url(&url).map_err(|error| match error {
        WebUrlError::Scheme(scheme) => {
            invalid(format!("must be an http or https URL, not {scheme}:"))
        }
        WebUrlError::NoHost => invalid("must name a host".to_owned()),
    })
}

/// Whether `text` can stand as one URL path segment once percent-encoded: `.` and `..` cannot
/// (every URL parser, reqwest's included, resolves them as dot-segments whatever their encoding).
pub(crate) fn is_addressable(text: &str) -> bool {
    !matches!(text, "." | "..")
}

/// RunPod's worker environment (spec §2), validated.
///
/// `Debug` redacts the API key.
#[derive(Clone)]
pub struct RunpodEnv {
    /// `RUNPOD_WEBHOOK_GET_JOB`: the job-take URL template; `None` means local mode.
    pub get_job_url: Option<String>,
    /// `RUNPOD_WEBHOOK_POST_OUTPUT`: the job-done URL template.
    pub post_output_url: Option<String>,
    /// `RUNPOD_WEBHOOK_POST_STREAM`: the job-stream URL template.
    pub post_stream_url: Option<String>,
    /// `RUNPOD_WEBHOOK_PING`: the heartbeat URL template.
    pub ping_url: Option<String>,
    /// `RUNPOD_AI_API_KEY`, sent raw as `Authorization`.
    api_key: Option<String>,
    /// `RUNPOD_POD_ID` as given (the heartbeat needs it set).
    pub pod_id: Option<String>,
    /// The worker id: `RUNPOD_POD_ID`, or a random UUID when unset (as the SDK).
    pub worker_id: String,
    /// `RUNPOD_POD_HOSTNAME`, or `"unknown"`; goes into error reports.
    pub hostname: String,
    /// `RUNPOD_PING_INTERVAL` (milliseconds in the environment).
    pub ping_interval: Duration,
    /// `RUNPOD_ENDPOINT_ID`: when set, logs are JSON lines.
    pub endpoint_id: Option<String>,
    /// `RUNPOD_LOG_LEVEL` (or `RUNPOD_DEBUG_LEVEL`), normalised to a `tracing` level name.
    pub log_level: String,
}

impl fmt::Debug for RunpodEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunpodEnv")
            .field("get_job_url", &self.get_job_url)
            .field("post_output_url", &self.post_output_url)
            .field("post_stream_url", &self.post_stream_url)
            .field("ping_url", &self.ping_url)
            .field(
                "api_key",
                &self
                    .api_key
                    .as_ref()
                    .map(|_| "<redacted>")
                    .unwrap_or("<unset>"),
            )
            .field("pod_id", &self.pod_id)
            .field("worker_id", &self.worker_id)
            .field("hostname", &self.hostname)
            .field("ping_interval", &self.ping_interval)
            .field("endpoint_id", &self.endpoint_id)
            .field("log_level", &self.log_level)
            .finish()
    }
}

impl RunpodEnv {
    /// Parses RunPod's variables from key/value pairs. Unknown keys are ignored; empty values
    /// count as unset.
    ///
    /// Fails with [`Error::InvalidSetting`] when a `RUNPOD_WEBHOOK_*` template is not an http or
    /// https URL with a host, `RUNPOD_PING_INTERVAL` is not a whole number of milliseconds of at
    /// least [`MIN_PING_INTERVAL`], `RUNPOD_POD_ID` is `.` or `..`, or `RUNPOD_LOG_LEVEL` is not
    /// one of `NOTSET, TRACE, DEBUG, INFO, WARN, ERROR` (or 0–5).
    pub fn from_vars<I: IntoIterator<Item = (String, String)>>(vars: I) -> Result<Self, Error> {
        let map: HashMap<String, String> = vars
            .into_iter()
            .filter(|(key, value)| key.starts_with("RUNPOD_") && !value.trim().is_empty())
            .collect();
        let get = |key: &str| map.get(key).cloned();

        for name in URL_VARIABLES {
            if let Some(template) = map.get(name) {
                check_url(name, template.trim())?;
            }
        }
        let ping_interval = match get("RUNPOD_PING_INTERVAL") {
            None => DEFAULT_PING_INTERVAL,
            Some(text) => {
                let rule = || {
                    format!(
                        "must be a whole number of milliseconds, at least {}",
                        MIN_PING_INTERVAL.as_millis()
                    )
                };
                let millis: u64 = text.trim().parse().map_err(|_| {
                    Error::invalid("RUNPOD_PING_INTERVAL", format!("{text:?}"), rule())
                })?;
                let interval = Duration::from_millis(millis);
                if interval < MIN_PING_INTERVAL {
                    return Err(Error::invalid(
                        "RUNPOD_PING_INTERVAL",
                        format!("{text:?}"),
                        rule(),
                    ));
                }
                interval
            }
        };
        let log_level_text = get("RUNPOD_LOG_LEVEL")
            .or_else(|| get("RUNPOD_DEBUG_LEVEL"))
            .unwrap_or_else(|| "DEBUG".to_owned());
        let log_level = normalise_log_level(&log_level_text)?;
        let pod_id = get("RUNPOD_POD_ID");
        if let Some(id) = pod_id.as_deref().filter(|id| !is_addressable(id)) {
            return Err(Error::invalid(
                "RUNPOD_POD_ID",
                format!("{id:?}"),
                "cannot be `.` or `..` (it goes into URL paths)",
            ));
        }
        let worker_id = pod_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        Ok(RunpodEnv {
            get_job_url: get("RUNPOD_WEBHOOK_GET_JOB").map(|url| url.trim().to_owned()),
            post_output_url: get("RUNPOD_WEBHOOK_POST_OUTPUT").map(|url| url.trim().to_owned()),
            post_stream_url: get("RUNPOD_WEBHOOK_POST_STREAM").map(|url| url.trim().to_owned()),
            ping_url: get("RUNPOD_WEBHOOK_PING").map(|url| url.trim().to_owned()),
            api_key: get("RUNPOD_AI_API_KEY"),
            pod_id,
            worker_id,
            hostname: get("RUNPOD_POD_HOSTNAME").unwrap_or_else(|| "unknown".to_owned()),
            ping_interval,
            endpoint_id: get("RUNPOD_ENDPOINT_ID"),
            log_level,
        })
    }

    /// Production mode is configured: `RUNPOD_WEBHOOK_GET_JOB` is set.
    pub fn is_production(&self) -> bool {
        self.get_job_url.is_some()
    }

    /// Whether logs should be JSON lines (`RUNPOD_ENDPOINT_ID` is set).
    pub fn json_logs(&self) -> bool {
        self.endpoint_id.is_some()
    }

    /// The API key, sent raw as `Authorization`; empty when unset.
    pub fn api_key(&self) -> &str {
        self.api_key.as_deref().unwrap_or("")
    }

    /// Whether the heartbeat can run: key, pod id and ping URL are all set (spec §6).
    pub fn heartbeat_enabled(&self) -> bool {
        self.api_key.is_some() && self.pod_id.is_some() && self.ping_url.is_some()
    }
}

fn normalise_log_level(text: &str) -> Result<String, Error> {
    let level = match text.trim().to_ascii_uppercase().as_str() {
        "NOTSET" | "0" => "off",
        "TRACE" | "1" => "trace",
        "DEBUG" | "2" => "debug",
        "INFO" | "3" => "info",
        "WARN" | "WARNING" | "4" => "warn",
        "ERROR" | "5" => "error",
        _ => {
            return Err(Error::config(format!(
                "RUNPOD_LOG_LEVEL must be one of NOTSET, TRACE, DEBUG, INFO, WARN, ERROR or 0-5, got {text:?}"
            )))
        }
    };
    Ok(level.to_owned())
}

/// How the worker should run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Take jobs from RunPod's queue.
    Production,
    /// Run one job from this JSON text and exit (0 on success, 1 on error).
    Local(String),
}

/// Picks the mode as RunPod's SDK does (spec §12.1, checklist 1).
///
/// A `--test-input` flag wins and forces local mode: its value is JSON text, or the path of a
/// file holding it. Otherwise `RUNPOD_WEBHOOK_GET_JOB` means production. Otherwise
/// `cwd/test_input.json` is the job. With none of these it fails, naming all three.
pub fn select_mode(
    env: &RunpodEnv,
    test_input_flag: Option<String>,
    cwd: &Path,
) -> Result<Mode, Error> {
    if let Some(flag) = test_input_flag {
        if serde_json::from_str::<serde_json::Value>(&flag).is_ok() {
            return Ok(Mode::Local(flag));
        }
        let path = Path::new(&flag);
        let path = if path.is_absolute() {
            path.to_path_buf()
        } else {
            cwd.join(path)
        };
        return match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Mode::Local(text)),
            Err(source) => Err(Error::Io {
                what: format!(
                    "--test-input is neither JSON text nor a readable file ({})",
                    path.display()
                ),
                source,
            }),
        };
    }
    if env.is_production() {
        return Ok(Mode::Production);
    }
    let default_path = cwd.join("test_input.json");
    match std::fs::read_to_string(&default_path) {
        Ok(text) => Ok(Mode::Local(text)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(Error::config(
            "no job source: set RUNPOD_WEBHOOK_GET_JOB, pass --test-input, or create ./test_input.json",
        )),
        Err(source) => Err(Error::Io {
            what: format!("reading {}", default_path.display()),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_the_production_environment() {
        let env = RunpodEnv::from_vars(vars(&[
            (
                "RUNPOD_WEBHOOK_GET_JOB",
                "http://q/v2/ep/job-take/$ID?gpu=A",
            ),
            ("RUNPOD_AI_API_KEY", "secret-key"),
            ("RUNPOD_POD_ID", "pod1"),
            ("RUNPOD_PING_INTERVAL", "1500"),
            ("RUNPOD_LOG_LEVEL", "INFO"),
            ("PATH", "/bin"),
        ]))
        .expect("valid env");
        assert!(env.is_production());
        assert_eq!(env.worker_id, "pod1");
        assert_eq!(env.ping_interval, Duration::from_millis(1500));
        assert_eq!(env.log_level, "info");
        assert_eq!(env.hostname, "unknown");
        assert_eq!(env.api_key(), "secret-key");
    }

    #[test]
    fn debug_output_redacts_the_api_key() {
        let env =
            RunpodEnv::from_vars(vars(&[("RUNPOD_AI_API_KEY", "secret-key")])).expect("valid env");
        let text = format!("{env:?}");
        assert!(!text.contains("secret-key"));
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn missing_pod_id_gets_a_random_worker_id_and_disables_the_heartbeat() {
        let env = RunpodEnv::from_vars(vars(&[
            ("RUNPOD_AI_API_KEY", "k"),
            ("RUNPOD_WEBHOOK_PING", "http://q/ping"),
        ]))
        .expect("valid env");
        assert_eq!(env.worker_id.len(), 36);
        assert!(!env.heartbeat_enabled());
    }

    #[test]
    fn rejects_a_bad_ping_interval_and_log_level() {
        assert!(RunpodEnv::from_vars(vars(&[("RUNPOD_PING_INTERVAL", "ten")])).is_err());
        assert!(RunpodEnv::from_vars(vars(&[("RUNPOD_LOG_LEVEL", "LOUD")])).is_err());
        let numeric = RunpodEnv::from_vars(vars(&[("RUNPOD_LOG_LEVEL", "5")])).expect("valid");
        assert_eq!(numeric.log_level, "error");
    }

    fn invalid_name(list: &[(&str, &str)]) -> (&'static str, String) {
        match RunpodEnv::from_vars(vars(list)) {
            Err(Error::InvalidSetting { name, value, .. }) => (name, value),
            other => panic!("expected InvalidSetting for {list:?}, got {other:?}"),
        }
    }

    #[test]
    fn every_url_template_must_be_an_http_url_with_a_host() {
        for name in URL_VARIABLES {
            for bad in [
                "not-a-url",
                "file:///etc/passwd",
                "ftp://q/job-take/$ID",
                "http://",
                "unix:/run/q.sock",
            ] {
                let (variable, value) = invalid_name(&[(name, bad)]);
                assert_eq!(variable, name);
                assert_eq!(value, format!("{bad:?}"));
            }
            let good = RunpodEnv::from_vars(vars(&[(name, "https://q.example/v2/ep/x/$ID?gpu=A")]));
            assert!(good.is_ok(), "{name}: {good:?}");
        }
    }

    #[test]
    fn credentials_in_a_bad_url_are_redacted_from_the_error() {
        let error = RunpodEnv::from_vars(vars(&[(
            "RUNPOD_WEBHOOK_PING",
            "gopher://user:secret@q/ping",
        )]))
        .expect_err("gopher");
        let text = error.to_string();
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains("RUNPOD_WEBHOOK_PING"), "{text}");
        assert_eq!(redact_url("http://a:b@h/p@x"), "http://***@h/p@x");
        assert_eq!(redact_url("http://h/p"), "http://h/p");
    }

    #[test]
    fn the_ping_interval_has_a_lower_bound_instead_of_a_silent_clamp() {
        for bad in ["0", "50", "99", "-1", "1e3"] {
            let (variable, value) = invalid_name(&[("RUNPOD_PING_INTERVAL", bad)]);
            assert_eq!(variable, "RUNPOD_PING_INTERVAL");
            assert_eq!(value, format!("{bad:?}"));
        }
        let env = RunpodEnv::from_vars(vars(&[("RUNPOD_PING_INTERVAL", "100")])).expect("100 ms");
        assert_eq!(env.ping_interval, MIN_PING_INTERVAL);
    }

    #[test]
    fn a_pod_id_that_is_a_dot_segment_is_refused() {
        for bad in [".", ".."] {
            assert_eq!(invalid_name(&[("RUNPOD_POD_ID", bad)]).0, "RUNPOD_POD_ID");
        }
    }

    #[test]
    fn test_input_flag_forces_local_mode_even_in_production() {
        let env =
            RunpodEnv::from_vars(vars(&[("RUNPOD_WEBHOOK_GET_JOB", "http://q/job-take/$ID")]))
                .expect("valid env");
        let mode = select_mode(
            &env,
            Some(r#"{"input":{}}"#.into()),
            Path::new("/nonexistent"),
        )
        .expect("mode");
        assert_eq!(mode, Mode::Local(r#"{"input":{}}"#.into()));
        let mode = select_mode(&env, None, Path::new("/nonexistent")).expect("mode");
        assert_eq!(mode, Mode::Production);
    }

    #[test]
    fn local_mode_reads_test_input_json_from_the_working_directory() {
        let dir = std::env::temp_dir().join(format!("runpod-mode-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let env = RunpodEnv::from_vars(Vec::new()).expect("valid env");
        assert!(select_mode(&env, None, &dir).is_err());
        std::fs::write(dir.join("test_input.json"), r#"{"input":1}"#).expect("write");
        assert_eq!(
            select_mode(&env, None, &dir).expect("mode"),
            Mode::Local(r#"{"input":1}"#.into())
        );
        std::fs::write(dir.join("other.json"), r#"{"input":2}"#).expect("write");
        assert_eq!(
            select_mode(&env, Some("other.json".into()), &dir).expect("mode"),
            Mode::Local(r#"{"input":2}"#.into())
        );
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
