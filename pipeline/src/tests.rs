//! Orchestrator tests over small Rust fakes of the phase models (the real ONNX models are
//! exercised in `tests/pipeline.rs`).

use std::path::PathBuf;
use std::sync::Arc;

use super::*;
use crate::model::{CleanModel, LabelMap, ModelError, PlanarImage, QuantizeModel, SteerModel};
use crate::options::{
    CleanSettings, IouRetrySettings, QuantizeSettings, SteerSettings, TraceMode, TraceOptions,
};
use crate::palette::srgb_to_oklab;
use crate::palette::Palette;

/// Phase 1 fake: returns its input; optionally cancels the token while "running".
struct FakeClean {
    cancel_on_run: Option<CancelToken>,
}

impl CleanModel for FakeClean {
    fn clean(&self, image: &PlanarImage, _cancel: &CancelToken) -> Result<PlanarImage, ModelError> {
        if let Some(token) = &self.cancel_on_run {
            token.cancel();
        }
        Ok(image.clone())
    }
    fn provider(&self) -> Provider {
        Provider::Cpu
    }
}

/// Phase 2 fake with the test models' contract: shift right by floor(strength * k) pixels,
/// repeating the left edge column.
struct FakeShift {
    pixels_per_strength: f32,
}

impl SteerModel for FakeShift {
    fn steer(
        &self,
        image: &PlanarImage,
        _seed: i64,
        strength: f32,
        _cancel: &CancelToken,
    ) -> Result<PlanarImage, ModelError> {
        let shift = (strength * self.pixels_per_strength).floor() as usize;
        let (width, height) = (image.width as usize, image.height as usize);
        let mut out = image.clone();
        for channel in 0..3 {
            for y in 0..height {
                for x in 0..width {
                    let source = x.saturating_sub(shift);
                    let base = channel * width * height + y * width;
                    out.data[base + x] = image.data[base + source];
                }
            }
        }
        Ok(out)
    }
    fn provider(&self) -> Provider {
        Provider::Cpu
    }
}

/// Phase 3 fake: nearest palette colour in OKLab, like the shipped graph.
struct FakeQuantize;

impl QuantizeModel for FakeQuantize {
    fn quantize(
        &self,
        image: &PlanarImage,
        palette: &Palette,
        _cancel: &CancelToken,
    ) -> Result<LabelMap, ModelError> {
        let colors: Vec<[f32; 3]> = palette
            .colors()
            .iter()
            .map(|c| srgb_to_oklab(c.to_unit()))
            .collect();
        let labels = (0..image.pixel_count())
            .map(|index| {
                let lab = srgb_to_oklab(image.pixel(index));
                let distance = |c: &[f32; 3]| (0..3).map(|i| (c[i] - lab[i]).powi(2)).sum::<f32>();
                (0..colors.len())
                    .min_by(|a, b| distance(&colors[*a]).total_cmp(&distance(&colors[*b])))
                    .unwrap_or(0) as u8
            })
            .collect();
        Ok(LabelMap {
            width: image.width,
            height: image.height,
            labels,
        })
    }
    fn provider(&self) -> Provider {
        Provider::Cpu
    }
}

fn settings() -> PipelineSettings {
    PipelineSettings {
        working_size: 1024,
        pad_multiple: 32,
        phase1: CleanSettings {
            enabled: true,
            model: PathBuf::from("models/clean.onnx"),
        },
        phase2: SteerSettings {
            enabled: false,
            model: None,
            strength: 0.6,
            seed: 0,
            cpu_max_side: 0,
            max_side: 0,
            iou_retry: IouRetrySettings {
                max_retries: 2,
                iou_threshold: 0.85,
                allow_skip_on_failure: true,
                strength_decay: 0.5,
            },
        },
        phase3: QuantizeSettings {
            model: PathBuf::from("models/quantize.onnx"),
            default_palette: None,
            max_colors: 16,
            kmeans_iterations: 24,
            kmeans_sample: 65536,
        },
        phase4: trace_options(TraceMode::Spline),
    }
}

/// The configured phase-4 defaults with `mode` (shared with the tracer's unit tests).
pub(super) fn trace_options(mode: TraceMode) -> TraceOptions {
    TraceOptions {
        mode,
        filter_speckle: 4,
        corner_threshold: 60.0,
        fit_tolerance: 0.4,
        path_precision: 2,
        alpha: crate::alpha::AlphaMode::Levels,
        alpha_levels: 8,
        supersample: 4,
        layout: Default::default(),
        gap_filler: 0.0,
        primitives: true,
    }
}

fn pipeline_with(
    settings: PipelineSettings,
    clean: FakeClean,
    steer: Option<FakeShift>,
) -> Pipeline {
    Pipeline::new(
        settings,
        PhaseModels {
            clean: Some(Arc::new(clean)),
            steer: steer.map(|s| Arc::new(s) as Arc<dyn SteerModel>),
            quantize: Arc::new(FakeQuantize),
        },
    )
}

fn pipeline() -> Pipeline {
    pipeline_with(
        settings(),
        FakeClean {
            cancel_on_run: None,
        },
        None,
    )
}

/// 64×48: left half red, right half blue, a green disc in the middle, transparent top row.
fn image() -> DecodedImage {
    let (width, height) = (64u32, 48u32);
    let mut rgba = Vec::new();
    for y in 0..height {
        for x in 0..width {
            let (dx, dy) = (x as f32 - 32.0, y as f32 - 24.0);
            let pixel = if y == 0 {
                [0, 0, 0, 0]
            } else if dx * dx + dy * dy < 100.0 {
                [0, 200, 0, 255]
            } else if x < 32 {
                [220, 20, 20, 255]
            } else {
                [20, 20, 220, 255]
            };
            rgba.extend_from_slice(&pixel);
        }
    }
    DecodedImage::from_rgba(width, height, rgba).unwrap()
}

/// 64×32: left half red, right half blue; a right shift by d px has IoU
/// 0.5·(32/(32+d) + (32−d)/32).
fn split_image() -> DecodedImage {
    let rgba = (0..64 * 32)
        .flat_map(|i| {
            if i % 64 < 32 {
                [220, 20, 20, 255]
            } else {
                [20, 20, 220, 255]
            }
        })
        .collect();
    DecodedImage::from_rgba(64, 32, rgba).unwrap()
}

fn run(pipeline: &Pipeline, request: &Request) -> Result<Output, PipelineError> {
    pipeline.run(request, &CancelToken::new(), &mut |_| {})
}

fn fills(svg: &str) -> Vec<String> {
    svg.split("fill=\"")
        .skip(1)
        .map(|rest| rest[..7].to_owned())
        .collect()
}

#[test]
fn runs_every_phase_and_fills_only_with_the_automatic_palette() {
    let output = run(&pipeline(), &Request::new(image())).unwrap();
    let metadata = &output.metadata;
    assert_eq!((metadata.width, metadata.height), (64, 48));
    assert_eq!(metadata.palette.len(), 3, "{:?}", metadata.palette);
    assert_eq!(metadata.colors_used, 3);
    assert_eq!(metadata.paths, 3);
    assert_eq!(metadata.svg_bytes, output.svg.len());
    for fill in fills(&output.svg) {
        assert!(
            metadata.palette.contains(&fill),
            "{fill} not in {:?}",
            metadata.palette
        );
    }
    let keys: Vec<&String> = metadata.phases.keys().collect();
    assert_eq!(keys, ["phase1", "phase3", "phase4"]);
    assert!(output.svg.contains("viewBox=\"0 0 64 48\""));
    assert_eq!(metadata.steering, SteeringReport::default());
}

#[test]
fn uses_the_request_palette_exactly() {
    let mut request = Request::new(image());
    request.options.palette = Some(Palette::from_hex(&["000000", "ffffff"]).unwrap());
    let output = run(&pipeline(), &request).unwrap();
    assert_eq!(output.metadata.palette, vec!["#000000", "#ffffff"]);
    for fill in fills(&output.svg) {
        assert!(fill == "#000000" || fill == "#ffffff", "{fill}");
    }
}

#[test]
fn metadata_serialises_with_the_documented_keys() {
    let output = run(&pipeline(), &Request::new(image())).unwrap();
    let json = serde_json::to_value(&output.metadata).unwrap();
    for key in [
        "width",
        "height",
        "palette",
        "colors_used",
        "paths",
        "svg_bytes",
        "phases",
        "steering",
        "warnings",
        "total_ms",
    ] {
        assert!(json.get(key).is_some(), "missing {key}: {json}");
    }
    assert_eq!(json["phases"]["phase1"]["provider"], "cpu");
    assert_eq!(json["steering"]["iou"], serde_json::Value::Null);
}

#[test]
fn out_of_range_max_colors_names_the_field_and_value() {
    let mut request = Request::new(image());
    request.options.max_colors = Some(65);
    let error = run(&pipeline(), &request).unwrap_err();
    assert_eq!(
        error.to_string(),
        "phase3: max_colors: 65 is outside 1..=64"
    );
}

#[test]
fn out_of_range_steering_strength_is_invalid_input() {
    let mut request = Request::new(image());
    request.options.steering = Some(SteeringRequest {
        enabled: true,
        seed: None,
        strength: Some(1.5),
    });
    let error = run(&pipeline(), &request).unwrap_err();
    assert!(matches!(
        error.kind,
        PipelineErrorKind::InvalidInput { ref field, .. } if field == "steering.strength"
    ));
}

#[test]
fn reports_progress_after_each_phase_in_order() {
    let mut phases = Vec::new();
    pipeline()
        .run(&Request::new(image()), &CancelToken::new(), &mut |p| {
            phases.push((p.phase, p.percent))
        })
        .unwrap();
    assert_eq!(
        phases,
        vec![
            (Phase::Decode, 5),
            (Phase::Clean, 25),
            (Phase::Quantize, 65),
            (Phase::Trace, 100)
        ]
    );
}

#[test]
fn cancellation_during_phase1_stops_before_phase3() {
    let cancel = CancelToken::new();
    let pipeline = pipeline_with(
        settings(),
        FakeClean {
            cancel_on_run: Some(cancel.clone()),
        },
        None,
    );
    let mut phases = Vec::new();
    let error = pipeline
        .run(&Request::new(image()), &cancel, &mut |p| {
            phases.push(p.phase)
        })
        .unwrap_err();
    assert!(matches!(error.kind, PipelineErrorKind::Cancelled));
    assert_eq!(error.phase, Phase::Quantize);
    assert!(!phases.contains(&Phase::Trace));
}

#[test]
fn an_already_cancelled_token_stops_at_once() {
    let cancel = CancelToken::new();
    cancel.cancel();
    let error = pipeline()
        .run(&Request::new(image()), &cancel, &mut |_| {})
        .unwrap_err();
    assert_eq!(error.phase, Phase::Decode);
    assert!(matches!(error.kind, PipelineErrorKind::Cancelled));
}

#[test]
fn a_fully_transparent_image_gives_no_paths_and_a_warning() {
    let image = DecodedImage::from_rgba(8, 8, vec![0; 256]).unwrap();
    let output = run(&pipeline(), &Request::new(image)).unwrap();
    assert_eq!(output.metadata.paths, 0);
    assert!(!output.svg.contains("<path"));
    assert_eq!(output.metadata.warnings.len(), 1);
}

fn steering_settings(threshold: f32, allow_skip: bool) -> PipelineSettings {
    let mut settings = settings();
    settings.phase2.enabled = true;
    settings.phase2.model = Some(PathBuf::from("models/steer_shift_48.onnx"));
    settings.phase2.iou_retry.iou_threshold = threshold;
    settings.phase2.iou_retry.allow_skip_on_failure = allow_skip;
    settings
}

fn steered(
    pixels_per_strength: f32,
    strength: f32,
    allow_skip: bool,
) -> Result<Output, PipelineError> {
    let pipeline = pipeline_with(
        steering_settings(0.85, allow_skip),
        FakeClean {
            cancel_on_run: None,
        },
        Some(FakeShift {
            pixels_per_strength,
        }),
    );
    let mut request = Request::new(split_image());
    request.options.steering = Some(SteeringRequest {
        enabled: true,
        seed: Some(3),
        strength: Some(strength),
    });
    run(&pipeline, &request)
}

#[test]
fn gate_accepts_a_small_drift_at_the_first_attempt() {
    let output = steered(2.0, 0.6, false).unwrap();
    let steering = &output.metadata.steering;
    assert_eq!(steering.attempts, 1);
    assert!(steering.accepted);
    assert!(output.metadata.phases.contains_key("phase2"));
}

#[test]
fn gate_retries_with_lower_strength_until_it_passes() {
    // 0.2 × 48 = 9 px of drift fails on a 64-wide split; 0.1 × 48 = 4 px passes.
    let output = steered(48.0, 0.2, false).unwrap();
    let steering = &output.metadata.steering;
    assert_eq!(steering.attempts, 2, "{steering:?}");
    assert!(steering.accepted);
    assert!(output.metadata.warnings.is_empty());
}

#[test]
fn gate_failure_traces_the_plate_with_a_warning_when_allowed() {
    let output = steered(512.0, 0.6, true).unwrap();
    let steering = &output.metadata.steering;
    assert_eq!(steering.attempts, 3);
    assert!(!steering.accepted);
    assert_eq!(steering.scale, 1);
    assert!(steering.note.as_deref().unwrap().contains("refused"));
    assert_eq!(output.metadata.warnings.len(), 1);
    assert!(output.metadata.warnings[0].contains("0.85"));
}

#[test]
fn gate_failure_is_an_error_naming_best_iou_and_threshold_when_not_allowed() {
    let error = steered(512.0, 0.6, false).unwrap_err();
    assert_eq!(error.phase, Phase::Steer);
    match error.kind {
        PipelineErrorKind::GateFailed {
            best_iou,
            threshold,
            attempts,
        } => {
            assert_eq!(threshold, 0.85);
            assert_eq!(attempts, 3);
            assert!(best_iou < 0.85);
        }
        other => panic!("expected GateFailed, got {other:?}"),
    }
    let message = steered(512.0, 0.6, false).unwrap_err().to_string();
    assert!(message.contains("threshold 0.85"), "{message}");
}

#[test]
fn a_request_can_turn_steering_off() {
    let pipeline = pipeline_with(
        steering_settings(0.85, false),
        FakeClean {
            cancel_on_run: None,
        },
        Some(FakeShift {
            pixels_per_strength: 512.0,
        }),
    );
    let mut request = Request::new(image());
    request.options.steering = Some(SteeringRequest {
        enabled: false,
        seed: None,
        strength: None,
    });
    let output = run(&pipeline, &request).unwrap();
    assert_eq!(output.metadata.steering.attempts, 0);
}

/// 64×64 of 2×1 blocks in four colours picked by a fixed LCG: fragmented like a photo.
fn photo_like_image() -> DecodedImage {
    let colors = [[230, 40, 40], [40, 40, 230], [40, 200, 60], [240, 220, 60]];
    let mut state = 12345u32;
    let mut blocks = Vec::new();
    for _ in 0..32 * 64 {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        blocks.push(colors[(state >> 16) as usize % 4]);
    }
    let rgba = (0..64 * 64)
        .flat_map(|i| {
            let [r, g, b] = blocks[(i / 64) * 32 + (i % 64) / 2];
            [r, g, b, 255]
        })
        .collect();
    DecodedImage::from_rgba(64, 64, rgba).unwrap()
}

fn subpaths(svg: &str) -> usize {
    svg.matches(['M', 'm']).count()
}

#[test]
fn a_photos_small_regions_are_kept_unless_the_request_sets_the_speckle_size() {
    let pipeline = pipeline();
    let default = run(&pipeline, &Request::new(photo_like_image())).unwrap();
    let mut request = Request::new(photo_like_image());
    request.options.trace.filter_speckle = Some(4);
    let filtered = run(&pipeline, &request).unwrap();
    // Two-pixel regions survive by default (the speckle filter is off on photos) and are
    // merged away when the request asks for a speckle size of 4.
    assert!(
        subpaths(&default.svg) > 2 * subpaths(&filtered.svg),
        "default {} subpaths, filter_speckle 4: {}",
        subpaths(&default.svg),
        subpaths(&filtered.svg)
    );
}

#[test]
fn phase_2_gets_finer_palette_and_levels_unless_the_job_set_max_colors() {
    let upscaled = |request: &Request, settings: &PipelineSettings| {
        let mut resolved = resolve::Resolved::new(request, settings).unwrap();
        resolved.upscaling();
        (resolved.palette, resolved.trace.alpha_levels)
    };
    let mut settings = settings();
    settings.phase3.max_colors = 8;
    settings.phase4.alpha_levels = 8;
    let automatic = |max_colors, given| resolve::PaletteChoice::Automatic { max_colors, given };
    assert_eq!(
        upscaled(&Request::new(image()), &settings),
        (automatic(12, false), 12)
    );

    // A job's own max_colors is used as given; levels stop at 16.
    let mut request = Request::new(image());
    request.options.max_colors = Some(8);
    settings.phase4.alpha_levels = 12;
    assert_eq!(upscaled(&request, &settings), (automatic(8, true), 16));
}
