//! Jobs as the queue hands them out, and decoding of job-take answers (spec §3.3, §3.4).
//!
//! Wire shape of one job:
//!
//! ```json
//! {"id": "5e0ae067-…-u1", "input": {"prompt": "…"}, "webhook": "…", "batchId": "…"}
//! ```
//!
//! `id` and `input` must be present (`input: null` is allowed); every other key is kept in
//! [`Job::extra`] and reaches the handler untouched.

use std::fmt;

use serde_json::{Map, Value};

/// A job id as the queue sent it (`…-u1`, `sync-…-e1`, `test-…`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(String);

impl JobId {
    /// Wraps an id.
    pub fn new(id: impl Into<String>) -> Self {
        JobId(id.into())
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// For logs: control characters (CR, LF, ESC, ...) are escaped (`\r`, `\n`, `\u{1b}`), so
/// an id cannot forge log lines or terminal sequences. The id itself ([`JobId::as_str`]) is
/// what goes on the wire.
impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.0.chars().any(char::is_control) {
            return f.write_str(&self.0);
        }
        for c in self.0.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

impl From<&str> for JobId {
    fn from(id: &str) -> Self {
        JobId(id.to_owned())
    }
}

/// One job.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    /// The job id.
    pub id: JobId,
    /// The client's `input`, as sent (may be `null`).
    pub input: Value,
    /// Every other key of the job object (`webhook`, `batchId`, `s3Config`, `policy`, ...).
    pub extra: Map<String, Value>,
}

impl Job {
    /// Builds a job from one JSON value; it must be an object with a string `id` and an
    /// `input` key.
    pub fn from_value(value: Value) -> Result<Job, String> {
        let Value::Object(mut object) = value else {
            return Err("job is not a JSON object".to_owned());
        };
        let id = match object.remove("id") {
            Some(Value::String(id)) if !id.is_empty() => JobId(id),
            Some(Value::Number(number)) => JobId(number.to_string()),
            Some(_) => return Err("job `id` is not a non-empty string".to_owned()),
            None => return Err("job has missing field(s): id or input".to_owned()),
        };
        if !crate::env::is_addressable(id.as_str()) {
            return Err(format!(
                "job id {:?} cannot be addressed in a job-done URL (`.` and `..` are dot-segments)",
                id.as_str()
            ));
        }
        let Some(input) = object.remove("input") else {
            return Err("job has missing field(s): id or input".to_owned());
        };
        Ok(Job {
            id,
            input,
            extra: object,
        })
    }

    /// The job as one JSON object again (`id`, `input` and the extra keys).
    pub fn to_value(&self) -> Value {
        let mut object = self.extra.clone();
        object.insert("id".to_owned(), Value::String(self.id.0.clone()));
        object.insert("input".to_owned(), self.input.clone());
        Value::Object(object)
    }
}

/// What one job-take answer means.
#[derive(Debug, PartialEq)]
pub(crate) enum TakeAnswer {
    /// Zero or more jobs, plus descriptions of elements that were malformed and skipped.
    Jobs {
        jobs: Vec<Job>,
        skipped: Vec<String>,
    },
    /// No job (empty body, non-JSON content type).
    NoJob,
    /// The body claimed to be JSON but is not; the job is lost on the queue side, we log it.
    Malformed(String),
}

/// Decodes the body of a 200 job-take or job-take-batch answer.
///
/// Never panics, whatever the bytes (a property test holds it to that).
pub(crate) fn decode_take(content_type: Option<&str>, body: &[u8]) -> TakeAnswer {
    if body.iter().all(u8::is_ascii_whitespace) {
        return TakeAnswer::NoJob;
    }
    let is_json = content_type
        .map(|value| value.to_ascii_lowercase().contains("json"))
        .unwrap_or(false);
    if !is_json {
        return TakeAnswer::NoJob;
    }
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(error) => return TakeAnswer::Malformed(format!("job JSON does not parse: {error}")),
    };
    let items = match value {
        Value::Array(items) => items,
        Value::Null => return TakeAnswer::NoJob,
        other => vec![other],
    };
    let mut jobs = Vec::with_capacity(items.len());
    let mut skipped = Vec::new();
    for item in items {
        match Job::from_value(item) {
            Ok(job) => jobs.push(job),
            Err(reason) => skipped.push(reason),
        }
    }
    if jobs.is_empty() && !skipped.is_empty() {
        return TakeAnswer::Malformed(skipped.join("; "));
    }
    TakeAnswer::Jobs { jobs, skipped }
}

/// Decodes a job-stop answer: `{"jobsToStop": ["id", …]}`; anything else is an empty list and
/// non-string entries are dropped (spec §5).
pub(crate) fn decode_stop(body: &[u8]) -> Vec<JobId> {
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    match object.get("jobsToStop") {
        Some(Value::Array(ids)) => ids
            .iter()
            .filter_map(|id| id.as_str().map(JobId::from))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_shown_in_logs_with_control_characters_escaped() {
        let id = JobId::from("abc\r\n{\"level\":\"ERROR\"}\u{1b}[31m");
        let shown = id.to_string();
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert_eq!(shown, "abc\\r\\n{\"level\":\"ERROR\"}\\u{1b}[31m");
        assert_eq!(id.as_str(), "abc\r\n{\"level\":\"ERROR\"}\u{1b}[31m");
        assert_eq!(JobId::from("plain-id").to_string(), "plain-id");
    }
    use proptest::prelude::*;
    use serde_json::json;

    const JSON: Option<&str> = Some("application/json");

    #[test]
    fn a_single_job_keeps_its_unknown_keys() {
        let body = br#"{"id":"j1-u1","input":{"a":1},"webhook":"http://w","batchId":"b","s3Config":{"k":1}}"#;
        let TakeAnswer::Jobs { jobs, skipped } = decode_take(JSON, body) else {
            panic!("expected jobs");
        };
        assert!(skipped.is_empty());
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].id.as_str(), "j1-u1");
        assert_eq!(jobs[0].input, json!({"a":1}));
        assert_eq!(jobs[0].extra["webhook"], json!("http://w"));
        assert_eq!(jobs[0].extra["batchId"], json!("b"));
        assert_eq!(jobs[0].extra["s3Config"], json!({"k":1}));
        assert_eq!(
            jobs[0].to_value(),
            json!({"id":"j1-u1","input":{"a":1},"webhook":"http://w","batchId":"b","s3Config":{"k":1}})
        );
    }

    #[test]
    fn a_null_input_is_a_valid_job_but_a_missing_one_is_not() {
        assert!(matches!(
            decode_take(JSON, br#"{"id":"a","input":null}"#),
            TakeAnswer::Jobs { .. }
        ));
        assert!(matches!(
            decode_take(JSON, br#"{"id":"a"}"#),
            TakeAnswer::Malformed(_)
        ));
    }

    #[test]
    fn a_batch_skips_malformed_elements_and_keeps_the_rest() {
        let TakeAnswer::Jobs { jobs, skipped } = decode_take(
            JSON,
            br#"[{"id":"a","input":1},{"input":2},7,{"id":"b","input":3}]"#,
        ) else {
            panic!("expected jobs");
        };
        assert_eq!(
            jobs.iter().map(|job| job.id.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(skipped.len(), 2);
    }

    #[test]
    fn empty_and_non_json_bodies_mean_no_job_and_broken_json_is_malformed() {
        assert_eq!(decode_take(JSON, b""), TakeAnswer::NoJob);
        assert_eq!(decode_take(Some("text/plain"), b"{}"), TakeAnswer::NoJob);
        assert_eq!(
            decode_take(None, br#"{"id":"a","input":1}"#),
            TakeAnswer::NoJob
        );
        assert!(matches!(
            decode_take(JSON, b"{not json"),
            TakeAnswer::Malformed(_)
        ));
    }

    #[test]
    fn stop_answers_keep_only_string_ids() {
        assert_eq!(
            decode_stop(br#"{"jobsToStop":["a",1,"b",null]}"#),
            vec![JobId::from("a"), JobId::from("b")]
        );
        assert!(decode_stop(b"garbage").is_empty());
        assert!(decode_stop(br#"{"jobsToStop":"a"}"#).is_empty());
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_take(JSON, &body);
            let _ = decode_stop(&body);
        }

        #[test]
        fn jobs_round_trip_through_json(id in "[a-z0-9-]{1,20}", n in any::<i64>(), key in "[a-z]{1,8}") {
            prop_assume!(key != "id" && key != "input");
            let value = json!({"id": id, "input": {"n": n}, key: [1, 2]});
            let job = Job::from_value(value.clone()).expect("valid job");
            prop_assert_eq!(job.to_value(), value);
        }
    }
}
