//! The phase-model boundary: plain image types and one small synchronous trait per model
//! phase. The pipeline calls these traits; `crate::engine` implements them with ONNX Runtime
//! sessions. No `ort` type crosses this boundary (the TEI `Backend` pattern).

use std::fmt;
use std::sync::Arc;

use crate::cancel::CancelToken;
use crate::palette::Palette;

/// The largest factor by which a phase-2 model's output may be larger than its input (the
/// output is `s ×` the plate, `s` in `1..=MAX_STEER_SCALE`).
pub const MAX_STEER_SCALE: u32 = 4;

/// A float32 sRGB image in [0, 1], planar (CHW): three planes of `width * height` values,
/// red, green, blue. This is the phase models' tensor layout `[1, 3, H, W]` without the batch.
#[derive(Clone, PartialEq)]
pub struct PlanarImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `3 * width * height` values, plane after plane.
    pub data: Vec<f32>,
}

impl fmt::Debug for PlanarImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlanarImage({}x{})", self.width, self.height)
    }
}

impl PlanarImage {
    /// A black image.
    pub fn zeros(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            data: vec![0.0; 3 * width as usize * height as usize],
        }
    }

    /// Number of pixels.
    pub fn pixel_count(&self) -> usize {
        self.width as usize * self.height as usize
    }

    /// The red, green and blue values of pixel `index` (row-major).
    pub fn pixel(&self, index: usize) -> [f32; 3] {
        let plane = self.pixel_count();
        [
            self.data[index],
            self.data[plane + index],
            self.data[2 * plane + index],
        ]
    }
}

/// One palette index per pixel, row-major.
#[derive(Clone, PartialEq, Eq)]
pub struct LabelMap {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height` palette indices (a palette has at most 64 colours).
    pub labels: Vec<u8>,
}

impl fmt::Debug for LabelMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LabelMap({}x{})", self.width, self.height)
    }
}

/// The execution provider a session really runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// NVIDIA TensorRT (with CUDA for the nodes TensorRT does not take).
    TensorRt,
    /// NVIDIA CUDA.
    Cuda,
    /// ONNX Runtime's CPU provider.
    Cpu,
}

impl Provider {
    /// The lower-case name used in metadata, logs and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::TensorRt => "tensorrt",
            Provider::Cuda => "cuda",
            Provider::Cpu => "cpu",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a model run failed.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The run was terminated through the cancel token (deadline or job-stop).
    #[error("inference was cancelled")]
    Cancelled,
    /// The runtime refused the inputs or failed while running; its own error kept as the
    /// source (no runtime type is named here).
    #[error("inference failed: {0}")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The model produced an output that breaks the phase contract.
    #[error("model output breaks the phase contract: {0}")]
    BadOutput(String),
}

/// Phase 1: an edge-preserving clean plate. Output has the input's size.
pub trait CleanModel: Send + Sync {
    /// Runs the model; a cancelled token terminates the run.
    fn clean(&self, image: &PlanarImage, cancel: &CancelToken) -> Result<PlanarImage, ModelError>;
    /// The provider the session runs on.
    fn provider(&self) -> Provider;
}

/// Phase 2: generative steering, or a restore-and-upscale network. The output is `s ×` the
/// input's size for one whole factor `s` in 1..=[`MAX_STEER_SCALE`] (the same on both axes).
pub trait SteerModel: Send + Sync {
    /// Runs the model with a seed and a strength in (0, 1].
    fn steer(
        &self,
        image: &PlanarImage,
        seed: i64,
        strength: f32,
        cancel: &CancelToken,
    ) -> Result<PlanarImage, ModelError>;
    /// Whether another seed or a lower strength can change the output (the model reads
    /// them). When not, the gate makes one attempt: a retry would repeat it.
    fn retries_differ(&self) -> bool {
        true
    }
    /// The provider the session runs on.
    fn provider(&self) -> Provider;
}

/// Phase 3: the nearest palette colour per pixel.
pub trait QuantizeModel: Send + Sync {
    /// Labels every pixel with a palette index.
    fn quantize(
        &self,
        image: &PlanarImage,
        palette: &Palette,
        cancel: &CancelToken,
    ) -> Result<LabelMap, ModelError>;
    /// The provider the session runs on.
    fn provider(&self) -> Provider;
}

/// The models of every enabled phase, shared by all jobs: what a
/// [`Pipeline`](crate::Pipeline) runs. The engine builds it from ONNX Runtime
/// sessions; tests build it from fakes.
#[derive(Clone)]
pub struct PhaseModels {
    /// Phase 1, when enabled.
    pub clean: Option<Arc<dyn CleanModel>>,
    /// Phase 2, when enabled.
    pub steer: Option<Arc<dyn SteerModel>>,
    /// Phase 3.
    pub quantize: Arc<dyn QuantizeModel>,
}
