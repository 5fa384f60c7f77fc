//! Phase 2: whether it runs for a job, and its attempts gated by label IoU against the clean
//! plate (an output may be `s ×` the plate; see ARCHITECTURE.md, "Phase 2 at scale").

use std::sync::Arc;

use super::model::{self, PlanarImage, Provider};
use super::outputs::output_scale;
use super::palette::Palette;
use super::resolve::SteeringChoice;
use super::{
    gate, quantize_cropped, working, Phase, Pipeline, PipelineError, PipelineErrorKind, Run,
    SteeringReport,
};

impl Pipeline {
    /// The steering model when phase 2 should run for this request. When it is skipped for
    /// the image's size, `report.note` says why (and a warning, when the job asked for it).
    pub(super) fn steering_wanted(
        &self,
        choice: SteeringChoice,
        working: &working::WorkingImage,
        report: &mut SteeringReport,
        warnings: &mut Vec<String>,
    ) -> Option<Arc<dyn model::SteerModel>> {
        let asked = choice.asked;
        if asked == Some(false) {
            return None;
        }
        let phase2 = &self.settings.phase2;
        let steer = match (&self.models.steer, phase2.enabled) {
            (Some(steer), true) => steer.clone(),
            _ => {
                if asked == Some(true) {
                    warnings.push(
                        "steering was requested but this worker has no steering model (phase2.enabled is false); phase 2 was skipped"
                            .to_owned(),
                    );
                }
                return None;
            }
        };
        let long = working.width.max(working.height);
        let on_cpu = steer.provider() == Provider::Cpu;
        let limits = [
            (
                "phase2.cpu_max_side",
                phase2.cpu_max_side,
                " on the CPU provider",
                on_cpu,
            ),
            ("phase2.max_side", phase2.max_side, "", true),
        ];
        if let Some((key, side, provider, _)) = limits
            .into_iter()
            .find(|(_, side, _, applies)| *applies && *side > 0 && long > *side)
        {
            let note = format!(
                "phase 2 skipped: the working image's long side is {long} px, over {key} = {side}{provider}"
            );
            if asked == Some(true) {
                warnings.push(note.clone());
            }
            report.note = Some(note);
            return None;
        }
        Some(steer)
    }

    /// Phase 2: steering attempts gated by label IoU against the clean plate.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn steer(
        &self,
        steer: &dyn model::SteerModel,
        choice: SteeringChoice,
        plate: &PlanarImage,
        plate_labels: &[u8],
        palette: &Palette,
        working: &working::WorkingImage,
        run: &mut Run<'_>,
    ) -> Result<SteerOutcome, PipelineError> {
        let phase2 = &self.settings.phase2;
        let gate = &phase2.iou_retry;
        let (seed, strength) = (choice.seed, choice.strength);
        let mut best: Option<(f32, Accepted)> = None;
        let mut attempts = 0u32;
        // A model that reads neither seed nor strength gives the same output every time.
        let tries = if steer.retries_differ() {
            gate.max_retries + 1
        } else {
            1
        };
        for attempt in 0..tries {
            run.check(Phase::Steer)?;
            let attempt_seed = seed.wrapping_add(i64::from(attempt));
            let attempt_strength = strength * gate.strength_decay.powi(attempt as i32);
            let steered = steer
                .steer(plate, attempt_seed, attempt_strength, run.cancel)
                .map_err(PipelineError::model(Phase::Steer))?;
            let scale = output_scale(plate, &steered)?;
            let (width, height) = (working.width * scale, working.height * scale);
            let labels = quantize_cropped(
                self.models.quantize.as_ref(),
                &steered,
                palette,
                (width, height),
                run.cancel,
            )
            .map_err(|error| PipelineError::new(Phase::Steer, error.kind))?;
            attempts += 1;
            // The gate compares at the plate's resolution.
            let coarse =
                gate::downsample_majority(&labels, width as usize, height as usize, scale as usize);
            // An output at s× places edges between the plate's pixels: one plate pixel of
            // edge placement is forgiven (`gate::forgive_edges`); at 1× the maps compare as
            // they are.
            let coarse = if scale > 1 {
                gate::forgive_edges(
                    plate_labels,
                    &coarse,
                    working.width as usize,
                    working.height as usize,
                )
            } else {
                coarse
            };
            let iou = gate::weighted_iou(plate_labels, &coarse, &working.opaque);
            tracing::debug!(
                phase = "phase2",
                attempt,
                seed = attempt_seed,
                strength = attempt_strength,
                scale,
                iou,
                "steering attempt"
            );
            let passed = iou >= gate.iou_threshold;
            if best.as_ref().is_none_or(|(best_iou, _)| iou > *best_iou) {
                best = Some((
                    iou,
                    Accepted {
                        labels,
                        image: steered,
                        scale,
                    },
                ));
            }
            if passed {
                break;
            }
        }
        let (best_iou, attempt) = best.ok_or_else(|| {
            PipelineError::new(
                Phase::Steer,
                PipelineErrorKind::Internal("no steering attempt was made".to_owned()),
            )
        })?;
        let accepted = best_iou >= gate.iou_threshold;
        let mut report = SteeringReport {
            attempts,
            iou: Some(best_iou),
            accepted,
            scale: if accepted { attempt.scale } else { 1 },
            note: None,
        };
        if accepted {
            return Ok(SteerOutcome {
                accepted: Some(attempt),
                report,
            });
        }
        if !gate.allow_skip_on_failure {
            return Err(PipelineError::new(
                Phase::Steer,
                PipelineErrorKind::GateFailed {
                    best_iou,
                    threshold: gate.iou_threshold,
                    attempts,
                },
            ));
        }
        // Refused: its geometry moved too far from the plate's, so the plate is traced.
        let note = format!(
            "phase2: no steering attempt reached the IoU threshold {} (best {best_iou:.3} of {attempts} attempts); the output was refused and the clean plate traced",
            gate.iou_threshold
        );
        run.warnings.push(note.clone());
        report.note = Some(note);
        Ok(SteerOutcome {
            accepted: None,
            report,
        })
    }
}

/// What the gate made of phase 2: the accepted attempt, if any, and the report.
pub(super) struct SteerOutcome {
    pub(super) accepted: Option<Accepted>,
    pub(super) report: SteeringReport,
}

/// An accepted phase-2 output.
pub(super) struct Accepted {
    /// Its labels, at `scale ×` the working size.
    pub(super) labels: Vec<u8>,
    /// The steered image the labels came from (padded, `scale ×` the plate).
    pub(super) image: PlanarImage,
    /// Its size over the plate's.
    pub(super) scale: u32,
}
