//! gemini3: raster images to palette-exact SVG, as a RunPod serverless worker.
//!
//! Layout:
//! - [`settings`]: the only reader of config files and environment; raw layers in, validated
//!   typed settings out.
//! - [`engine`]: ONNX Runtime: library loading, the execution-provider chain, one session per
//!   phase model, run termination. Implements the phase-model traits of [`pipeline::model`].
//! - [`pipeline`]: decode, working resolution, the four phases, IoU gate, image tracing, SVG
//!   and metadata. Knows nothing about HTTP or RunPod.
//! - [`handler`]: the RunPod job schema and the `runpod::Handler` over the pipeline; maps
//!   pipeline errors to job errors in one place.
//! - [`cancel`]: a cancellation token for blocking work.
//! - [`cli`]: the command-line interface (`vectorize`, `worker`, `serve`, `check`).

pub mod cli;
pub mod commands;
pub mod delivery;
pub mod download;
pub mod engine;
pub mod fields;
pub mod handler;
pub mod output;
pub mod settings;

/// The pipeline crate (`pipeline/`), re-exported so `crate::pipeline::…` names it.
pub use ::pipeline;
/// Its cancellation token, shared by the handler, the engine and the commands.
pub use ::pipeline::cancel;
