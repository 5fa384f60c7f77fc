//! `[hardware]`: ONNX Runtime and execution-provider settings, deserialised straight into the
//! engine's own types ([`crate::engine::EngineSettings`]). Ranges and enums are on their
//! fields; [`resolve`] adds what needs the project root or another section.

use std::path::Path;

use super::loader::Layers;
use super::SettingsError;
use crate::engine::EngineSettings;

/// Resolves relative paths against `root`, records the padded working size (and the largest
/// side phase 3's model sees, `labels_max`) and checks the profile's smallest side against it.
pub(crate) fn resolve(
    engine: &mut EngineSettings,
    root: &Path,
    (padded_max, labels_max): (u32, u32),
    layers: &Layers,
) -> Result<(), SettingsError> {
    let min_side = engine.tensorrt.profile_min_side;
    if min_side > padded_max {
        return Err(layers.fail(
            "hardware.tensorrt.profile_min_side",
            format!("{min_side} is outside 1..={padded_max}"),
        ));
    }
    engine.root = root.to_path_buf();
    engine.max_side = padded_max;
    engine.labels_max_side = labels_max.max(padded_max);
    engine.onnxruntime = engine.onnxruntime.as_deref().map(|path| root.join(path));
    for path in [
        &mut engine.tensorrt.engine_cache_path,
        &mut engine.tensorrt.timing_cache_path,
        &mut engine.tensorrt.fallback_cache_path,
    ] {
        *path = root.join(&*path);
    }
    Ok(())
}
