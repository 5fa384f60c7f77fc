//! Checks of what the phase models give back: a phase-2 output `s` times the plate's size, a
//! model output of its input's size, phase 3's labels of the padded image's size and within
//! the palette (then cropped). Split from `pipeline/mod.rs` by idea (tests/layering.rs).

use super::job::{Phase, PipelineError, PipelineErrorKind};
use super::model::{LabelMap, ModelError, PlanarImage, QuantizeModel};
use super::palette::Palette;
use super::working;
use crate::cancel::CancelToken;
use crate::model::MAX_STEER_SCALE;

/// The whole factor `s` in 1..=[`MAX_STEER_SCALE`] by which a phase-2 output is larger than
/// the plate.
pub(super) fn output_scale(
    plate: &PlanarImage,
    output: &PlanarImage,
) -> Result<u32, PipelineError> {
    (1..=MAX_STEER_SCALE)
        .find(|s| {
            (output.width, output.height) == (plate.width * s, plate.height * s)
                && output.data.len() == plate.data.len() * (s * s) as usize
        })
        .ok_or_else(|| {
            PipelineError::new(
                Phase::Steer,
                PipelineErrorKind::Model(ModelError::BadOutput(format!(
                    "the output is {}x{} with {} values, the input was {}x{}: expected s times its size, s in 1..={MAX_STEER_SCALE}",
                    output.width,
                    output.height,
                    output.data.len(),
                    plate.width,
                    plate.height
                ))),
            )
        })
}

/// An error unless a phase model's output has its input's size.
pub(super) fn same_size(
    phase: Phase,
    input: &PlanarImage,
    output: &PlanarImage,
) -> Result<(), PipelineError> {
    if (output.width, output.height) != (input.width, input.height)
        || output.data.len() != input.data.len()
    {
        return Err(PipelineError::new(
            phase,
            PipelineErrorKind::Model(ModelError::BadOutput(format!(
                "the output is {}x{} with {} values, the input was {}x{}",
                output.width,
                output.height,
                output.data.len(),
                input.width,
                input.height
            ))),
        ));
    }
    Ok(())
}

/// Quantises a padded image and crops the labels to `width × height`.
pub(super) fn quantize_cropped(
    quantize: &dyn QuantizeModel,
    image: &PlanarImage,
    palette: &Palette,
    (width, height): (u32, u32),
    cancel: &CancelToken,
) -> Result<Vec<u8>, PipelineError> {
    let labels: LabelMap = quantize
        .quantize(image, palette, cancel)
        .map_err(PipelineError::model(Phase::Quantize))?;
    if (labels.width, labels.height) != (image.width, image.height)
        || labels.labels.len() != image.pixel_count()
    {
        return Err(PipelineError::new(
            Phase::Quantize,
            PipelineErrorKind::Model(ModelError::BadOutput(format!(
                "labels are {}x{}, the image was {}x{}",
                labels.width, labels.height, image.width, image.height
            ))),
        ));
    }
    if let Some(bad) = labels
        .labels
        .iter()
        .find(|label| usize::from(**label) >= palette.len())
    {
        return Err(PipelineError::new(
            Phase::Quantize,
            PipelineErrorKind::Model(ModelError::BadOutput(format!(
                "label {bad} is outside the palette of {} colours",
                palette.len()
            ))),
        ));
    }
    Ok(working::crop_labels(&labels, width, height))
}
