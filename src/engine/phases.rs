//! The phase sessions: each checks its model against the phase's contract when built, warms
//! up when configured, and implements its trait of [`crate::pipeline::model`].

use std::path::Path;

use ort::value::{TensorElementType, TensorRef};

use super::{Engine, EngineError, PhaseSession};
use crate::cancel::CancelToken;
use crate::pipeline::model::{
    CleanModel, LabelMap, ModelError, PlanarImage, Provider, QuantizeModel, SteerModel,
};
use crate::pipeline::palette::Palette;

fn image_tensor(image: &PlanarImage) -> Result<TensorRef<'_, f32>, ort::Error> {
    TensorRef::from_array_view((
        [1usize, 3, image.height as usize, image.width as usize],
        image.data.as_slice(),
    ))
}

fn planar_output(
    outputs: &ort::session::SessionOutputs<'_>,
    name: &str,
    width: u32,
    height: u32,
) -> Result<PlanarImage, ort::Error> {
    let (shape, data) = outputs[name].try_extract_tensor::<f32>()?;
    let expected = [1, 3, i64::from(height), i64::from(width)];
    if **shape != expected {
        return Err(ort::Error::new(format!(
            "output `{name}` has shape {shape:?}, expected {expected:?}"
        )));
    }
    Ok(PlanarImage {
        width,
        height,
        data: data.to_vec(),
    })
}

/// A phase-2 output: `[1, 3, s·height, s·width]` for one whole factor `s` in 1..=4 (DESIGN.md
/// section 3: a steering model may upscale).
fn scaled_output(
    outputs: &ort::session::SessionOutputs<'_>,
    name: &str,
    width: u32,
    height: u32,
) -> Result<PlanarImage, ort::Error> {
    let (shape, data) = outputs[name].try_extract_tensor::<f32>()?;
    let (w, h) = (i64::from(width), i64::from(height));
    let scale = (1..=4).find(|s| **shape == [1, 3, h * s, w * s]).ok_or_else(|| {
        ort::Error::new(format!(
            "output `{name}` has shape {shape:?}, expected [1, 3, s·{h}, s·{w}] for a scale s in 1..=4"
        ))
    })?;
    Ok(PlanarImage {
        width: width * scale as u32,
        height: height * scale as u32,
        data: data.to_vec(),
    })
}

/// Phase 1 session.
pub(super) struct OrtClean {
    pub(super) session: PhaseSession,
    output: String,
}

impl OrtClean {
    pub(super) fn load(
        engine: &Engine,
        path: &Path,
        working_size: u32,
    ) -> Result<Self, EngineError> {
        let session = PhaseSession::build(engine, path, false)?;
        session.expect(true, Some("image"), TensorElementType::Float32, 4)?;
        let output = session.expect(false, None, TensorElementType::Float32, 4)?;
        let model = Self { session, output };
        if engine.settings.warmup {
            let side = working_size.min(engine.settings.max_side);
            let image = PlanarImage::zeros(side, side);
            model
                .clean(&image, &CancelToken::new())
                .map_err(|e| EngineError::Warmup {
                    model: path.display().to_string(),
                    message: e.to_string(),
                })?;
        }
        Ok(model)
    }
}

impl CleanModel for OrtClean {
    fn clean(&self, image: &PlanarImage, cancel: &CancelToken) -> Result<PlanarImage, ModelError> {
        self.session.run(cancel, |session, options| {
            let outputs =
                session.run_with_options(ort::inputs!["image" => image_tensor(image)?], options)?;
            planar_output(&outputs, &self.output, image.width, image.height)
        })
    }

    fn provider(&self) -> Provider {
        self.session.provider
    }
}

/// Phase 2 session. `seed` and `strength` are optional inputs: a deterministic restorer
/// (the shipped upscaler) has neither, and then one attempt is all the gate makes.
pub(super) struct OrtSteer {
    pub(super) session: PhaseSession,
    output: String,
    seed: bool,
    strength: bool,
}

impl OrtSteer {
    pub(super) fn load(engine: &Engine, path: &Path) -> Result<Self, EngineError> {
        let session = PhaseSession::build(engine, path, false)?;
        session.expect(true, Some("image"), TensorElementType::Float32, 4)?;
        let names = session.input_names();
        if let Some(other) = names
            .iter()
            .find(|name| !["image", "seed", "strength"].contains(&name.as_str()))
        {
            return Err(EngineError::Contract {
                model: path.display().to_string(),
                message: format!(
                    "input `{other}` is not part of the phase-2 contract (image, and optionally seed and strength)"
                ),
            });
        }
        let seed = names.iter().any(|name| name == "seed");
        if seed {
            session.expect(true, Some("seed"), TensorElementType::Int64, 1)?;
        }
        let strength = names.iter().any(|name| name == "strength");
        if strength {
            session.expect(true, Some("strength"), TensorElementType::Float32, 1)?;
        }
        let output = session.expect(false, None, TensorElementType::Float32, 4)?;
        let model = Self {
            session,
            output,
            seed,
            strength,
        };
        if engine.settings.warmup {
            let image = PlanarImage::zeros(64, 64);
            model
                .steer(&image, 0, 1.0, &CancelToken::new())
                .map_err(|e| EngineError::Warmup {
                    model: path.display().to_string(),
                    message: e.to_string(),
                })?;
        }
        Ok(model)
    }
}

impl SteerModel for OrtSteer {
    fn steer(
        &self,
        image: &PlanarImage,
        seed: i64,
        strength: f32,
        cancel: &CancelToken,
    ) -> Result<PlanarImage, ModelError> {
        let seed = [seed];
        let strength = [strength];
        self.session.run(cancel, |session, options| {
            let mut inputs = ort::inputs!["image" => image_tensor(image)?];
            if self.seed {
                inputs.push((
                    "seed".into(),
                    TensorRef::from_array_view(([1usize], &seed[..]))?.into(),
                ));
            }
            if self.strength {
                inputs.push((
                    "strength".into(),
                    TensorRef::from_array_view(([1usize], &strength[..]))?.into(),
                ));
            }
            let outputs = session.run_with_options(inputs, options)?;
            scaled_output(&outputs, &self.output, image.width, image.height)
        })
    }

    fn retries_differ(&self) -> bool {
        self.seed || self.strength
    }

    fn provider(&self) -> Provider {
        self.session.provider
    }
}

/// Phase 3 session.
pub(super) struct OrtQuantize {
    pub(super) session: PhaseSession,
}

impl OrtQuantize {
    pub(super) fn load(engine: &Engine, path: &Path) -> Result<Self, EngineError> {
        let session = PhaseSession::build(engine, path, false)?;
        session.expect(true, Some("image"), TensorElementType::Float32, 4)?;
        session.expect(true, Some("palette"), TensorElementType::Float32, 2)?;
        session.expect(false, Some("labels"), TensorElementType::Int64, 3)?;
        let model = Self { session };
        if engine.settings.warmup {
            let palette =
                Palette::from_hex(&["000000", "ffffff"]).expect("a valid literal palette");
            let image = PlanarImage::zeros(64, 64);
            model
                .quantize(&image, &palette, &CancelToken::new())
                .map_err(|e| EngineError::Warmup {
                    model: path.display().to_string(),
                    message: e.to_string(),
                })?;
        }
        Ok(model)
    }
}

impl QuantizeModel for OrtQuantize {
    fn quantize(
        &self,
        image: &PlanarImage,
        palette: &Palette,
        cancel: &CancelToken,
    ) -> Result<LabelMap, ModelError> {
        let colors: Vec<f32> = palette.colors().iter().flat_map(|c| c.to_unit()).collect();
        let count = palette.len();
        let labels = self.session.run(cancel, |session, options| {
            let outputs = session.run_with_options(
                ort::inputs![
                    "image" => image_tensor(image)?,
                    "palette" => TensorRef::from_array_view(([count, 3usize], colors.as_slice()))?,
                ],
                options,
            )?;
            let (shape, data) = outputs["labels"].try_extract_tensor::<i64>()?;
            let expected = [1, i64::from(image.height), i64::from(image.width)];
            if **shape != expected {
                return Err(ort::Error::new(format!(
                    "output `labels` has shape {shape:?}, expected {expected:?}"
                )));
            }
            Ok(data.to_vec())
        })?;
        let labels = labels
            .into_iter()
            .map(|label| {
                u8::try_from(label)
                    .ok()
                    .filter(|l| usize::from(*l) < count)
                    .ok_or_else(|| {
                        ModelError::BadOutput(format!(
                            "label {label} is outside the palette of {count} colours"
                        ))
                    })
            })
            .collect::<Result<Vec<u8>, ModelError>>()?;
        Ok(LabelMap {
            width: image.width,
            height: image.height,
            labels,
        })
    }

    fn provider(&self) -> Provider {
        self.session.provider
    }
}
