//! The RunPod handler (in progress).
pub mod request;
