//! Logging: RunPod's line formats on stdout, and capture of job events into job log rings.
//!
//! [`init`] installs the global `tracing` subscriber:
//!
//! - with `json_lines` (RunPod's console, `RUNPOD_ENDPOINT_ID` set), one object per line:
//!   `{"requestId": "<job id>|null", "message": "…", "level": "INFO"}`;
//! - otherwise the SDK's human format: `INFO    | <job id> | message`.
//!
//! Both formats take the job id from the enclosing `runpod_job` span. A second layer copies
//! every event inside a job's span into that job's bounded log ring, so `tracing` events in a
//! handler show up in [`crate::JobContext::logs`] and in error reports.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::{Arc, LazyLock, Mutex, Weak};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::error::Error;
use crate::job::JobId;
use crate::ring::LogRing;

/// Target of the events [`crate::JobContext::log`] emits; the ring layer skips them because
/// `log` already wrote the line into the ring.
pub const JOB_LOG_TARGET: &str = "runpod::job_log";

/// Messages longer than this are cut in the middle, as the SDK's logger does.
const MAX_MESSAGE_CHARS: usize = 4096;

type RingMap = HashMap<String, Weak<Mutex<LogRing>>>;

/// The rings of running jobs, by job id: how the capture layer finds a job's ring when the
/// job's span is created.
static RINGS: LazyLock<Mutex<RingMap>> = LazyLock::new(|| Mutex::new(HashMap::new()));

fn rings() -> std::sync::MutexGuard<'static, RingMap> {
    RINGS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn register_ring(id: &JobId, ring: &Arc<Mutex<LogRing>>) {
    rings().insert(id.as_str().to_owned(), Arc::downgrade(ring));
}

pub(crate) fn unregister_ring(id: &JobId, ring: &Arc<Mutex<LogRing>>) {
    let mut map = rings();
    // Only remove our own entry: a later job may have reused the id.
    let is_ours = map
        .get(id.as_str())
        .map(|weak| std::ptr::eq(weak.as_ptr(), Arc::as_ptr(ring)))
        .unwrap_or(false);
    if is_ours {
        map.remove(id.as_str());
    }
}

/// Installs the global subscriber; `level` is a `tracing` filter (`info`, `debug`,
/// `runpod=debug,info`, ...). Fails when the filter does not parse or a subscriber is
/// already installed.
pub fn init(json_lines: bool, level: &str) -> Result<(), Error> {
    let filter = EnvFilter::try_new(level)
        .map_err(|error| Error::config(format!("log level {level:?} is not valid: {error}")))?;
    tracing_subscriber::registry()
        .with(filter)
        .with(JobSpanLayer)
        .with(ConsoleLayer { json_lines })
        .try_init()
        .map_err(|error| Error::config(format!("logging already initialised: {error}")))
}

/// What the layers keep in a job span's extensions.
struct JobSpanData {
    id: String,
    ring: Option<Weak<Mutex<LogRing>>>,
}

/// Attaches job data to `runpod_job` spans and copies events inside them into the ring.
pub struct JobSpanLayer;

struct JobIdVisitor(Option<String>);

impl Visit for JobIdVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "job_id" {
            self.0 = Some(value.to_owned());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "job_id" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

#[derive(Default)]
struct MessageVisitor {
    message: String,
    fields: String,
}

impl Visit for MessageVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={}", field.name(), value);
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={:?}", field.name(), value);
        }
    }
}

fn event_text(event: &Event<'_>) -> String {
    let mut visitor = MessageVisitor::default();
    event.record(&mut visitor);
    let mut text = visitor.message;
    text.push_str(&visitor.fields);
    shorten(text)
}

fn shorten(text: String) -> String {
    let count = text.chars().count();
    if count <= MAX_MESSAGE_CHARS {
        return text;
    }
    let keep = MAX_MESSAGE_CHARS / 2;
    let head: String = text.chars().take(keep).collect();
    let tail: String = text.chars().skip(count - keep).collect();
    format!(
        "{head}\n...TRUNCATED {} CHARACTERS...\n{tail}",
        count - 2 * keep
    )
}

fn find_job<S>(
    event: &Event<'_>,
    ctx: &Context<'_, S>,
) -> Option<(String, Option<Weak<Mutex<LogRing>>>)>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let scope = ctx.event_scope(event)?;
    for span in scope {
        if let Some(data) = span.extensions().get::<JobSpanData>() {
            return Some((data.id.clone(), data.ring.clone()));
        }
    }
    None
}

impl<S> Layer<S> for JobSpanLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        if attrs.metadata().name() != "runpod_job" {
            return;
        }
        let mut visitor = JobIdVisitor(None);
        attrs.record(&mut visitor);
        let Some(job_id) = visitor.0 else {
            return;
        };
        let ring = rings().get(&job_id).cloned();
        if let Some(span) = ctx.span(id) {
            span.extensions_mut()
                .insert(JobSpanData { id: job_id, ring });
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() == JOB_LOG_TARGET {
            return;
        }
        let Some((_, Some(ring))) = find_job(event, &ctx) else {
            return;
        };
        let Some(ring) = ring.upgrade() else {
            return;
        };
        let line = format!("{} {}", event.metadata().level(), event_text(event));
        ring.lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(line);
    }
}

/// Writes events to stdout in RunPod's formats.
pub struct ConsoleLayer {
    json_lines: bool,
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARN",
        Level::INFO => "INFO",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    }
}

impl<S> Layer<S> for ConsoleLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let job_id = find_job(event, &ctx).map(|(id, _)| id);
        let level = level_name(event.metadata().level());
        let message = event_text(event);
        let line = if self.json_lines {
            serde_json::json!({"requestId": job_id, "message": message, "level": level}).to_string()
        } else {
            match job_id {
                Some(id) => format!("{level:<7} | {id} | {message}"),
                None => format!("{level:<7} | {message}"),
            }
        };
        let mut stdout = std::io::stdout().lock();
        // Logging must never take the worker down; a closed stdout loses the line.
        let _ = writeln!(stdout, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_in_the_middle() {
        let text = shorten("a".repeat(5000));
        assert!(text.contains("...TRUNCATED 904 CHARACTERS..."));
        assert!(text.chars().count() < 4200);
    }

    #[test]
    fn events_inside_a_job_span_land_in_its_ring() {
        let ring = Arc::new(Mutex::new(LogRing::new(
            std::num::NonZeroUsize::new(10).expect("non-zero"),
            std::num::NonZeroUsize::new(1000).expect("non-zero"),
        )));
        let id = JobId::from("ring-capture-job");
        register_ring(&id, &ring);
        let subscriber = tracing_subscriber::registry().with(JobSpanLayer);
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::error_span!("runpod_job", job_id = %id);
            let _entered = span.enter();
            tracing::info!(step = 2, "decoding");
            tracing::info!(target: JOB_LOG_TARGET, "skipped: already in the ring");
        });
        tracing::info!("outside any job");
        unregister_ring(&id, &ring);
        let lines = ring.lock().expect("lock").snapshot();
        assert_eq!(lines, ["INFO decoding step=2"]);
    }
}
