//! The vectorization pipeline (placeholder: filled by the pipeline work).
pub mod model;
pub mod palette;
