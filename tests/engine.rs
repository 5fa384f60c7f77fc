//! The shipped phase models run through the engine on CPU, compared with plain-Rust
//! references; the execution-provider chain's fallback; only the enabled phases built, warm-up
//! or not; library errors.

use std::path::PathBuf;
use std::process::Command;

use gemini3::cancel::CancelToken;
use gemini3::engine::{Engine, EngineError};
use gemini3::pipeline::model::{PlanarImage, Provider};
use gemini3::pipeline::palette::{srgb_to_oklab, Palette};
use gemini3::settings::{LoadOptions, Settings};
use sha2::Digest;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn settings_with(env: &[(&str, &str)]) -> Settings {
    Settings::load(&LoadOptions {
        root: root(),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    })
    .expect("valid settings")
}

fn cpu_settings() -> Settings {
    settings_with(&[("GEMINI3__HARDWARE__DEVICE", "cpu")])
}

/// The guided filter, the configured alternative to the learned phase-1 model (whose own tests
/// are in tests/clean_model.rs).
fn guided_settings() -> Settings {
    settings_with(&[
        ("GEMINI3__HARDWARE__DEVICE", "cpu"),
        ("GEMINI3__PHASE1__ENABLED", "true"),
        ("GEMINI3__PHASE1__MODEL", "models/clean_guided.onnx"),
    ])
}

/// A deterministic pseudo-random image (xorshift), so failures reproduce.
fn noise_image(width: u32, height: u32, seed: u64) -> PlanarImage {
    let mut state = seed.max(1);
    let mut image = PlanarImage::zeros(width, height);
    for value in image.data.iter_mut() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *value = (state % 10_000) as f32 / 9_999.0;
    }
    image
}

#[test]
fn manifest_sha256s_match_the_shipped_models() {
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("models/manifest.json")).unwrap(),
    )
    .unwrap();
    let models = manifest["models"].as_array().unwrap();
    assert!(models.len() >= 6);
    for entry in models {
        let file = entry["file"].as_str().unwrap();
        let bytes = std::fs::read(root().join("models").join(file)).unwrap();
        let digest = hex::encode(sha2::Sha256::digest(&bytes));
        assert_eq!(digest, entry["sha256"].as_str().unwrap(), "{file}");
    }
}

fn squared_distance(a: [f32; 3], b: [f32; 3]) -> f32 {
    (0..3).map(|i| (a[i] - b[i]) * (a[i] - b[i])).sum()
}

#[test]
fn quantize_model_labels_every_pixel_with_the_nearest_oklab_colour() {
    let settings = cpu_settings();
    let engine = Engine::load(&settings.engine).unwrap();
    let models = engine.load_models(&settings.pipeline).unwrap();
    assert_eq!(models.quantize.provider(), Provider::Cpu);
    let palette = Palette::from_hex(&[
        "000000", "ffffff", "ff0000", "00ff00", "0000ff", "ffcc00", "7f3fbf", "3399aa",
    ])
    .unwrap();
    let image = noise_image(67, 41, 7);
    let labels = models
        .quantize
        .quantize(&image, &palette, &CancelToken::new())
        .unwrap();
    assert_eq!((labels.width, labels.height), (67, 41));
    let palette_lab: Vec<[f32; 3]> = palette
        .colors()
        .iter()
        .map(|c| srgb_to_oklab(c.to_unit()))
        .collect();
    let mut mismatches = 0;
    for (index, label) in labels.labels.iter().enumerate() {
        let lab = srgb_to_oklab(image.pixel(index));
        let distances: Vec<f32> = palette_lab
            .iter()
            .map(|p| squared_distance(lab, *p))
            .collect();
        let best = distances
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        if usize::from(*label) != best {
            // Only a float near-tie may differ (the graph expands |x-p|^2 as |x|^2-2x.p+|p|^2).
            let gap = (distances[usize::from(*label)] - distances[best]).abs();
            assert!(
                gap < 1e-4,
                "pixel {index}: graph {label}, Rust {best}, gap {gap}"
            );
            mismatches += 1;
        }
    }
    assert!(
        mismatches <= labels.labels.len() / 1000,
        "{mismatches} near-ties"
    );
}

/// The Rust reference of the phase-1 graph: a self-guided filter, radius 2, eps 0.01, box
/// means over the pixels inside the image.
fn box_mean(plane: &[f32], width: usize, height: usize, radius: usize) -> Vec<f32> {
    let mut out = vec![0.0; plane.len()];
    for y in 0..height {
        for x in 0..width {
            let (y0, y1) = (y.saturating_sub(radius), (y + radius).min(height - 1));
            let (x0, x1) = (x.saturating_sub(radius), (x + radius).min(width - 1));
            let mut sum = 0.0;
            for yy in y0..=y1 {
                for xx in x0..=x1 {
                    sum += plane[yy * width + xx];
                }
            }
            out[y * width + x] = sum / ((y1 - y0 + 1) * (x1 - x0 + 1)) as f32;
        }
    }
    out
}

fn guided_filter(image: &PlanarImage) -> PlanarImage {
    let (width, height) = (image.width as usize, image.height as usize);
    let n = width * height;
    let mut out = PlanarImage::zeros(image.width, image.height);
    for channel in 0..3 {
        let plane = &image.data[channel * n..(channel + 1) * n];
        let mean_i = box_mean(plane, width, height, 2);
        let squares: Vec<f32> = plane.iter().map(|v| v * v).collect();
        let mean_ii = box_mean(&squares, width, height, 2);
        let a: Vec<f32> = (0..n)
            .map(|i| {
                let var = (mean_ii[i] - mean_i[i] * mean_i[i]).max(0.0);
                var / (var + 0.01)
            })
            .collect();
        let b: Vec<f32> = (0..n).map(|i| mean_i[i] - a[i] * mean_i[i]).collect();
        let mean_a = box_mean(&a, width, height, 2);
        let mean_b = box_mean(&b, width, height, 2);
        for i in 0..n {
            out.data[channel * n + i] = (mean_a[i] * plane[i] + mean_b[i]).clamp(0.0, 1.0);
        }
    }
    out
}

#[test]
fn clean_model_matches_the_rust_guided_filter() {
    let settings = guided_settings();
    let engine = Engine::load(&settings.engine).unwrap();
    let models = engine.load_models(&settings.pipeline).unwrap();
    let clean = models.clean.expect("phase1 is enabled by default");
    let image = noise_image(45, 38, 3);
    let graph = clean.clean(&image, &CancelToken::new()).unwrap();
    let reference = guided_filter(&image);
    let worst = graph
        .data
        .iter()
        .zip(&reference.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-4, "largest difference {worst}");
}

#[test]
fn clean_model_keeps_flat_areas_flat_and_edges_in_place() {
    let settings = guided_settings();
    let engine = Engine::load(&settings.engine).unwrap();
    let clean = engine
        .load_models(&settings.pipeline)
        .unwrap()
        .clean
        .unwrap();
    // Left half dark blue, right half light yellow: one vertical edge at x = 32.
    let (width, height) = (64u32, 40u32);
    let mut image = PlanarImage::zeros(width, height);
    let n = (width * height) as usize;
    let left = [0.1, 0.2, 0.6];
    let right = [0.95, 0.9, 0.3];
    for y in 0..height as usize {
        for x in 0..width as usize {
            let color = if x < 32 { left } else { right };
            for (c, value) in color.iter().enumerate() {
                image.data[c * n + y * width as usize + x] = *value;
            }
        }
    }
    let out = clean.clean(&image, &CancelToken::new()).unwrap();
    for y in 0..height as usize {
        // Flat areas away from the edge are unchanged.
        for x in (0..28).chain(36..64) {
            let expected = if x < 32 { left } else { right };
            for (c, wanted) in expected.iter().enumerate() {
                let value = out.data[c * n + y * width as usize + x];
                assert!((value - wanted).abs() < 1e-4, "({x},{y}) c{c}: {value}");
            }
        }
        // The edge stays within 1 px: the half-way crossing of red lies between x = 31 and 33.
        let red: Vec<f32> = (0..width as usize)
            .map(|x| out.data[y * width as usize + x])
            .collect();
        let half = (left[0] + right[0]) / 2.0;
        let crossing = red.iter().position(|v| *v >= half).unwrap();
        assert!((31..=33).contains(&crossing), "row {y}: edge at {crossing}");
    }
}

#[test]
fn steering_models_shift_by_strength_and_seed() {
    let settings = cpu_settings();
    let engine = Engine::load(&settings.engine).unwrap();
    let steer = engine
        .load_steer(&root().join("models/steer_shift_48.onnx"))
        .unwrap();
    let image = noise_image(80, 10, 11);
    let out = steer.steer(&image, 5, 0.5, &CancelToken::new()).unwrap();
    // floor(0.5 * 48) = 24 px to the right.
    let n = image.pixel_count();
    for c in 0..3 {
        for y in 0..10 {
            for x in 24..80 {
                assert_eq!(
                    out.data[c * n + y * 80 + x],
                    image.data[c * n + y * 80 + x - 24]
                );
            }
        }
    }
    let seeded = engine
        .load_steer(&root().join("models/steer_seeded.onnx"))
        .unwrap();
    let out = seeded.steer(&image, 67, 1.0, &CancelToken::new()).unwrap();
    // 67 mod 64 = 3 px, whatever the strength.
    assert_eq!(out.data[10], image.data[7]);
}

#[test]
fn cancelled_token_stops_inference() {
    let settings = guided_settings();
    let engine = Engine::load(&settings.engine).unwrap();
    let models = engine.load_models(&settings.pipeline).unwrap();
    let cancel = CancelToken::new();
    cancel.cancel();
    let error = models
        .clean
        .unwrap()
        .clean(&noise_image(32, 32, 1), &cancel)
        .unwrap_err();
    assert!(matches!(
        error,
        gemini3::pipeline::model::ModelError::Cancelled
    ));
}

#[test]
fn cuda_device_falls_back_to_cpu_and_says_why() {
    let settings = settings_with(&[("GEMINI3__HARDWARE__DEVICE", "cuda")]);
    let engine = Engine::load(&settings.engine).unwrap();
    let models = engine.load_models(&settings.pipeline).unwrap();
    for report in &models.reports {
        assert_eq!(report.provider, Provider::Cpu);
        assert_eq!(report.fallbacks.len(), 1, "{:?}", report.fallbacks);
        assert_eq!(report.fallbacks[0].0, Provider::Cuda);
        assert!(
            report.fallbacks[0].1.contains("CUDA"),
            "{:?}",
            report.fallbacks
        );
    }
}

#[test]
fn cuda_device_with_require_gpu_fails_naming_cuda() {
    let settings = settings_with(&[
        ("GEMINI3__HARDWARE__DEVICE", "cuda"),
        ("GEMINI3__HARDWARE__REQUIRE_GPU", "true"),
    ]);
    let engine = Engine::load(&settings.engine).unwrap();
    let error = match engine.load_models(&settings.pipeline) {
        Ok(_) => panic!("require_gpu must refuse a CPU session"),
        Err(error) => error,
    };
    assert!(matches!(error, EngineError::GpuRequired { .. }));
    let message = error.to_string();
    assert!(message.contains("require_gpu"), "{message}");
    assert!(message.contains("cuda: CUDA"), "{message}");
}

#[test]
fn explicit_library_path_that_does_not_exist_is_an_error() {
    let mut settings = cpu_settings();
    settings.engine.onnxruntime = Some(PathBuf::from("/nonexistent/libonnxruntime.so"));
    let error = Engine::load(&settings.engine).unwrap_err();
    assert_eq!(
        error.to_string(),
        "hardware.onnxruntime: /nonexistent/libonnxruntime.so does not exist; point it at libonnxruntime.so 1.31 or newer, or unset it to use the project's .ort/lib"
    );
}

fn check_command(env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gemini3"));
    command
        .arg("check")
        .env_remove("ORT_DYLIB_PATH")
        .env("GEMINI3_ROOT", root());
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

#[test]
fn check_reports_cpu_for_every_enabled_phase() {
    let output = check_command(&[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Phase 1 is off by default since phase 2's upscaler (issue 19).
    assert!(stdout.contains("phase1 clean: disabled"), "{stdout}");
    assert!(
        stdout.contains("phase2 steer:") && stdout.contains("upscale_x4.onnx on cpu"),
        "{stdout}"
    );
    assert!(stdout.contains("quantize.onnx on cpu"), "{stdout}");
    assert!(stdout.contains("version 1.31"), "{stdout}");
}

#[test]
fn missing_library_is_a_clear_error_with_non_zero_exit() {
    let output = check_command(&[("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("ORT_DYLIB_PATH: /nonexistent/libonnxruntime.so does not exist"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_file_that_is_not_onnx_runtime_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("libonnxruntime.so");
    std::fs::write(&fake, b"not a library").unwrap();
    let output = check_command(&[("ORT_DYLIB_PATH", fake.to_str().unwrap())]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot load ONNX Runtime from"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn invalid_configuration_fails_check_naming_key_and_value() {
    let output = check_command(&[("GEMINI3__HARDWARE__DEVICE", "gpu9000")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("GEMINI3__HARDWARE__DEVICE: hardware.device: \"gpu9000\" is not one of auto, tensorrt, cuda, cpu"),
        "{stderr}"
    );
}

#[test]
fn only_the_enabled_phases_get_a_session() {
    let phases = |env: &[(&str, &str)]| -> Vec<&'static str> {
        let settings = settings_with(env);
        let engine = Engine::load(&settings.engine).unwrap();
        let models = engine.load_models(&settings.pipeline).unwrap();
        models
            .reports
            .iter()
            .map(|report| report.phase.key())
            .collect()
    };
    // A steering model configured but steering off: no phase-2 session.
    let steer_off = phases(&[
        ("GEMINI3__HARDWARE__DEVICE", "cpu"),
        ("GEMINI3__PHASE1__ENABLED", "true"),
        ("GEMINI3__PHASE2__ENABLED", "false"),
        ("GEMINI3__PHASE2__MODEL", "models/steer_shift_2.onnx"),
    ]);
    assert_eq!(steer_off, ["phase1", "phase3"]);
    let clean_off = phases(&[
        ("GEMINI3__HARDWARE__DEVICE", "cpu"),
        ("GEMINI3__PHASE1__ENABLED", "false"),
        ("GEMINI3__PHASE2__ENABLED", "false"),
    ]);
    assert_eq!(clean_off, ["phase3"]);
    // The default: the upscaler, no phase 1.
    assert_eq!(
        phases(&[("GEMINI3__HARDWARE__DEVICE", "cpu")]),
        ["phase2", "phase3"]
    );
    let all = phases(&[
        ("GEMINI3__HARDWARE__DEVICE", "cpu"),
        ("GEMINI3__PHASE1__ENABLED", "true"),
        ("GEMINI3__PHASE2__ENABLED", "true"),
        ("GEMINI3__PHASE2__MODEL", "models/steer_shift_2.onnx"),
    ]);
    assert_eq!(all, ["phase1", "phase2", "phase3"]);
}

#[test]
fn sessions_without_warm_up_run_the_same() {
    // The one-shot `vectorize` turns warm-up off: the first real run must give the result a
    // warmed-up session gives.
    let image = noise_image(40, 24, 9);
    let run = |warmup: bool| {
        let mut settings = guided_settings();
        settings.engine.warmup = warmup;
        settings.engine.one_shot = !warmup;
        let engine = Engine::load(&settings.engine).unwrap();
        let models = engine.load_models(&settings.pipeline).unwrap();
        models
            .clean
            .expect("phase 1 enabled")
            .clean(&image, &CancelToken::new())
            .unwrap()
    };
    let cold = run(false);
    let warm = run(true);
    assert_eq!(cold.data.len(), warm.data.len());
    for (a, b) in cold.data.iter().zip(&warm.data) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}
