//! Unit tests of the settings: layers, ranges, enums, unknown keys, origins in errors.

use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::engine::Device;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load_with(overlay: Option<&str>, env: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    let dir = tempfile::tempdir().unwrap();
    let overlay_path = overlay.map(|text| {
        let path = dir.path().join("overlay.toml");
        std::fs::write(&path, text).unwrap();
        path
    });
    Settings::load(&LoadOptions {
        root: root(),
        overlay: overlay_path,
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        overrides: Vec::new(),
    })
}

#[test]
fn defaults_load_and_validate() {
    let settings = load_with(None, &[]).unwrap();
    assert_eq!(settings.pipeline.working_size, 1024);
    assert_eq!(settings.engine.device, Device::Auto);
    // Phase 2's upscaler is on by default, phase 1 off (issue 19, bench/upscale.md).
    assert!(settings.pipeline.phase2.enabled);
    assert!(settings
        .pipeline
        .phase2
        .model
        .as_ref()
        .is_some_and(|model| model.ends_with("models/upscale_x4.onnx")));
    assert_eq!(settings.pipeline.phase2.cpu_max_side, 160);
    assert!(!settings.pipeline.phase1.enabled);
    assert_eq!(settings.pipeline.phase4.mode, TraceMode::Auto);
    assert_eq!(settings.profile, None);
}

#[test]
fn phase_three_sees_phase_two_outputs_up_to_four_times_its_largest_input() {
    // TensorRT's shape profile of the labelling model must hold phase 2's output: the padded
    // working image at most phase2.max_side (512) long, upscaled 4×.
    let settings = load_with(None, &[]).unwrap();
    assert_eq!(settings.engine.max_side, 1024);
    assert_eq!(settings.engine.labels_max_side, 2048);
    let off = load_with(Some("[phase2]\nenabled = false\n"), &[]).unwrap();
    assert_eq!(off.engine.labels_max_side, 1024);
    // No size limit on phase 2: the whole working size, 4×.
    let unlimited = load_with(Some("[phase2]\nmax_side = 0\n"), &[]).unwrap();
    assert_eq!(unlimited.engine.labels_max_side, 4096);
    // A small phase 2 limit never shrinks the profile below the working size.
    let small = load_with(Some("[phase2]\nmax_side = 100\n"), &[]).unwrap();
    assert_eq!(small.engine.labels_max_side, 1024);
}

#[test]
fn bad_device_names_key_value_and_allowed() {
    let error = load_with(Some("[hardware]\ndevice = \"gpu9000\"\n"), &[]).unwrap_err();
    assert!(error.origin.ends_with("overlay.toml"), "{error}");
    assert_eq!(
        error.detail,
        "hardware.device: \"gpu9000\" is not one of auto, tensorrt, cuda, cpu"
    );
}

#[test]
fn threshold_out_of_range_is_refused() {
    let error = load_with(Some("[phase2.iou_retry]\niou_threshold = 1.5\n"), &[]).unwrap_err();
    assert_eq!(
        error.detail,
        "phase2.iou_retry.iou_threshold: 1.5 is outside (0, 1]"
    );
}

#[test]
fn enabled_steering_needs_a_model() {
    let error = load_with(Some("[phase2]\nenabled = true\nmodel = \"\"\n"), &[]).unwrap_err();
    assert_eq!(
        error.detail,
        "phase2.enabled is true but phase2.model is not set"
    );
    assert!(error.origin.ends_with("overlay.toml"));
}

#[test]
fn unknown_key_is_refused_with_its_file() {
    let error = load_with(Some("[phase1]\nmodle = \"x.onnx\"\n"), &[]).unwrap_err();
    assert!(error.origin.ends_with("overlay.toml"));
    assert_eq!(error.detail, "phase1.modle: unknown key");
    let error = load_with(Some("[phase9]\nenabled = true\n"), &[]).unwrap_err();
    assert_eq!(error.detail, "phase9: unknown key");
}

#[test]
fn missing_model_file_is_refused() {
    let error = load_with(
        Some("[phase1]\nenabled = true\nmodel = \"models/nope.onnx\"\n"),
        &[],
    )
    .unwrap_err();
    assert!(
        error
            .detail
            .starts_with("phase1.model: \"models/nope.onnx\" does not exist"),
        "{error}"
    );
}

#[test]
fn environment_overrides_and_is_named_in_errors() {
    let settings = load_with(None, &[("GEMINI3__HARDWARE__DEVICE", "cpu")]).unwrap();
    assert_eq!(settings.engine.device, Device::Cpu);
    let error = load_with(None, &[("GEMINI3__HARDWARE__DEVICE", "gpu9000")]).unwrap_err();
    assert_eq!(error.origin, "GEMINI3__HARDWARE__DEVICE");
    let error = load_with(None, &[("GEMINI3__PHASE1__MODLE", "x")]).unwrap_err();
    assert_eq!(error.origin, "GEMINI3__PHASE1__MODLE");
    assert_eq!(error.detail, "phase1.modle: unknown key");
    let settings = load_with(
        None,
        &[("GEMINI3__PHASE3__DEFAULT_PALETTE", "ff0000, #00FF00")],
    )
    .unwrap();
    assert_eq!(
        settings.pipeline.phase3.default_palette.unwrap().hex_list(),
        vec!["#ff0000", "#00ff00"]
    );
}

#[test]
fn wrong_type_names_key_and_file() {
    let error = load_with(Some("[pipeline]\nworking_size = \"big\"\n"), &[]).unwrap_err();
    assert!(error.origin.ends_with("overlay.toml"), "{error}");
    assert!(error.detail.contains("pipeline.working_size"), "{error}");
    assert!(error.detail.contains("big"), "{error}");
}

#[test]
fn gpu_model_selects_rtx5090_profile() {
    let settings = load_with(None, &[("GPU_MODEL", "RTX_5090")]).unwrap();
    assert_eq!(settings.profile.as_deref(), Some("rtx5090"));
    assert!(settings.engine.require_gpu);
    assert!(settings.engine.tensorrt.fp16);
    assert!(settings
        .engine
        .tensorrt
        .engine_cache_path
        .starts_with("/runpod-volume"));
    let error = load_with(None, &[("GEMINI3_PROFILE", "h100")]).unwrap_err();
    assert!(error.detail.contains("\"h100\""), "{error}");
    assert!(error.detail.contains("rtx5090"), "{error}");
}

#[test]
fn disable_tensorrt_variable_is_honoured() {
    let settings = load_with(None, &[("DISABLE_TENSORRT", "1")]).unwrap();
    assert!(settings.engine.disable_tensorrt);
}

#[test]
fn bad_default_palette_names_value() {
    let error = load_with(
        Some("[phase3]\ndefault_palette = [\"ff0000\", \"zz\"]\n"),
        &[],
    )
    .unwrap_err();
    assert!(
        error
            .detail
            .starts_with("phase3.default_palette: palette[1]: \"zz\""),
        "{error}"
    );
}

#[test]
fn handler_toml_loads_and_validates() {
    let settings = HandlerSettings::load(&root(), None, &[]).unwrap();
    assert_eq!(settings.worker.job_deadline, Duration::from_secs(300));
    assert_eq!(settings.output.max_inline_bytes, 9_000_000);
    assert_eq!(settings.input.memory_budget_bytes, 16384 << 20);
    let env = vec![(
        "GEMINI3_HANDLER__INPUT__MEMORY_BUDGET_MB".to_owned(),
        "10".to_owned(),
    )];
    let error = HandlerSettings::load(&root(), None, &env).unwrap_err();
    assert!(
        error
            .detail
            .starts_with("input.memory_budget_mb: 10 is outside"),
        "{error}"
    );
    let env = vec![(
        "GEMINI3_HANDLER__WORKER__CONCURRENCY".to_owned(),
        "0".to_owned(),
    )];
    let error = HandlerSettings::load(&root(), None, &env).unwrap_err();
    assert_eq!(error.origin, "GEMINI3_HANDLER__WORKER__CONCURRENCY");
    assert_eq!(error.detail, "worker.concurrency: 0 is outside 1..=256");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("handler.toml");
    std::fs::write(
        &path,
        std::fs::read_to_string(root().join("handler.toml")).unwrap() + "\n[extra]\nx = 1\n",
    )
    .unwrap();
    let error = HandlerSettings::load(&root(), Some(&path), &[]).unwrap_err();
    assert_eq!(error.detail, "extra: unknown key");
}

proptest::proptest! {
    #[test]
    fn out_of_range_thresholds_are_refused(value in proptest::prop_oneof![-10.0f64..=0.0, 1.0001f64..10.0]) {
        let text = format!("[phase2.iou_retry]\niou_threshold = {value:?}\n");
        let error = load_with(Some(&text), &[]).unwrap_err();
        proptest::prop_assert!(error.detail.starts_with("phase2.iou_retry.iou_threshold"));
    }
}

#[test]
fn each_range_and_enum_is_named_with_its_key() {
    let detail = |overlay: &str| load_with(Some(overlay), &[]).unwrap_err().detail;
    assert_eq!(
        detail("[pipeline]\nworking_size = 9\n"),
        "pipeline.working_size: 9 is outside 64..=8192"
    );
    assert_eq!(
        detail("[phase4]\nmode = \"curvy\"\n"),
        "phase4.mode: \"curvy\" is not one of spline, polygon, pixel, auto"
    );
    assert_eq!(
        detail("[phase4]\nalpha = \"soft\"\n"),
        "phase4.alpha: \"soft\" is not one of levels, threshold"
    );
    assert_eq!(
        detail("[phase4]\nfit_tolerance = 0.01\n"),
        "phase4.fit_tolerance: 0.01 is outside [0.05, 4]"
    );
    assert_eq!(
        detail("[phase4]\nalpha_levels = 17\n"),
        "phase4.alpha_levels: 17 is outside 2..=16"
    );
    assert_eq!(
        detail("[hardware.cuda]\nconv_algorithm_search = \"fast\"\n"),
        "hardware.cuda.conv_algorithm_search: \"fast\" is not one of heuristic, exhaustive, default"
    );
    assert_eq!(
        detail("[hardware.tensorrt]\nprofile_min_side = 2000\n"),
        "hardware.tensorrt.profile_min_side: 2000 is outside 1..=1024"
    );
    // An integer where a number is asked for is a number.
    let settings = load_with(Some("[phase4]\nfit_tolerance = 1\n"), &[]).unwrap();
    assert_eq!(settings.pipeline.phase4.fit_tolerance, 1.0);
}

#[test]
fn a_table_where_a_value_belongs_names_the_key() {
    let error = load_with(Some("phase1 = 5\n"), &[]).unwrap_err();
    assert!(error.origin.ends_with("overlay.toml"), "{error}");
    assert!(error.detail.starts_with("phase1: invalid type"), "{error}");
}

#[test]
fn handler_worker_section_is_the_runtime_config() {
    let settings = HandlerSettings::load(&root(), None, &[]).unwrap();
    assert_eq!(settings.worker.concurrency.next(0).get(), 1);
    assert_eq!(
        settings.worker.progress_interval,
        Duration::from_millis(250)
    );
    assert_eq!(settings.worker.drain_timeout, Duration::from_secs(25));
    // Keys the file does not set keep the runtime's defaults.
    let defaults = runpod::WorkerConfig::default();
    assert_eq!(settings.worker.take_timeout, defaults.take_timeout);
    assert_eq!(settings.worker.max_result_bytes, defaults.max_result_bytes);
    settings.worker.validate().unwrap();
    // A runtime field the file may not set is an unknown key, named with its variable.
    let env = vec![(
        "GEMINI3_HANDLER__WORKER__TAKE_TIMEOUT".to_owned(),
        "5".to_owned(),
    )];
    let error = HandlerSettings::load(&root(), None, &env).unwrap_err();
    assert_eq!(error.origin, "GEMINI3_HANDLER__WORKER__TAKE_TIMEOUT");
    assert_eq!(error.detail, "worker.take_timeout: unknown key");
    let env = vec![(
        "GEMINI3_HANDLER__WORKER__JOB_DEADLINE_S".to_owned(),
        "0".to_owned(),
    )];
    let error = HandlerSettings::load(&root(), None, &env).unwrap_err();
    assert_eq!(
        error.detail,
        "worker.job_deadline_s: 0 is outside (0, 86400] seconds"
    );
}
